package kerneltest

import (
	"fmt"

	"suture/tensor"
)

// elemShapes have 1, 7, 8, 9, 31, 32, 33 elements (vector-width tails) and
// one of 101505, large enough for a backend to split the work over threads.
var elemShapes = [][]int{
	{1, 1, 1, 1}, {1, 1, 1, 7}, {1, 1, 1, 8}, {1, 1, 3, 3}, {1, 1, 1, 31}, {2, 1, 4, 4}, {1, 3, 1, 11}, {3, 5, 67, 101},
}

// slopeFor alternates the leaky-ReLU slope between the U-Net's and a larger one.
func slopeFor(i int) float32 { return []float32{0.01, 0.2}[i%2] }

func testLeakyReLU(e *env) {
	for i, s := range elemShapes {
		slope := slopeFor(i)
		e.run(fmt.Sprintf("%s slope %g", shapeLabel(s), slope), func() {
			x := e.vals(numel(s...))
			want := refLeakyReLU(to64(x), float64(slope))
			y := e.out(s...)
			e.must(e.b.LeakyReLU(y, e.in(x, s...), slope), "LeakyReLU")
			e.close("y", e.down(y), want, 1)
			xy := e.acc(x, s...)
			e.must(e.b.LeakyReLU(xy, xy, slope), "LeakyReLU in place")
			e.close("y (in place, y == x)", e.down(xy), want, 1)
		})
	}
	e.run("errors", func() {
		x := e.zeros(2, 3)
		e.expectError("nil input", func() error { return e.b.LeakyReLU(x, nil, 0.01) })
		e.expectError("nil output", func() error { return e.b.LeakyReLU(nil, x, 0.01) })
		e.expectError("shapes (3,2) and (2,3)", func() error { return e.b.LeakyReLU(e.zeros(3, 2), x, 0.01) })
	})
}

func testLeakyReLUBackward(e *env) {
	for i, s := range elemShapes {
		slope := slopeFor(i)
		e.run(fmt.Sprintf("%s slope %g", shapeLabel(s), slope), func() {
			x, dy, dx0 := e.vals(numel(s...)), e.vals(numel(s...)), e.vals(numel(s...))
			x64 := to64(x)
			y := f32(refLeakyReLU(x64, float64(slope)))
			dx := e.acc(dx0, s...)
			e.must(e.b.LeakyReLUBackward(dx, e.in(dy, s...), e.in(y, s...), slope), "LeakyReLUBackward")
			got := e.down(dx)
			e.close("dx", got, plus(dx0, refLeakyReLUBackward(to64(dy), x64, float64(slope))), 2)
			if fdAffordable(len(x), len(x)) {
				num := numericalGrad(x64, func() float64 { return dot(dy, refLeakyReLU(x64, float64(slope))) })
				e.closeFD("dx", got, plus(dx0, num), 2)
			}
		})
	}
	e.run("errors", func() {
		x := e.zeros(2, 3)
		e.expectError("nil dy", func() error { return e.b.LeakyReLUBackward(x, nil, x, 0.01) })
		e.expectError("nil y", func() error { return e.b.LeakyReLUBackward(x, x, nil, 0.01) })
		e.expectError("dx of another shape", func() error { return e.b.LeakyReLUBackward(e.zeros(3, 2), x, x, 0.01) })
		e.expectError("y of another shape", func() error { return e.b.LeakyReLUBackward(x, x, e.zeros(6), 0.01) })
	})
}

// concatCase joins parts of cs channels each, (n, cs[i], h, w).
type concatCase struct {
	n    int
	cs   []int
	h, w int
}

func (c concatCase) String() string { return fmt.Sprintf("n%d parts%v %dx%d", c.n, c.cs, c.h, c.w) }

func (c concatCase) total() int {
	t := 0
	for _, v := range c.cs {
		t += v
	}
	return t
}

var concatCases = []concatCase{
	{1, []int{1}, 1, 1}, {2, []int{3, 5}, 7, 9}, {3, []int{1, 8, 32}, 3, 5},
	{9, []int{33, 2}, 4, 4}, {2, []int{7, 9, 1}, 31, 33}, {1, []int{2, 3}, 2, 3},
}

func testConcat(e *env) {
	for _, c := range concatCases {
		e.run(c.String(), func() {
			var xs [][]float64
			var ts []*tensor.Tensor
			for _, ci := range c.cs {
				x := e.vals(c.n * ci * c.h * c.w)
				xs, ts = append(xs, to64(x)), append(ts, e.in(x, c.n, ci, c.h, c.w))
			}
			y := e.out(c.n, c.total(), c.h, c.w)
			e.must(e.b.Concat(y, ts), "Concat")
			e.close("y", e.down(y), refConcat(xs, c.cs, c.n, c.h*c.w), 1)
		})
	}
	e.run("errors", func() {
		a, b, y := e.zeros(2, 3, 4, 5), e.zeros(2, 1, 4, 5), e.zeros(2, 4, 4, 5)
		e.expectError("nil output", func() error { return e.b.Concat(nil, []*tensor.Tensor{a, b}) })
		e.expectError("no parts", func() error { return e.b.Concat(y, nil) })
		e.expectError("nil part", func() error { return e.b.Concat(y, []*tensor.Tensor{a, nil}) })
		e.expectError("channels 3+1 into 5", func() error { return e.b.Concat(e.zeros(2, 5, 4, 5), []*tensor.Tensor{a, b}) })
		e.expectError("part of another height", func() error { return e.b.Concat(y, []*tensor.Tensor{a, e.zeros(2, 1, 3, 5)}) })
		e.expectError("part of another batch size", func() error { return e.b.Concat(y, []*tensor.Tensor{a, e.zeros(1, 1, 4, 5)}) })
		e.expectError("rank-3 part", func() error { return e.b.Concat(y, []*tensor.Tensor{a, e.zeros(2, 1, 20)}) })
	})
}

func testConcatBackward(e *env) {
	for _, c := range concatCases {
		e.run(c.String(), func() {
			s := c.h * c.w
			dy := e.vals(c.n * c.total() * s)
			var dx0 [][]float32
			var ts []*tensor.Tensor
			for _, ci := range c.cs {
				d := e.vals(c.n * ci * s)
				dx0, ts = append(dx0, d), append(ts, e.acc(d, c.n, ci, c.h, c.w))
			}
			e.must(e.b.ConcatBackward(ts, e.in(dy, c.n, c.total(), c.h, c.w)), "ConcatBackward")
			want := refConcatBackward(to64(dy), c.cs, c.n, s)
			var got [][]float32
			for p, t := range ts {
				got = append(got, e.down(t))
				e.close(fmt.Sprintf("dx[%d]", p), got[p], plus(dx0[p], want[p]), 2)
			}
			if n := c.n * c.total() * s; !fdAffordable(n, n) {
				return
			}
			var xs [][]float64
			for p := range c.cs {
				xs = append(xs, to64(e.vals(len(dx0[p]))))
			}
			loss := func() float64 { return dot(dy, refConcat(xs, c.cs, c.n, s)) }
			for p := range c.cs {
				e.closeFD(fmt.Sprintf("dx[%d]", p), got[p], plus(dx0[p], numericalGrad(xs[p], loss)), 2)
			}
		})
	}
	e.run("errors", func() {
		a, b, dy := e.zeros(2, 3, 4, 5), e.zeros(2, 1, 4, 5), e.zeros(2, 4, 4, 5)
		e.expectError("nil dy", func() error { return e.b.ConcatBackward([]*tensor.Tensor{a, b}, nil) })
		e.expectError("no parts", func() error { return e.b.ConcatBackward(nil, dy) })
		// Every part must be given: its shape says where its slice starts.
		e.expectError("nil part", func() error { return e.b.ConcatBackward([]*tensor.Tensor{nil, b}, dy) })
		e.expectError("channels 3+1 from 5", func() error { return e.b.ConcatBackward([]*tensor.Tensor{a, b}, e.zeros(2, 5, 4, 5)) })
		e.expectError("part of another width", func() error { return e.b.ConcatBackward([]*tensor.Tensor{a, e.zeros(2, 1, 4, 4)}, dy) })
		e.expectError("rank-2 dy", func() error { return e.b.ConcatBackward([]*tensor.Tensor{a, b}, e.zeros(2, 80)) })
	})
}

func testAdd(e *env) {
	for _, s := range elemShapes {
		e.run(shapeLabel(s), func() {
			a, b := e.vals(numel(s...)), e.vals(numel(s...))
			want := refAdd(to64(a), to64(b))
			y := e.out(s...)
			e.must(e.b.Add(y, e.in(a, s...), e.in(b, s...)), "Add")
			e.close("y", e.down(y), want, 1)
			ya := e.acc(a, s...)
			e.must(e.b.Add(ya, ya, e.in(b, s...)), "Add in place")
			e.close("y (y == a)", e.down(ya), want, 1)
			yb := e.acc(b, s...)
			e.must(e.b.Add(yb, e.in(a, s...), yb), "Add in place")
			e.close("y (y == b)", e.down(yb), want, 1)
		})
	}
	e.run("errors", func() {
		a := e.zeros(2, 3)
		e.expectError("nil a", func() error { return e.b.Add(a, nil, a) })
		e.expectError("nil output", func() error { return e.b.Add(nil, a, a) })
		e.expectError("shapes (2,3) and (3,2)", func() error { return e.b.Add(a, a, e.zeros(3, 2)) })
		e.expectError("output of another shape", func() error { return e.b.Add(e.zeros(6), a, a) })
	})
}

func testScale(e *env) {
	for i, s := range elemShapes {
		f := []float32{-0.75, 3, 0.5}[i%3]
		e.run(fmt.Sprintf("%s s %g", shapeLabel(s), f), func() {
			x := e.vals(numel(s...))
			want := refScale(to64(x), float64(f))
			y := e.out(s...)
			e.must(e.b.Scale(y, e.in(x, s...), f), "Scale")
			e.close("y", e.down(y), want, 1)
			xy := e.acc(x, s...)
			e.must(e.b.Scale(xy, xy, f), "Scale in place")
			e.close("y (y == x)", e.down(xy), want, 1)
		})
	}
	e.run("errors", func() {
		x := e.zeros(2, 3)
		e.expectError("nil input", func() error { return e.b.Scale(x, nil, 2) })
		e.expectError("nil output", func() error { return e.b.Scale(nil, x, 2) })
		e.expectError("7 elements from 6", func() error { return e.b.Scale(e.zeros(7), x, 2) })
	})
}

func testAxpy(e *env) {
	for i, s := range elemShapes {
		a := []float32{-0.75, 3, 1}[i%3]
		e.run(fmt.Sprintf("%s a %g", shapeLabel(s), a), func() {
			x, y0 := e.vals(numel(s...)), e.vals(numel(s...))
			y := e.acc(y0, s...)
			e.must(e.b.Axpy(y, e.in(x, s...), a), "Axpy")
			e.close("y", e.down(y), refAxpy(float64(a), to64(x), to64(y0)), 2)
		})
	}
	e.run("errors", func() {
		x := e.zeros(2, 3)
		e.expectError("nil x", func() error { return e.b.Axpy(x, nil, 2) })
		e.expectError("nil y", func() error { return e.b.Axpy(nil, x, 2) })
		e.expectError("7 elements from 6", func() error { return e.b.Axpy(e.zeros(7), x, 2) })
	})
}

func testFill(e *env) {
	for i, s := range elemShapes {
		v := []float32{0, 0.37, -2}[i%3]
		e.run(fmt.Sprintf("%s v %g", shapeLabel(s), v), func() {
			y := e.out(s...)
			e.must(e.b.Fill(y, v), "Fill")
			want := make([]float64, numel(s...))
			for j := range want {
				want[j] = float64(v)
			}
			e.close("y", e.down(y), want, 1)
		})
	}
	e.run("errors", func() {
		e.expectError("nil tensor", func() error { return e.b.Fill(nil, 1) })
	})
}

func testCopy(e *env) {
	for _, s := range elemShapes {
		e.run(shapeLabel(s), func() {
			x := e.vals(numel(s...))
			y := e.out(s...)
			e.must(e.b.Copy(y, e.in(x, s...)), "Copy")
			e.close("y", e.down(y), to64(x), 1)
			// Copy needs only equal element counts: copy into a flat tensor.
			flat := e.out(numel(s...))
			e.must(e.b.Copy(flat, e.in(x, s...)), "Copy to flat")
			e.close("y (flat)", e.down(flat), to64(x), 1)
		})
	}
	e.run("errors", func() {
		x := e.zeros(2, 3)
		e.expectError("nil input", func() error { return e.b.Copy(x, nil) })
		e.expectError("nil output", func() error { return e.b.Copy(nil, x) })
		e.expectError("7 elements from 6", func() error { return e.b.Copy(e.zeros(7), x) })
	})
}
