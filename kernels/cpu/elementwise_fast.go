package cpu

import (
	"math"
	"sync"
)

// Fast element-wise ops (leaky ReLU, add, scale, axpy, fill, copy, the MSE
// gradient, the optimizer updates): one pass over memory, parts cutting the elements into
// ranges of whole cache lines, with pooled task values so that nothing
// allocates per call. Each element is computed by the same plain reference
// code as in the reference backend, or (leaky ReLU) by assembly doing the
// same float operations without branches, so the results are identical to it.

type elementwiseOp int

const (
	opLeakyReLU elementwiseOp = iota
	opLeakyReLUBackward
	opAdd
	opScale
	opAxpy
	opMSEBackward
	opSGDNesterov
	opAdamW
	opFill
	opCopy
)

// elementwiseJob holds one call; the operands p, q, r, s and scalars f are,
// by op (all slices the same length n):
//
//	opLeakyReLU          p = y, q = x; f[0] = slope
//	opLeakyReLUBackward  p = dx, q = dy, r = y; f[0] = slope
//	opAdd                p = y, q = a, r = b
//	opScale, opAxpy      p = y, q = x; f[0] = s or a
//	opMSEBackward        p = da or nil, q = db or nil, r = a, s = b; f[0] = 2*scale/n
//	opSGDNesterov        p = w, q = v, r = g; f = lr, momentum, weight decay
//	opAdamW              p = w, q = m, r = v, s = g; f = lr, beta1, beta2, eps, weight decay; step
//	opFill               p = y; f[0] = value
//	opCopy               p = y, q = x
type elementwiseJob struct {
	op         elementwiseOp
	fast       bool // false: the reference loops (backend cpu-ref)
	n          int
	p, q, r, s []float32
	f          [5]float32
	step       int
	done       partsDone
}

var elementwiseJobs = sync.Pool{New: func() any { return new(elementwiseJob) }}

func part16(x []float32, lo, hi int) []float32 {
	if x == nil {
		return nil
	}
	return x[lo:hi]
}

func (j *elementwiseJob) runPart(part, parts int) {
	lo, hi := partRange(j.n, 16, part, parts)
	p, q, r, s, f := part16(j.p, lo, hi), part16(j.q, lo, hi), part16(j.r, lo, hi), part16(j.s, lo, hi), &j.f
	if !j.fast {
		switch j.op {
		case opLeakyReLU:
			leakyReLURef(p, q, f[0])
			return
		case opLeakyReLUBackward:
			leakyReLUBackwardRef(p, q, r, f[0])
			return
		case opAxpy:
			axpyRef(p, q, f[0])
			return
		case opMSEBackward:
			mseGradRef(p, q, r, s, f[0])
			return
		}
	}
	switch j.op {
	case opLeakyReLU:
		leakyReLUFast(p, q, f[0])
	case opLeakyReLUBackward:
		leakyReLUBackwardFast(p, q, r, f[0])
	case opAdd:
		addRef(p, q, r)
	case opScale:
		scaleRef(p, q, f[0])
	case opAxpy:
		axpyFast(p, q, f[0])
	case opMSEBackward:
		if p != nil {
			axpyDiff(p, r, s, f[0])
		}
		if q != nil {
			axpyDiff(q, r, s, -f[0])
		}
	case opSGDNesterov:
		sgdNesterovRef(p, q, r, f[0], f[1], f[2])
	case opAdamW:
		adamWRef(p, q, r, s, f[0], f[1], f[2], f[3], f[4], j.step)
	case opFill:
		if math.Float32bits(f[0]) == 0 {
			clear(p) // memclr, vectorised: zeroing gradients is the common fill (+0 only: clear writes +0)
		} else {
			fillRef(p, f[0])
		}
	case opCopy:
		copy(p, q)
	}
}

// elementwise runs op over n elements, in parallel when n is large enough.
func (b *Backend) elementwise(op elementwiseOp, n int, p, q, r, s []float32, f [5]float32, step int) {
	j := elementwiseJobs.Get().(*elementwiseJob)
	j.op, j.n, j.p, j.q, j.r, j.s, j.f, j.step, j.fast = op, n, p, q, r, s, f, step, b.fast
	parts := 1
	if b.fast && n >= minParallel {
		parts = min(b.Threads(), n/minParallel)
	}
	runParts(j, max(1, parts), &j.done)
	j.p, j.q, j.r, j.s = nil, nil, nil, nil
	elementwiseJobs.Put(j)
}

// concatJob copies channel planes between a concatenation y (n, c, s) and
// its parts xs[p] (n, cs[p], s); parts cut the n*c planes, so every plane
// has one writer.
type concatJob struct {
	y        []float32
	xs       [][]float32
	cs       []int
	n, c, s  int
	backward bool // xs[p] += y's slice instead of y's slice = xs[p]
	done     partsDone
}

var concatJobs = sync.Pool{New: func() any { return new(concatJob) }}

func (j *concatJob) runPart(part, parts int) {
	lo, hi := partRange(j.n*j.c, 1, part, parts)
	for u := lo; u < hi; {
		i, ch := u/j.c, u%j.c
		p, off := 0, 0
		for off+j.cs[p] <= ch {
			off += j.cs[p]
			p++
		}
		k := min(hi-u, off+j.cs[p]-ch) // planes of this part in [u, hi)
		ys := j.y[(i*j.c+ch)*j.s:][:k*j.s]
		xs := j.xs[p][(i*j.cs[p]+ch-off)*j.s:][:k*j.s]
		if j.backward {
			addRef(xs, xs, ys)
		} else {
			copy(ys, xs)
		}
		u += k
	}
}

// concat runs concatRef (backward false) or concatBackwardRef in parallel.
func (b *Backend) concat(y []float32, xs [][]float32, cs []int, n, s int, backward bool) {
	c := 0
	for _, ci := range cs {
		c += ci
	}
	parts := min(b.threads, n*c, max(1, n*c*s/minParallel))
	if parts <= 1 {
		if backward {
			concatBackwardRef(xs, y, cs, n, s)
		} else {
			concatRef(y, xs, cs, n, s)
		}
		return
	}
	j := concatJobs.Get().(*concatJob)
	j.y, j.xs, j.cs, j.n, j.c, j.s, j.backward = y, xs, cs, n, c, s, backward
	runParts(j, parts, &j.done)
	*j = concatJob{}
	concatJobs.Put(j)
}
