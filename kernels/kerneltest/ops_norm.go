package kerneltest

import (
	"fmt"
	"math"

	"suture/tensor"
)

// epsFor alternates epsilon between the U-Net's 1e-5 and 1e-3, so a
// backend that ignores its eps argument fails.
func epsFor(i int) float32 { return []float32{1e-5, 1e-3}[i%2] }

// normCase is an (N, C, H, W) input; affine cases pass gamma and beta (and
// their gradients), the others pass nil for all four.
type normCase struct {
	n, c, h, w int
	affine     bool
}

func (c normCase) shape() []int { return []int{c.n, c.c, c.h, c.w} }

func (c normCase) String() string {
	s := fmt.Sprintf("%dx%dx%dx%d", c.n, c.c, c.h, c.w)
	if !c.affine {
		s += " no affine"
	}
	return s
}

// normCases include single-element groups (zero variance: rstd = 1/sqrt(eps))
// and small cases for the finite-difference checks.
var normCases = []normCase{
	{1, 1, 1, 1, true}, {2, 3, 7, 9, true}, {1, 8, 8, 8, false}, {3, 4, 1, 3, true},
	{2, 33, 5, 3, true}, {9, 2, 31, 33, true}, {8, 32, 4, 4, false}, {1, 1, 32, 33, true},
	{2, 3, 3, 4, true}, {1, 2, 2, 3, true}, {3, 2, 1, 3, false},
}

// normKind is instance norm (statistics per (n, c)) or batch norm (per c).
type normKind struct {
	perSample bool
}

func (k normKind) groups(c normCase) normGroups {
	if k.perSample {
		return instanceGroups(c.n, c.c, c.h*c.w)
	}
	return batchGroups(c.n, c.c, c.h*c.w)
}

func (k normKind) statShape(c normCase) []int {
	if k.perSample {
		return []int{c.n, c.c}
	}
	return []int{c.c}
}

// normTerms is the tolerance's term count for a normalisation: the group
// size, times rstd^2 because rounding errors are multiplied by rstd (large
// for groups of near-constant values).
func normTerms(groupSize int, rstd []float64) int {
	amp := 1.0
	for _, r := range rstd {
		amp = math.Max(amp, r)
	}
	return int(math.Ceil(float64(groupSize) * amp * amp))
}

// optionalVals returns random values, or nil when absent.
func (e *env) optionalVals(present bool, n int) []float32 {
	if !present {
		return nil
	}
	return e.vals(n)
}

func f32(v []float64) []float32 {
	o := make([]float32, len(v))
	for i, x := range v {
		o[i] = float32(x)
	}
	return o
}

// onesIfNil returns p, or ones when p is nil: the identity affine parameter.
func onesIfNil(p []float64, n int) []float64 {
	if p != nil {
		return p
	}
	o := make([]float64, n)
	for i := range o {
		o[i] = 1
	}
	return o
}

// testNormForward runs InstanceNorm or BatchNormTrain.
func testNormForward(e *env, k normKind, call func(y, mean, rstd, x, gamma, beta *tensor.Tensor, eps float32) error) {
	for i, c := range normCases {
		eps := epsFor(i)
		e.run(fmt.Sprintf("%s eps %g", c, eps), func() {
			x := e.vals(numel(c.shape()...))
			gamma, beta := e.optionalVals(c.affine, c.c), e.optionalVals(c.affine, c.c)
			y, mean, rstd := e.out(c.shape()...), e.out(k.statShape(c)...), e.out(k.statShape(c)...)
			e.must(call(y, mean, rstd, e.in(x, c.shape()...), e.inOrNil(gamma, c.c), e.inOrNil(beta, c.c), eps), e.op)
			groups := k.groups(c)
			wy, wm, wr := refNorm(to64(x), to64(gamma), to64(beta), groups, float64(eps))
			size := len(groups.idx[0])
			e.close("y", e.down(y), wy, normTerms(size, wr))
			e.close("mean", e.down(mean), wm, size)
			e.close("rstd", e.down(rstd), wr, normTerms(size, wr))
		})
	}
}

// testNormBackward runs InstanceNormBackward or BatchNormTrainBackward with
// the statistics of the reference forward (rounded to float32, as a forward
// pass would have saved them).
func testNormBackward(e *env, k normKind, call func(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *tensor.Tensor) error) {
	for i, c := range normCases {
		eps := float64(epsFor(i))
		e.run(fmt.Sprintf("%s eps %g", c, epsFor(i)), func() {
			shape, ss := c.shape(), k.statShape(c)
			x, dy, dx0 := e.vals(numel(shape...)), e.vals(numel(shape...)), e.vals(numel(shape...))
			gamma, dg0 := e.optionalVals(c.affine, c.c), e.optionalVals(c.affine, c.c)
			db0 := e.optionalVals(c.affine && i%4 != 3, c.c) // sometimes only dgamma is wanted
			groups := k.groups(c)
			x64 := to64(x)
			_, m64, r64 := refNorm(x64, nil, nil, groups, eps)
			dx, dgamma, dbeta := e.acc(dx0, shape...), e.accOrNil(dg0, c.c), e.accOrNil(db0, c.c)
			e.must(call(dx, dgamma, dbeta, e.in(dy, shape...), e.in(x, shape...), e.in(f32(m64), ss...), e.in(f32(r64), ss...), e.inOrNil(gamma, c.c)), e.op)
			wdx, wdg, wdb := refNormBackward(to64(dy), x64, to64(gamma), groups, c.c, eps)
			// dx sums over its group; dgamma and dbeta over (N, H, W).
			terms, perChannel := normTerms(len(groups.idx[0]), r64), c.n*c.h*c.w
			gotDx := e.down(dx)
			e.close("dx", gotDx, plus(dx0, wdx), terms)
			var gotDg, gotDb []float32
			if dgamma != nil {
				gotDg = e.down(dgamma)
				e.close("dgamma", gotDg, plus(dg0, wdg), normTerms(perChannel, r64))
			}
			if dbeta != nil {
				gotDb = e.down(dbeta)
				e.close("dbeta", gotDb, plus(db0, wdb), perChannel)
			}
			if !fdAffordable(len(x)+2*c.c, 2*len(x)) {
				return
			}
			g64, b64 := onesIfNil(to64(gamma), c.c), to64(e.vals(c.c))
			loss := func() float64 {
				y, _, _ := refNorm(x64, g64, b64, groups, eps)
				return dot(dy, y)
			}
			e.closeFD("dx", gotDx, plus(dx0, numericalGrad(x64, loss)), terms)
			if dgamma != nil {
				e.closeFD("dgamma", gotDg, plus(dg0, numericalGrad(g64, loss)), normTerms(perChannel, r64))
			}
			if dbeta != nil {
				e.closeFD("dbeta", gotDb, plus(db0, numericalGrad(b64, loss)), perChannel)
			}
		})
	}
}

// testNormErrors checks the argument errors of a normalisation's forward
// (fwd) or backward (bwd); pass nil for the one not under test.
func testNormErrors(e *env, k normKind,
	fwd func(y, mean, rstd, x, gamma, beta *tensor.Tensor) error,
	bwd func(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *tensor.Tensor) error) {
	e.run("errors", func() {
		c := normCase{2, 3, 4, 5, true}
		shape, ss := c.shape(), k.statShape(c)
		x, m, r, g, b := e.zeros(shape...), e.zeros(ss...), e.zeros(ss...), e.zeros(3), e.zeros(3)
		wrongStats := []int{2, 4}
		if !k.perSample {
			wrongStats = []int{2, 3}
		}
		if fwd != nil {
			y := e.zeros(shape...)
			e.expectError("nil input", func() error { return fwd(y, m, r, nil, g, b) })
			e.expectError("nil output", func() error { return fwd(nil, m, r, x, g, b) })
			e.expectError("nil mean", func() error { return fwd(y, nil, r, x, g, b) })
			e.expectError("nil rstd", func() error { return fwd(y, m, nil, x, g, b) })
			e.expectError("statistics of the wrong shape", func() error { return fwd(y, e.zeros(wrongStats...), r, x, g, b) })
			e.expectError("output and input shapes differ", func() error { return fwd(e.zeros(2, 3, 5, 4), m, r, x, g, b) })
			e.expectError("gamma of length 4 for 3 channels", func() error { return fwd(y, m, r, x, e.zeros(4), b) })
			e.expectError("beta of length 2 for 3 channels", func() error { return fwd(y, m, r, x, g, e.zeros(2)) })
			e.expectError("rank-3 input", func() error { return fwd(e.zeros(2, 3, 20), m, r, e.zeros(2, 3, 20), g, b) })
			se := []int{0, 3}
			if !k.perSample {
				se = []int{3}
			}
			xe, ok1 := e.tryAlloc(0, 3, 4, 5)
			ye, ok2 := e.tryAlloc(0, 3, 4, 5)
			me, ok3 := e.tryAlloc(se...)
			re, ok4 := e.tryAlloc(se...)
			if ok1 && ok2 && ok3 && ok4 {
				e.expectError("empty batch", func() error { return fwd(ye, me, re, xe, g, b) })
			}
		}
		if bwd != nil {
			dx, dy, dg, db := e.zeros(shape...), e.zeros(shape...), e.zeros(3), e.zeros(3)
			e.expectError("nil dy", func() error { return bwd(dx, dg, db, nil, x, m, r, g) })
			e.expectError("nil x", func() error { return bwd(dx, dg, db, dy, nil, m, r, g) })
			e.expectError("nil mean", func() error { return bwd(dx, dg, db, dy, x, nil, r, g) })
			e.expectError("nil rstd", func() error { return bwd(dx, dg, db, dy, x, m, nil, g) })
			e.expectError("dx of the wrong shape", func() error { return bwd(e.zeros(2, 3, 5, 4), dg, db, dy, x, m, r, g) })
			e.expectError("dgamma of length 4", func() error { return bwd(dx, e.zeros(4), db, dy, x, m, r, g) })
			e.expectError("dbeta of length 2", func() error { return bwd(dx, dg, e.zeros(2), dy, x, m, r, g) })
			e.expectError("gamma of length 4", func() error { return bwd(dx, dg, db, dy, x, m, r, e.zeros(4)) })
			e.expectError("mean of the wrong shape", func() error { return bwd(dx, dg, db, dy, x, e.zeros(wrongStats...), r, g) })
			e.expectError("dy and x shapes differ", func() error { return bwd(dx, dg, db, e.zeros(2, 3, 5, 4), x, m, r, g) })
			xe, ok1 := e.tryAlloc(0, 3, 4, 5)
			dye, ok2 := e.tryAlloc(0, 3, 4, 5)
			dxe, ok3 := e.tryAlloc(0, 3, 4, 5)
			se := []int{0, 3}
			if !k.perSample {
				se = []int{3}
			}
			me, ok4 := e.tryAlloc(se...)
			re, ok5 := e.tryAlloc(se...)
			if ok1 && ok2 && ok3 && ok4 && ok5 {
				e.expectError("empty batch", func() error { return bwd(dxe, dg, db, dye, xe, me, re, g) })
			}
		}
	})
}

var (
	instanceNorm = normKind{perSample: true}
	batchNorm    = normKind{perSample: false}
)

func testInstanceNorm(e *env) {
	testNormForward(e, instanceNorm, e.b.InstanceNorm)
	testNormErrors(e, instanceNorm, func(y, mean, rstd, x, gamma, beta *tensor.Tensor) error {
		return e.b.InstanceNorm(y, mean, rstd, x, gamma, beta, 1e-5)
	}, nil)
}

func testInstanceNormBackward(e *env) {
	testNormBackward(e, instanceNorm, e.b.InstanceNormBackward)
	testNormErrors(e, instanceNorm, nil, e.b.InstanceNormBackward)
}

func testBatchNormTrain(e *env) {
	testNormForward(e, batchNorm, e.b.BatchNormTrain)
	testNormErrors(e, batchNorm, func(y, mean, rstd, x, gamma, beta *tensor.Tensor) error {
		return e.b.BatchNormTrain(y, mean, rstd, x, gamma, beta, 1e-5)
	}, nil)
}

func testBatchNormTrainBackward(e *env) {
	testNormBackward(e, batchNorm, e.b.BatchNormTrainBackward)
	testNormErrors(e, batchNorm, nil, e.b.BatchNormTrainBackward)
}

func testBatchNormFrozen(e *env) {
	for i, c := range normCases {
		eps := epsFor(i)
		e.run(fmt.Sprintf("%s eps %g", c, eps), func() {
			n, s := c.n, c.h*c.w
			x, runMean, runVar := e.vals(numel(c.shape()...)), e.vals(c.c), e.uniform(c.c, 0.1, 2)
			gamma, beta := e.optionalVals(c.affine, c.c), e.optionalVals(c.affine, c.c)
			y := e.out(c.shape()...)
			e.must(e.b.BatchNormFrozen(y, e.in(x, c.shape()...), e.in(runMean, c.c), e.in(runVar, c.c), e.inOrNil(gamma, c.c), e.inOrNil(beta, c.c), eps), "BatchNormFrozen")
			want := refBatchNormFrozen(to64(x), to64(runMean), to64(runVar), to64(gamma), to64(beta), n, c.c, s, float64(eps))
			e.close("y", e.down(y), want, 4)
		})
	}
	e.run("errors", func() {
		x, y, m, v, g := e.zeros(2, 3, 4, 5), e.zeros(2, 3, 4, 5), e.zeros(3), e.zeros(3), e.zeros(3)
		e.expectError("nil input", func() error { return e.b.BatchNormFrozen(y, nil, m, v, g, g, 1e-5) })
		e.expectError("nil running variance", func() error { return e.b.BatchNormFrozen(y, x, m, nil, g, g, 1e-5) })
		e.expectError("running mean of length 4", func() error { return e.b.BatchNormFrozen(y, x, e.zeros(4), v, g, g, 1e-5) })
		e.expectError("output and input shapes differ", func() error { return e.b.BatchNormFrozen(e.zeros(2, 3, 5, 4), x, m, v, g, g, 1e-5) })
		e.expectError("gamma of length 2", func() error { return e.b.BatchNormFrozen(y, x, m, v, e.zeros(2), g, 1e-5) })
		if xe, ok := e.tryAlloc(0, 3, 4, 5); ok {
			if ye, ok := e.tryAlloc(0, 3, 4, 5); ok {
				e.expectError("empty batch", func() error { return e.b.BatchNormFrozen(ye, xe, m, v, g, g, 1e-5) })
			}
		}
	})
}

func testBatchNormFrozenBackwardData(e *env) {
	for i, c := range normCases {
		eps := epsFor(i)
		e.run(fmt.Sprintf("%s eps %g", c, eps), func() {
			n, s := c.n, c.h*c.w
			dy, dx0, runVar := e.vals(numel(c.shape()...)), e.vals(numel(c.shape()...)), e.uniform(c.c, 0.1, 2)
			gamma := e.optionalVals(c.affine, c.c)
			dx := e.acc(dx0, c.shape()...)
			e.must(e.b.BatchNormFrozenBackwardData(dx, e.in(dy, c.shape()...), e.in(runVar, c.c), e.inOrNil(gamma, c.c), eps), "BatchNormFrozenBackwardData")
			got := e.down(dx)
			v64, g64 := to64(runVar), to64(gamma)
			e.close("dx", got, plus(dx0, refBatchNormFrozenBackwardData(to64(dy), v64, g64, n, c.c, s, float64(eps))), 4)
			if fdAffordable(len(dx0), len(dx0)) {
				x64, m64, b64 := to64(e.vals(len(dx0))), to64(e.vals(c.c)), to64(e.vals(c.c))
				num := numericalGrad(x64, func() float64 {
					return dot(dy, refBatchNormFrozen(x64, m64, v64, g64, b64, n, c.c, s, float64(eps)))
				})
				e.closeFD("dx", got, plus(dx0, num), 4)
			}
		})
	}
	e.run("errors", func() {
		dx, dy, v, g := e.zeros(2, 3, 4, 5), e.zeros(2, 3, 4, 5), e.zeros(3), e.zeros(3)
		e.expectError("nil dy", func() error { return e.b.BatchNormFrozenBackwardData(dx, nil, v, g, 1e-5) })
		e.expectError("nil dx", func() error { return e.b.BatchNormFrozenBackwardData(nil, dy, v, g, 1e-5) })
		e.expectError("nil running variance", func() error { return e.b.BatchNormFrozenBackwardData(dx, dy, nil, g, 1e-5) })
		e.expectError("dx and dy shapes differ", func() error { return e.b.BatchNormFrozenBackwardData(e.zeros(2, 3, 5, 4), dy, v, g, 1e-5) })
		e.expectError("gamma of length 4", func() error { return e.b.BatchNormFrozenBackwardData(dx, dy, v, e.zeros(4), 1e-5) })
	})
}
