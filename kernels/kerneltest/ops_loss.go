package kerneltest

import (
	"fmt"
	"math"

	"suture/tensor"
)

// classCase is scores (n, k, h, w) with logits spread by 3 around offset
// (a large offset checks that softmax subtracts the maximum).
type classCase struct {
	n, k, h, w int
	offset     float32
}

func (c classCase) shape() []int       { return []int{c.n, c.k, c.h, c.w} }
func (c classCase) targetShape() []int { return []int{c.n, 1, c.h, c.w} }
func (c classCase) pixels() int        { return c.n * c.h * c.w }

func (c classCase) String() string {
	s := fmt.Sprintf("%dx%dx%dx%d", c.n, c.k, c.h, c.w)
	if c.offset != 0 {
		s += fmt.Sprintf(" logits+%g", c.offset)
	}
	return s
}

var classCases = []classCase{
	{1, 1, 1, 1, 0}, {1, 2, 1, 1, 0}, {2, 3, 7, 9, 0}, {3, 2, 8, 8, 0}, {1, 9, 3, 5, 0},
	{2, 33, 2, 3, 0}, {8, 4, 31, 33, 0}, {2, 3, 2, 3, 0}, {1, 5, 3, 3, 100}, {2, 2, 3, 1, -100},
}

func (e *env) logits(c classCase) []float32 {
	x := e.vals(numel(c.shape()...))
	for i := range x {
		x[i] = c.offset + 3*x[i]
	}
	return x
}

// scaled multiplies v by f in place and returns it: gradients are pre-filled
// at the size of the contribution, so that a wrong contribution stands out.
func scaled(v []float32, f float64) []float32 {
	for i := range v {
		v[i] = float32(float64(v[i]) * f)
	}
	return v
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

func testSoftmax(e *env) {
	for _, c := range classCases {
		e.run(c.String(), func() {
			x := e.logits(c)
			p := e.out(c.shape()...)
			e.must(e.b.Softmax(p, e.in(x, c.shape()...)), "Softmax")
			e.close("p", e.down(p), refSoftmax(to64(x), c.n, c.k, c.h*c.w), c.k+1)
		})
	}
	e.run("errors", func() {
		x := e.zeros(2, 3, 4, 5)
		e.expectError("nil input", func() error { return e.b.Softmax(x, nil) })
		e.expectError("nil output", func() error { return e.b.Softmax(nil, x) })
		e.expectError("output of another shape", func() error { return e.b.Softmax(e.zeros(2, 3, 5, 4), x) })
		e.expectError("rank-1 input", func() error { return e.b.Softmax(e.zeros(6), e.zeros(6)) })
	})
}

func testSoftmaxBackward(e *env) {
	for _, c := range classCases {
		e.run(c.String(), func() {
			s := c.h * c.w
			x64 := to64(e.logits(c))
			p := f32(refSoftmax(x64, c.n, c.k, s))
			dp, dx0 := e.vals(len(p)), e.vals(len(p))
			dx := e.acc(dx0, c.shape()...)
			e.must(e.b.SoftmaxBackward(dx, e.in(dp, c.shape()...), e.in(p, c.shape()...)), "SoftmaxBackward")
			got := e.down(dx)
			e.close("dx", got, plus(dx0, refSoftmaxBackward(to64(dp), to64(p), c.n, c.k, s)), c.k+2)
			if fdAffordable(len(p), len(p)*c.k) {
				num := numericalGrad(x64, func() float64 { return dot(dp, refSoftmax(x64, c.n, c.k, s)) })
				e.closeFD("dx", got, plus(dx0, num), c.k+2)
			}
		})
	}
	e.run("errors", func() {
		x := e.zeros(2, 3, 4, 5)
		e.expectError("nil p", func() error { return e.b.SoftmaxBackward(x, x, nil) })
		e.expectError("nil dp", func() error { return e.b.SoftmaxBackward(x, nil, x) })
		e.expectError("dx of another shape", func() error { return e.b.SoftmaxBackward(e.zeros(2, 3, 5, 4), x, x) })
	})
}

func testSoftmaxCrossEntropy(e *env) {
	for _, c := range classCases {
		e.run(c.String(), func() {
			x, t := e.logits(c), e.classes(c.pixels(), c.k)
			p := e.out(c.shape()...)
			loss, err := e.b.SoftmaxCrossEntropy(p, e.in(x, c.shape()...), e.in(t, c.targetShape()...))
			e.must(err, "SoftmaxCrossEntropy")
			x64 := to64(x)
			e.close("p", e.down(p), refSoftmax(x64, c.n, c.k, c.h*c.w), c.k+1)
			e.closeScalar("loss", loss, refCrossEntropy(x64, to64(t), c.n, c.k, c.h*c.w), maxAbs(x64), c.pixels()*(c.k+1))
		})
	}
	testClassTargetErrors(e, func(x, t *tensor.Tensor) error {
		p, err := e.likeScores(x)
		if err != nil {
			return err
		}
		_, err = e.b.SoftmaxCrossEntropy(p, x, t)
		return err
	})
	e.run("errors: output", func() {
		x, t := e.zeros(2, 3, 4, 5), e.zeros(2, 1, 4, 5)
		e.expectError("nil p", func() error { _, err := e.b.SoftmaxCrossEntropy(nil, x, t); return err })
		e.expectError("p of another shape", func() error { _, err := e.b.SoftmaxCrossEntropy(e.zeros(2, 3, 5, 4), x, t); return err })
	})
}

func testSoftmaxCrossEntropyBackward(e *env) {
	for i, c := range classCases {
		scale := []float32{1, 0.7}[i%2]
		e.run(fmt.Sprintf("%s scale %g", c, scale), func() {
			s := c.h * c.w
			x64, t := to64(e.logits(c)), e.classes(c.pixels(), c.k)
			p := f32(refSoftmax(x64, c.n, c.k, s))
			dx0 := scaled(e.vals(len(p)), 1/float64(c.pixels()))
			dx := e.acc(dx0, c.shape()...)
			e.must(e.b.SoftmaxCrossEntropyBackward(dx, e.in(p, c.shape()...), e.in(t, c.targetShape()...), scale), "SoftmaxCrossEntropyBackward")
			got := e.down(dx)
			t64 := to64(t)
			e.close("dx", got, plus(dx0, refCrossEntropyBackward(to64(p), t64, c.n, c.k, s, float64(scale))), 2)
			if fdAffordable(len(p), len(p)*c.k) {
				num := numericalGrad(x64, func() float64 { return float64(scale) * refCrossEntropy(x64, t64, c.n, c.k, s) })
				e.closeFD("dx", got, plus(dx0, num), 2)
			}
		})
	}
	testClassTargetErrors(e, func(p, t *tensor.Tensor) error {
		dx, err := e.likeScores(p)
		if err != nil {
			return err
		}
		return e.b.SoftmaxCrossEntropyBackward(dx, p, t, 1)
	})
}

// likeScores allocates a tensor shaped like the scores of an error case
// (the usual (2, 3, 4, 5) when the scores are nil).
func (e *env) likeScores(scores *tensor.Tensor) (*tensor.Tensor, error) {
	shape := []int{2, 3, 4, 5}
	if scores != nil {
		shape = scores.Shape
	}
	t, ok := e.tryAlloc(shape...)
	if !ok {
		return nil, fmt.Errorf("cannot allocate %v", tensor.Shape(shape))
	}
	return t, nil
}

// testClassTargetErrors checks an op on scores (N, K, H, W) and a target
// (N, 1, H, W) against out-of-range, negative and fractional class indices,
// mismatched and nil targets, and an empty batch.
func testClassTargetErrors(e *env, call func(scores, target *tensor.Tensor) error) {
	e.run("errors", func() {
		x := e.zeros(2, 3, 4, 5)
		target := func(bad float32) *tensor.Tensor {
			v := make([]float32, 40)
			v[17] = bad
			return e.acc(v, 2, 1, 4, 5)
		}
		e.expectError("target 3 with 3 classes", func() error { return call(x, target(3)) })
		e.expectError("target -1", func() error { return call(x, target(-1)) })
		e.expectError("target 1.5", func() error { return call(x, target(1.5)) })
		e.expectError("target NaN", func() error { return call(x, target(float32(math.NaN()))) })
		e.expectError("nil target", func() error { return call(x, nil) })
		e.expectError("nil scores", func() error { return call(nil, e.zeros(2, 1, 4, 5)) })
		e.expectError("target with 2 channels", func() error { return call(x, e.zeros(2, 2, 4, 5)) })
		e.expectError("target of another size", func() error { return call(x, e.zeros(2, 1, 5, 4)) })
		e.expectError("rank-3 target", func() error { return call(x, e.zeros(2, 4, 5)) })
		xe, ok1 := e.tryAlloc(0, 3, 4, 5)
		te, ok2 := e.tryAlloc(0, 1, 4, 5)
		if ok1 && ok2 {
			e.expectError("empty batch", func() error { return call(xe, te) })
		}
	})
}

func testDiceSums(e *env) {
	for _, c := range classCases {
		e.run(c.String(), func() {
			p, t := e.uniform(numel(c.shape()...), 0.01, 1), e.classes(c.pixels(), c.k)
			tp, ps, ts := e.out(c.k), e.out(c.k), e.out(c.k)
			e.must(e.b.DiceSums(tp, ps, ts, e.in(p, c.shape()...), e.in(t, c.targetShape()...)), "DiceSums")
			wtp, wps, wts := refDiceSums(to64(p), to64(t), c.n, c.k, c.h*c.w)
			e.close("tp", e.down(tp), wtp, c.pixels())
			e.close("ps", e.down(ps), wps, c.pixels())
			e.close("ts", e.down(ts), wts, 1)
		})
	}
	testClassTargetErrors(e, func(p, t *tensor.Tensor) error {
		k := 3
		if p != nil && len(p.Shape) == 4 {
			k = p.Shape[1]
		}
		tp, ps, ts := e.zeros(k), e.zeros(k), e.zeros(k)
		return e.b.DiceSums(tp, ps, ts, p, t)
	})
	e.run("errors: sums", func() {
		p, t, v := e.zeros(2, 3, 4, 5), e.zeros(2, 1, 4, 5), e.zeros(3)
		e.expectError("tp of length 2 for 3 classes", func() error { return e.b.DiceSums(e.zeros(2), v, v, p, t) })
		e.expectError("nil ps", func() error { return e.b.DiceSums(v, nil, v, p, t) })
		e.expectError("rank-2 ts", func() error { return e.b.DiceSums(v, v, e.zeros(1, 3), p, t) })
	})
}

func testDiceSumsBackward(e *env) {
	for _, c := range classCases {
		e.run(c.String(), func() {
			s := c.h * c.w
			t := e.classes(c.pixels(), c.k)
			dtp, dps, dp0 := e.vals(c.k), e.vals(c.k), e.vals(numel(c.shape()...))
			dp := e.acc(dp0, c.shape()...)
			e.must(e.b.DiceSumsBackward(dp, e.in(t, c.targetShape()...), e.in(dtp, c.k), e.in(dps, c.k)), "DiceSumsBackward")
			got := e.down(dp)
			t64 := to64(t)
			e.close("dp", got, plus(dp0, refDiceSumsBackward(t64, to64(dtp), to64(dps), c.n, c.k, s)), 3)
			if fdAffordable(len(dp0), len(dp0)) {
				p64 := to64(e.uniform(len(dp0), 0.01, 1))
				num := numericalGrad(p64, func() float64 {
					tp, ps, _ := refDiceSums(p64, t64, c.n, c.k, s)
					return dot(dtp, tp) + dot(dps, ps)
				})
				e.closeFD("dp", got, plus(dp0, num), 3)
			}
		})
	}
	testClassTargetErrors(e, func(p, t *tensor.Tensor) error {
		k := 3
		if p != nil && len(p.Shape) == 4 {
			k = p.Shape[1]
		}
		return e.b.DiceSumsBackward(p, t, e.zeros(k), e.zeros(k))
	})
	e.run("errors: sums", func() {
		dp, t, v := e.zeros(2, 3, 4, 5), e.zeros(2, 1, 4, 5), e.zeros(3)
		e.expectError("dtp of length 4 for 3 classes", func() error { return e.b.DiceSumsBackward(dp, t, e.zeros(4), v) })
		e.expectError("nil dps", func() error { return e.b.DiceSumsBackward(dp, t, v, nil) })
	})
}

func testMSE(e *env) {
	for _, s := range elemShapes {
		e.run(shapeLabel(s), func() {
			a, b := e.vals(numel(s...)), e.vals(numel(s...))
			got, err := e.b.MSE(e.in(a, s...), e.in(b, s...))
			e.must(err, "MSE")
			want := refMSE(to64(a), to64(b))
			e.closeScalar("mse", got, want, want, len(a)+1)
		})
	}
	e.run("errors", func() {
		a := e.zeros(2, 3)
		e.expectError("nil a", func() error { _, err := e.b.MSE(nil, a); return err })
		e.expectError("nil b", func() error { _, err := e.b.MSE(a, nil); return err })
		e.expectError("shapes (2,3) and (3,2)", func() error { _, err := e.b.MSE(a, e.zeros(3, 2)); return err })
		if z, ok := e.tryAlloc(0, 3); ok {
			e.expectError("empty tensors", func() error { _, err := e.b.MSE(z, z); return err })
		}
	})
}

func testMSEBackward(e *env) {
	for i, s := range elemShapes {
		scale := []float32{1, 0.5, -2}[i%3]
		withDb := i%2 == 0
		e.run(fmt.Sprintf("%s scale %g db %v", shapeLabel(s), scale, withDb), func() {
			n := numel(s...)
			a, b := e.vals(n), e.vals(n)
			da0 := scaled(e.vals(n), 1/float64(n))
			var db0 []float32
			if withDb {
				db0 = scaled(e.vals(n), 1/float64(n))
			}
			da, db := e.acc(da0, s...), e.accOrNil(db0, s...)
			e.must(e.b.MSEBackward(da, db, e.in(a, s...), e.in(b, s...), scale), "MSEBackward")
			a64, b64 := to64(a), to64(b)
			g := refMSEBackward(a64, b64, float64(scale))
			gotA := e.down(da)
			e.close("da", gotA, plus(da0, g), 2)
			var gotB []float32
			if withDb {
				gotB = e.down(db)
				e.close("db", gotB, plus(db0, refScale(g, -1)), 2)
			}
			if !fdAffordable(2*n, n) {
				return
			}
			loss := func() float64 { return float64(scale) * refMSE(a64, b64) }
			e.closeFD("da", gotA, plus(da0, numericalGrad(a64, loss)), 2)
			if withDb {
				e.closeFD("db", gotB, plus(db0, numericalGrad(b64, loss)), 2)
			}
		})
	}
	e.run("errors", func() {
		a := e.zeros(2, 3)
		e.expectError("nil a", func() error { return e.b.MSEBackward(a, nil, nil, a, 1) })
		e.expectError("nil b", func() error { return e.b.MSEBackward(a, nil, a, nil, 1) })
		e.expectError("da of another shape", func() error { return e.b.MSEBackward(e.zeros(3, 2), nil, a, a, 1) })
		e.expectError("db of another shape", func() error { return e.b.MSEBackward(a, e.zeros(6), a, a, 1) })
		e.expectError("a and b shapes differ", func() error { return e.b.MSEBackward(a, nil, a, e.zeros(3, 2), 1) })
	})
}
