package cpu

import "math"

// Normalisation references. Statistics accumulate in float64.
// A "group" is the set of elements sharing one mean and variance: the plane
// (n, c) for instance norm, all (n, h, w) of channel c for batch norm.

// normStats computes mean and rstd = 1/sqrt(var+eps) of the values visited
// by each(func(v)) with the biased variance.
func normStats(count int, each func(func(float32)), eps float32) (mean, rstd float32) {
	var s float64
	each(func(v float32) { s += float64(v) })
	m := s / float64(count)
	var q float64
	each(func(v float32) { d := float64(v) - m; q += d * d })
	return float32(m), float32(1 / math.Sqrt(q/float64(count)+float64(eps)))
}

func affine(gamma, beta []float32, c int) (g, b float32) {
	g, b = 1, 0
	if gamma != nil {
		g = gamma[c]
	}
	if beta != nil {
		b = beta[c]
	}
	return g, b
}

// instanceNormRef: y, x: (N, C, S) with S = H*W; mean, rstd: (N, C).
func instanceNormRef(y, mean, rstd, x, gamma, beta []float32, n, c, s int, eps float32) {
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			plane := x[(i*c+j)*s : (i*c+j+1)*s]
			m, r := normStats(s, func(f func(float32)) {
				for _, v := range plane {
					f(v)
				}
			}, eps)
			mean[i*c+j], rstd[i*c+j] = m, r
			g, b := affine(gamma, beta, j)
			out := y[(i*c+j)*s : (i*c+j+1)*s]
			for k, v := range plane {
				out[k] = (v-m)*r*g + b
			}
		}
	}
}

// instanceNormBackwardRef accumulates dx, dgamma, dbeta. With xhat = (x-mean)*rstd
// and g = dy*gamma: dx = rstd*(g - mean(g) - xhat*mean(g*xhat)) per plane.
func instanceNormBackwardRef(dx, dgamma, dbeta, dy, x, mean, rstd, gamma []float32, n, c, s int) {
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			off := (i*c + j) * s
			m, r := mean[i*c+j], rstd[i*c+j]
			gm, _ := affine(gamma, nil, j)
			var sumG, sumGX, sumDY, sumDYX float64
			for k := 0; k < s; k++ {
				xh := float64((x[off+k] - m) * r)
				d := float64(dy[off+k])
				sumDY += d
				sumDYX += d * xh
				sumG += d * float64(gm)
				sumGX += d * float64(gm) * xh
			}
			if dgamma != nil {
				dgamma[j] += float32(sumDYX)
			}
			if dbeta != nil {
				dbeta[j] += float32(sumDY)
			}
			if dx != nil {
				mg, mgx := sumG/float64(s), sumGX/float64(s)
				for k := 0; k < s; k++ {
					xh := float64((x[off+k] - m) * r)
					dx[off+k] += float32(float64(r) * (float64(dy[off+k]*gm) - mg - xh*mgx))
				}
			}
		}
	}
}

// batchNormTrainRef: statistics per channel over (N, S); mean, rstd: (C).
func batchNormTrainRef(y, mean, rstd, x, gamma, beta []float32, n, c, s int, eps float32) {
	for j := 0; j < c; j++ {
		m, r := normStats(n*s, func(f func(float32)) {
			for i := 0; i < n; i++ {
				for _, v := range x[(i*c+j)*s : (i*c+j+1)*s] {
					f(v)
				}
			}
		}, eps)
		mean[j], rstd[j] = m, r
		g, b := affine(gamma, beta, j)
		for i := 0; i < n; i++ {
			off := (i*c + j) * s
			for k := 0; k < s; k++ {
				y[off+k] = (x[off+k]-m)*r*g + b
			}
		}
	}
}

func batchNormTrainBackwardRef(dx, dgamma, dbeta, dy, x, mean, rstd, gamma []float32, n, c, s int) {
	cnt := float64(n * s)
	for j := 0; j < c; j++ {
		m, r := mean[j], rstd[j]
		gm, _ := affine(gamma, nil, j)
		var sumDY, sumDYX float64
		for i := 0; i < n; i++ {
			off := (i*c + j) * s
			for k := 0; k < s; k++ {
				d := float64(dy[off+k])
				sumDY += d
				sumDYX += d * float64((x[off+k]-m)*r)
			}
		}
		if dgamma != nil {
			dgamma[j] += float32(sumDYX)
		}
		if dbeta != nil {
			dbeta[j] += float32(sumDY)
		}
		if dx == nil {
			continue
		}
		mg, mgx := sumDY*float64(gm)/cnt, sumDYX*float64(gm)/cnt
		for i := 0; i < n; i++ {
			off := (i*c + j) * s
			for k := 0; k < s; k++ {
				xh := float64((x[off+k] - m) * r)
				dx[off+k] += float32(float64(r) * (float64(dy[off+k]*gm) - mg - xh*mgx))
			}
		}
	}
}

// batchNormFrozenRef: y = (x - runMean)/sqrt(runVar+eps)*gamma + beta per channel.
func batchNormFrozenRef(y, x, runMean, runVar, gamma, beta []float32, n, c, s int, eps float32) {
	for j := 0; j < c; j++ {
		r := float32(1 / math.Sqrt(float64(runVar[j])+float64(eps)))
		g, b := affine(gamma, beta, j)
		scale, shift := r*g, b-runMean[j]*r*g
		for i := 0; i < n; i++ {
			off := (i*c + j) * s
			for k := 0; k < s; k++ {
				y[off+k] = x[off+k]*scale + shift
			}
		}
	}
}

func batchNormFrozenBackwardDataRef(dx, dy, runVar, gamma []float32, n, c, s int, eps float32) {
	for j := 0; j < c; j++ {
		g, _ := affine(gamma, nil, j)
		scale := float32(1/math.Sqrt(float64(runVar[j])+float64(eps))) * g
		for i := 0; i < n; i++ {
			off := (i*c + j) * s
			for k := 0; k < s; k++ {
				dx[off+k] += dy[off+k] * scale
			}
		}
	}
}
