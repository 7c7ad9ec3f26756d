package cpu

import "math"

// Loss references over (N, K, S) scores with S = H*W and targets (N, S)
// holding class indices as float32 (already validated to be in 0..K-1).

// softmaxRef: p[n, :, s] = softmax over k of x[n, :, s], max-shifted.
func softmaxRef(p, x []float32, n, k, s int) {
	for i := 0; i < n; i++ {
		for j := 0; j < s; j++ {
			base := i*k*s + j
			mx := float32(math.Inf(-1))
			for c := 0; c < k; c++ {
				mx = max(mx, x[base+c*s])
			}
			var z float64
			for c := 0; c < k; c++ {
				e := math.Exp(float64(x[base+c*s] - mx))
				p[base+c*s] = float32(e)
				z += e
			}
			for c := 0; c < k; c++ {
				p[base+c*s] = float32(float64(p[base+c*s]) / z)
			}
		}
	}
}

// softmaxBackwardRef: dx += p*(dp - sum_k dp*p).
func softmaxBackwardRef(dx, dp, p []float32, n, k, s int) {
	for i := 0; i < n; i++ {
		for j := 0; j < s; j++ {
			base := i*k*s + j
			var dot float64
			for c := 0; c < k; c++ {
				dot += float64(dp[base+c*s]) * float64(p[base+c*s])
			}
			for c := 0; c < k; c++ {
				dx[base+c*s] += p[base+c*s] * (dp[base+c*s] - float32(dot))
			}
		}
	}
}

// crossEntropyRef returns mean -log p[target] computed stably from logits x,
// and writes p = softmax(x).
func crossEntropyRef(p, x, t []float32, n, k, s int) float64 {
	softmaxRef(p, x, n, k, s)
	var loss float64
	for i := 0; i < n; i++ {
		for j := 0; j < s; j++ {
			base := i*k*s + j
			mx := math.Inf(-1)
			for c := 0; c < k; c++ {
				mx = math.Max(mx, float64(x[base+c*s]))
			}
			var z float64
			for c := 0; c < k; c++ {
				z += math.Exp(float64(x[base+c*s]) - mx)
			}
			tc := int(t[i*s+j])
			loss += mx + math.Log(z) - float64(x[base+tc*s])
		}
	}
	return loss / float64(n*s)
}

// crossEntropyBackwardRef: dx += scale*(p - onehot)/(N*S).
func crossEntropyBackwardRef(dx, p, t []float32, n, k, s int, scale float32) {
	f := scale / float32(n*s)
	for i := 0; i < n; i++ {
		for j := 0; j < s; j++ {
			base := i*k*s + j
			tc := int(t[i*s+j])
			for c := 0; c < k; c++ {
				v := p[base+c*s]
				if c == tc {
					v--
				}
				dx[base+c*s] += f * v
			}
		}
	}
}

// diceSumsRef: tp[k] = sum p*[t==k], ps[k] = sum p, ts[k] = #[t==k].
func diceSumsRef(tp, ps, ts, p, t []float32, n, k, s int) {
	for c := 0; c < k; c++ {
		var a, b, d float64
		for i := 0; i < n; i++ {
			for j := 0; j < s; j++ {
				v := float64(p[(i*k+c)*s+j])
				b += v
				if int(t[i*s+j]) == c {
					a += v
					d++
				}
			}
		}
		tp[c], ps[c], ts[c] = float32(a), float32(b), float32(d)
	}
}

// diceSumsBackwardRef: dp[n,k,s] += dtp[k]*[t==k] + dps[k].
func diceSumsBackwardRef(dp, t, dtp, dps []float32, n, k, s int) {
	for i := 0; i < n; i++ {
		for c := 0; c < k; c++ {
			for j := 0; j < s; j++ {
				v := dps[c]
				if int(t[i*s+j]) == c {
					v += dtp[c]
				}
				dp[(i*k+c)*s+j] += v
			}
		}
	}
}

func mseRef(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return s / float64(len(a))
}

// mseBackwardRef: da += scale*2*(a-b)/n, db -= the same (db may be nil).
func mseBackwardRef(da, db, a, b []float32, scale float32) {
	mseGradRef(da, db, a, b, 2*scale/float32(len(a)))
}

// mseGradRef: da += f*(a-b), db -= the same (either may be nil).
func mseGradRef(da, db, a, b []float32, f float32) {
	for i := range a {
		g := f * (a[i] - b[i])
		if da != nil {
			da[i] += g
		}
		if db != nil {
			db[i] -= g
		}
	}
}
