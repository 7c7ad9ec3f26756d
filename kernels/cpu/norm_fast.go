package cpu

import (
	"math"
	"sync"
)

// Fast instance norm: parts cut the (n, c) planes. Each plane is read once
// for its statistics and once more to write (it is still in cache then).
// Shapes: y, x, dx, dy: (N, C, S); mean, rstd: (N, C); gamma, beta, dgamma, dbeta: (C) or nil.

type instanceNormJob struct {
	y, mean, rstd, x, gamma, beta []float32
	dx, dy                        []float32 // backward only
	sums                          []float32 // backward: (N*C, 2) sum dy, sum dy*xhat per plane
	c, s                          int
	eps                           float32
	backward                      bool
	done                          partsDone
}

var instanceNormJobs = sync.Pool{New: func() any { return new(instanceNormJob) }}

func (j *instanceNormJob) runPart(part, parts int) {
	planes := len(j.mean)
	p0, p1 := partRange(planes, 1, part, parts)
	for p := p0; p < p1; p++ {
		off := p * j.s
		g, bt := affine(j.gamma, j.beta, p%j.c)
		if j.backward {
			j.backwardPlane(p, off, g)
			continue
		}
		m, r := planeStats(j.x[off:off+j.s], j.eps)
		j.mean[p], j.rstd[p] = m, r
		scale, shift := r*g, bt-m*r*g
		out, in := j.y[off:off+j.s], j.x[off:off+j.s]
		i := 0
		if useAsm {
			if i = len(in) &^ 7; i > 0 {
				normAffineKernel(i, &out[0], &in[0], scale, shift)
			}
		}
		for ; i < len(in); i++ {
			out[i] = in[i]*scale + shift
		}
	}
}

// planeStats: mean and 1/sqrt(biased variance + eps) in float64, summing
// values shifted by the first one so that a large mean does not cancel.
func planeStats(x []float32, eps float32) (mean, rstd float32) {
	shift := float64(x[0])
	var s0, s1, q0, q1 float64
	i := 0
	if useAsm {
		if i = len(x) &^ 7; i > 0 {
			var sums [8]float64
			normStatsKernel(i, &x[0], shift, &sums[0])
			s0, s1 = sums[0]+sums[1], sums[2]+sums[3]
			q0, q1 = sums[4]+sums[5], sums[6]+sums[7]
		}
	}
	for ; i+2 <= len(x); i += 2 {
		a, b := float64(x[i])-shift, float64(x[i+1])-shift
		s0 += a
		s1 += b
		q0 += a * a
		q1 += b * b
	}
	for ; i < len(x); i++ {
		a := float64(x[i]) - shift
		s0 += a
		q0 += a * a
	}
	n := float64(len(x))
	ms := (s0 + s1) / n
	v := max(0, (q0+q1)/n-ms*ms)
	return float32(shift + ms), float32(1 / math.Sqrt(v+float64(eps)))
}

func (j *instanceNormJob) backwardPlane(p, off int, g float32) {
	x, dy := j.x[off:off+j.s], j.dy[off:off+j.s]
	m, r := j.mean[p], j.rstd[p]
	var sdy, sdyx float64
	i := 0
	if useAsm {
		if i = len(dy) &^ 7; i > 0 {
			var sums [8]float64
			normGradSumsKernel(i, &dy[0], &x[0], m, r, &sums[0])
			sdy = (sums[0] + sums[1]) + (sums[2] + sums[3])
			sdyx = (sums[4] + sums[5]) + (sums[6] + sums[7])
		}
	}
	for ; i < len(dy); i++ {
		d := dy[i]
		sdy += float64(d)
		sdyx += float64(d) * float64((x[i]-m)*r)
	}
	j.sums[2*p], j.sums[2*p+1] = float32(sdy), float32(sdyx)
	if j.dx == nil {
		return
	}
	n := float64(j.s)
	mg, mgx := float32(sdy*float64(g)/n), float32(sdyx*float64(g)/n)
	dx := j.dx[off : off+j.s]
	i = 0
	if useAsm {
		if i = len(dy) &^ 7; i > 0 {
			normBackwardKernel(i, &dx[0], &dy[0], &x[0], m, r, g, mg, mgx)
		}
	}
	for ; i < len(dy); i++ {
		xh := (x[i] - m) * r
		dx[i] += r * (dy[i]*g - mg - xh*mgx)
	}
}

func (b *Backend) instanceNormFast(y, mean, rstd, x, gamma, beta []float32, n, c, s int, eps float32) {
	if s == 0 {
		instanceNormRef(y, mean, rstd, x, gamma, beta, n, c, s, eps)
		return
	}
	j := instanceNormJobs.Get().(*instanceNormJob)
	j.y, j.mean, j.rstd, j.x, j.gamma, j.beta = y, mean, rstd, x, gamma, beta
	j.c, j.s, j.eps, j.backward = c, s, eps, false
	runParts(j, min(b.threads, n*c, max(1, n*c*s/minParallel)), &j.done)
	*j = instanceNormJob{}
	instanceNormJobs.Put(j)
}

func (b *Backend) instanceNormBackwardFast(dx, dgamma, dbeta, dy, x, mean, rstd, gamma []float32, n, c, s int) {
	if s == 0 {
		instanceNormBackwardRef(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, n, c, s)
		return
	}
	sums := b.ws.getFloats(2 * n * c)
	j := instanceNormJobs.Get().(*instanceNormJob)
	j.dx, j.dy, j.x, j.mean, j.rstd, j.gamma, j.sums = dx, dy, x, mean, rstd, gamma, sums
	j.c, j.s, j.backward = c, s, true
	runParts(j, min(b.threads, n*c, max(1, n*c*s/minParallel)), &j.done)
	*j = instanceNormJob{}
	instanceNormJobs.Put(j)
	// Parameter gradients: planes added in sample order, as the reference does.
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			p := i*c + ch
			if dbeta != nil {
				dbeta[ch] += sums[2*p]
			}
			if dgamma != nil {
				dgamma[ch] += sums[2*p+1]
			}
		}
	}
	b.ws.putFloats(sums)
}

// mseBlock is the element count of one partial sum of mseFast. The blocks
// are fixed, not the parts, so the sum is the same for any thread count.
const mseBlock = 1 << 13

// mseFast is mean((a-b)^2): float64 partial sums over fixed blocks, computed
// in parallel and added in block order.
func (b *Backend) mseFast(a, bb []float32) float64 {
	j := mseJobs.Get().(*mseJob)
	blocks := (len(a) + mseBlock - 1) / mseBlock
	if cap(j.sums) < blocks {
		j.sums = make([]float64, blocks)
	}
	j.a, j.b, j.sums = a, bb, j.sums[:blocks]
	runParts(j, min(b.threads, blocks, max(1, len(a)/minParallel)), &j.done)
	var s float64
	for _, v := range j.sums {
		s += v
	}
	j.a, j.b = nil, nil
	mseJobs.Put(j)
	return s / float64(len(a))
}

type mseJob struct {
	a, b []float32
	sums []float64 // per block
	done partsDone
}

var mseJobs = sync.Pool{New: func() any { return new(mseJob) }}

func (j *mseJob) runPart(part, parts int) {
	lo, hi := partRange(len(j.sums), 1, part, parts)
	for blk := lo; blk < hi; blk++ {
		a := j.a[blk*mseBlock : min(len(j.a), (blk+1)*mseBlock)]
		j.sums[blk] = squaredDiffSum(a, j.b[blk*mseBlock:][:len(a)])
	}
}

// squaredDiffSum is the sum of (a[i]-b[i])^2 in float64: eight running sums
// (element i goes to sum i%8), the tail added to sum 0, combined pairwise.
// The assembly runs of 8 add in the same order, so both give the same bits.
func squaredDiffSum(a, b []float32) float64 {
	var s [8]float64
	i := 0
	if useAsm {
		if i = len(a) &^ 7; i > 0 {
			mseKernel(i, &a[0], &b[0], &s[0])
		}
	} else {
		for ; i+8 <= len(a); i += 8 {
			for l := range s {
				d := float64(a[i+l]) - float64(b[i+l])
				s[l] += float64(d * d) // the conversion forbids a fused multiply-add
			}
		}
	}
	for ; i < len(a); i++ {
		d := float64(a[i]) - float64(b[i])
		s[0] += float64(d * d)
	}
	return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]))
}
