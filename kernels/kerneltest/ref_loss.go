package kerneltest

import "math"

// Float64 loss references. Scores p, x: (n, k, s); targets t: (n, s) hold
// class indices.

// refSoftmax returns the softmax over the class dimension.
func refSoftmax(x []float64, n, k, s int) []float64 {
	p := make([]float64, len(x))
	for i := 0; i < n; i++ {
		for j := 0; j < s; j++ {
			mx := math.Inf(-1)
			for c := 0; c < k; c++ {
				mx = math.Max(mx, x[(i*k+c)*s+j])
			}
			var z float64
			for c := 0; c < k; c++ {
				z += math.Exp(x[(i*k+c)*s+j] - mx)
			}
			for c := 0; c < k; c++ {
				p[(i*k+c)*s+j] = math.Exp(x[(i*k+c)*s+j]-mx) / z
			}
		}
	}
	return p
}

// refSoftmaxBackward returns dx = p*(dp - sum_k dp*p).
func refSoftmaxBackward(dp, p []float64, n, k, s int) []float64 {
	dx := make([]float64, len(p))
	for i := 0; i < n; i++ {
		for j := 0; j < s; j++ {
			var dot float64
			for c := 0; c < k; c++ {
				dot += dp[(i*k+c)*s+j] * p[(i*k+c)*s+j]
			}
			for c := 0; c < k; c++ {
				o := (i*k+c)*s + j
				dx[o] = p[o] * (dp[o] - dot)
			}
		}
	}
	return dx
}

// refCrossEntropy returns the mean over (n, s) of -log softmax(x)[target].
func refCrossEntropy(x, t []float64, n, k, s int) float64 {
	var loss float64
	for i := 0; i < n; i++ {
		for j := 0; j < s; j++ {
			mx := math.Inf(-1)
			for c := 0; c < k; c++ {
				mx = math.Max(mx, x[(i*k+c)*s+j])
			}
			var z float64
			for c := 0; c < k; c++ {
				z += math.Exp(x[(i*k+c)*s+j] - mx)
			}
			loss += mx + math.Log(z) - x[(i*k+int(t[i*s+j]))*s+j]
		}
	}
	return loss / float64(n*s)
}

// refCrossEntropyBackward returns scale*(p - onehot(t))/(n*s).
func refCrossEntropyBackward(p, t []float64, n, k, s int, scale float64) []float64 {
	dx := make([]float64, len(p))
	for i := 0; i < n; i++ {
		for j := 0; j < s; j++ {
			for c := 0; c < k; c++ {
				o := (i*k+c)*s + j
				v := p[o]
				if int(t[i*s+j]) == c {
					v--
				}
				dx[o] = scale * v / float64(n*s)
			}
		}
	}
	return dx
}

// refDiceSums returns per class c: tp = sum p*[t==c], ps = sum p, ts = #[t==c].
func refDiceSums(p, t []float64, n, k, s int) (tp, ps, ts []float64) {
	tp, ps, ts = make([]float64, k), make([]float64, k), make([]float64, k)
	for i := 0; i < n; i++ {
		for c := 0; c < k; c++ {
			for j := 0; j < s; j++ {
				v := p[(i*k+c)*s+j]
				ps[c] += v
				if int(t[i*s+j]) == c {
					tp[c] += v
					ts[c]++
				}
			}
		}
	}
	return tp, ps, ts
}

// refDiceSumsBackward returns dp = dtp[c]*[t==c] + dps[c].
func refDiceSumsBackward(t, dtp, dps []float64, n, k, s int) []float64 {
	dp := make([]float64, n*k*s)
	for i := 0; i < n; i++ {
		for c := 0; c < k; c++ {
			for j := 0; j < s; j++ {
				v := dps[c]
				if int(t[i*s+j]) == c {
					v += dtp[c]
				}
				dp[(i*k+c)*s+j] = v
			}
		}
	}
	return dp
}

// refMSE returns mean((a-b)^2).
func refMSE(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return s / float64(len(a))
}

// refMSEBackward returns scale*2*(a-b)/n, the gradient with respect to a.
func refMSEBackward(a, b []float64, scale float64) []float64 {
	d := make([]float64, len(a))
	for i := range a {
		d[i] = scale * 2 * (a[i] - b[i]) / float64(len(a))
	}
	return d
}
