package kerneltest

import "math"

// Float64 normalisation references for x: (n, c, s), s = H*W.

// normGroups lists the flat indices of x that share one mean and variance,
// and the channel (index into gamma and beta) of each group.
type normGroups struct {
	idx [][]int
	ch  []int
}

// instanceGroups: one group per (n, c) plane; statistics are (n, c).
func instanceGroups(n, c, s int) normGroups {
	var g normGroups
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			var idx []int
			for k := 0; k < s; k++ {
				idx = append(idx, (i*c+j)*s+k)
			}
			g.idx, g.ch = append(g.idx, idx), append(g.ch, j)
		}
	}
	return g
}

// batchGroups: one group per channel over (n, s); statistics are (c).
func batchGroups(n, c, s int) normGroups {
	var g normGroups
	for j := 0; j < c; j++ {
		var idx []int
		for i := 0; i < n; i++ {
			for k := 0; k < s; k++ {
				idx = append(idx, (i*c+j)*s+k)
			}
		}
		g.idx, g.ch = append(g.idx, idx), append(g.ch, j)
	}
	return g
}

// paramOr returns p[c], or def when p is nil (no affine parameter).
func paramOr(p []float64, c int, def float64) float64 {
	if p == nil {
		return def
	}
	return p[c]
}

// refNorm returns y = (x - mean)*rstd*gamma + beta with each group's mean
// and rstd = 1/sqrt(biased variance + eps); gamma and beta may be nil.
func refNorm(x, gamma, beta []float64, g normGroups, eps float64) (y, mean, rstd []float64) {
	y = make([]float64, len(x))
	for gi, idx := range g.idx {
		var s float64
		for _, i := range idx {
			s += x[i]
		}
		m := s / float64(len(idx))
		var q float64
		for _, i := range idx {
			q += (x[i] - m) * (x[i] - m)
		}
		r := 1 / math.Sqrt(q/float64(len(idx))+eps)
		mean, rstd = append(mean, m), append(rstd, r)
		gm, bt := paramOr(gamma, g.ch[gi], 1), paramOr(beta, g.ch[gi], 0)
		for _, i := range idx {
			y[i] = (x[i]-m)*r*gm + bt
		}
	}
	return y, mean, rstd
}

// refNormBackward returns dx, dgamma and dbeta (c values) for upstream dy.
// With xhat = (x - mean)*rstd per group of size m:
// dbeta = sum dy, dgamma = sum dy*xhat,
// dx = gamma*rstd*(dy - mean(dy) - xhat*mean(dy*xhat)).
func refNormBackward(dy, x, gamma []float64, g normGroups, c int, eps float64) (dx, dgamma, dbeta []float64) {
	_, mean, rstd := refNorm(x, nil, nil, g, eps)
	dx, dgamma, dbeta = make([]float64, len(x)), make([]float64, c), make([]float64, c)
	for gi, idx := range g.idx {
		m, r, ch := mean[gi], rstd[gi], g.ch[gi]
		var sdy, sdyx float64
		for _, i := range idx {
			sdy += dy[i]
			sdyx += dy[i] * (x[i] - m) * r
		}
		dbeta[ch] += sdy
		dgamma[ch] += sdyx
		cnt := float64(len(idx))
		gm := paramOr(gamma, ch, 1)
		for _, i := range idx {
			xh := (x[i] - m) * r
			dx[i] = gm * r * (dy[i] - sdy/cnt - xh*sdyx/cnt)
		}
	}
	return dx, dgamma, dbeta
}

// refBatchNormFrozen returns y = (x - runMean)/sqrt(runVar + eps)*gamma + beta
// per channel of x: (n, c, s).
func refBatchNormFrozen(x, runMean, runVar, gamma, beta []float64, n, c, s int, eps float64) []float64 {
	y := make([]float64, len(x))
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			r := 1 / math.Sqrt(runVar[j]+eps)
			for k := 0; k < s; k++ {
				o := (i*c+j)*s + k
				y[o] = (x[o]-runMean[j])*r*paramOr(gamma, j, 1) + paramOr(beta, j, 0)
			}
		}
	}
	return y
}

// refBatchNormFrozenBackwardData returns dx = dy*gamma/sqrt(runVar + eps).
func refBatchNormFrozenBackwardData(dy, runVar, gamma []float64, n, c, s int, eps float64) []float64 {
	dx := make([]float64, len(dy))
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			for k := 0; k < s; k++ {
				o := (i*c+j)*s + k
				dx[o] = dy[o] * paramOr(gamma, j, 1) / math.Sqrt(runVar[j]+eps)
			}
		}
	}
	return dx
}
