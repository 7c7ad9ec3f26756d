package autograd

import (
	"math"
	"testing"

	"suture/kernels"
	"suture/kernels/cpu"
	"suture/tensor"
)

// gradCheck compares the tape's gradients of loss(leaves) with central
// differences on up to 12 random elements of every leaf that requires a
// gradient. The forward runs in float32, so eps and the tolerance are loose;
// the kernels' own float64 gradient checks live in kernels/kerneltest.
func gradCheck(t *testing.T, leaves []*Var, loss func(tp *Tape) (*Var, error)) {
	t.Helper()
	b := cpu.NewReference()
	tp := NewTape(b)
	l, err := loss(tp)
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.Backward(l); err != nil {
		t.Fatal(err)
	}
	g := tensor.NewRNG(99)
	eval := func() float64 {
		ng := NewTape(b)
		ng.Recording = false
		v, err := loss(ng)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := ng.Value(v)
		return f
	}
	const eps = 1e-2
	for li, leaf := range leaves {
		if !leaf.RequiresGrad() {
			continue
		}
		if leaf.Grad == nil {
			t.Fatalf("leaf %d requires a gradient but got none", li)
		}
		grad := append([]float32(nil), leaf.Grad.Data...)
		for trial := 0; trial < 12; trial++ {
			i := g.IntN(len(leaf.Value.Data))
			orig := leaf.Value.Data[i]
			leaf.Value.Data[i] = orig + eps
			up := eval()
			leaf.Value.Data[i] = orig - eps
			down := eval()
			leaf.Value.Data[i] = orig
			num := (up - down) / (2 * eps)
			if math.Abs(num-float64(grad[i])) > 2e-2*math.Max(1, math.Abs(num)) {
				t.Errorf("leaf %d element %d: tape %g, finite difference %g", li, i, grad[i], num)
			}
		}
	}
}

func leaf(g *tensor.RNG, req bool, shape ...int) *Var { return Leaf(g.Rand(shape...), req) }

// A small U-Net-like block: conv -> instance norm -> leaky ReLU, a strided
// conv, a transposed conv back up, concat with the skip, a 1x1 head, and the
// Dice+CE loss. Every leaf's gradient is checked.
func TestGradientsThroughBlock(t *testing.T) {
	g := tensor.NewRNG(1)
	x := leaf(g, true, 2, 3, 6, 6)
	w1, b1 := leaf(g, true, 4, 3, 3, 3), leaf(g, true, 4)
	gm, bt := leaf(g, true, 4), leaf(g, true, 4)
	w2 := leaf(g, true, 5, 4, 3, 3)
	wt, bT := leaf(g, true, 5, 4, 2, 2), leaf(g, true, 4)
	wh, bh := leaf(g, true, 2, 8, 1, 1), leaf(g, true, 2)
	target := tensor.New(2, 1, 6, 6)
	for i := range target.Data {
		target.Data[i] = float32(g.IntN(2))
	}
	leaves := []*Var{x, w1, b1, gm, bt, w2, wt, bT, wh, bh}
	gradCheck(t, leaves, func(tp *Tape) (*Var, error) {
		h, err := tp.Conv2d(x, w1, b1, kernels.Conv(1, 1))
		if err != nil {
			return nil, err
		}
		if h, err = tp.InstanceNorm(h, gm, bt, 1e-5); err != nil {
			return nil, err
		}
		skip, err := tp.LeakyReLU(h, 0.3) // a large slope so its gradient is visible
		if err != nil {
			return nil, err
		}
		d, err := tp.Conv2d(skip, w2, nil, kernels.Conv(2, 1))
		if err != nil {
			return nil, err
		}
		u, err := tp.ConvTranspose2d(d, wt, bT)
		if err != nil {
			return nil, err
		}
		c, err := tp.Concat(u, skip)
		if err != nil {
			return nil, err
		}
		logits, err := tp.Conv2d(c, wh, bh, kernels.Conv(1, 0))
		if err != nil {
			return nil, err
		}
		ce, err := tp.CrossEntropy(logits, target)
		if err != nil {
			return nil, err
		}
		p, err := tp.Softmax(logits)
		if err != nil {
			return nil, err
		}
		dice, err := tp.SoftDice(p, target, 1e-5)
		if err != nil {
			return nil, err
		}
		return tp.WeightedSum([]*Var{ce, dice}, []float32{1, 1})
	})
}

func TestGradientsMSEAndSelect(t *testing.T) {
	g := tensor.NewRNG(2)
	a, b, c := leaf(g, true, 3, 2, 2, 2), leaf(g, true, 3, 2, 2, 2), leaf(g, false, 3, 2, 2, 2)
	ref := leaf(g, false, 3, 2, 2, 2)
	gradCheck(t, []*Var{a, b}, func(tp *Tape) (*Var, error) {
		s, err := tp.SelectSamples([]*Var{a, b, c}, []int{1, 0, 2})
		if err != nil {
			return nil, err
		}
		m, err := tp.Mean(s, a)
		if err != nil {
			return nil, err
		}
		return tp.MSE(m, ref)
	})
}

func TestFanOutAccumulates(t *testing.T) {
	b := cpu.NewReference()
	tp := NewTape(b)
	x := Leaf(tensor.New(1, 1, 1, 3), true)
	copy(x.Value.Data, []float32{1, -2, 3})
	y, _ := tp.Add(x, x)
	z, _ := tp.Scale(y, 3)
	zero := Leaf(tensor.New(1, 1, 1, 3), false)
	l, _ := tp.MSE(z, zero) // mean(36 x^2): d/dx = 24x
	if err := tp.Backward(l); err != nil {
		t.Fatal(err)
	}
	for i, v := range x.Value.Data {
		if want := 24 * v; math.Abs(float64(x.Grad.Data[i]-want)) > 1e-4 {
			t.Errorf("grad[%d] = %g, want %g", i, x.Grad.Data[i], want)
		}
	}
}

func TestFrozenAndNoGradRecordNothing(t *testing.T) {
	b := cpu.NewReference()
	g := tensor.NewRNG(3)
	x, w := leaf(g, false, 1, 2, 4, 4), leaf(g, false, 3, 2, 3, 3)
	tp := NewTape(b)
	y, err := tp.Conv2d(x, w, nil, kernels.Conv(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if tp.Len() != 0 || y.RequiresGrad() {
		t.Fatalf("frozen inputs: tape recorded %d steps, output requires grad %v", tp.Len(), y.RequiresGrad())
	}
	// Input requires a gradient, weight frozen: only dX is computed.
	x.SetRequiresGrad(true)
	y, _ = tp.Conv2d(x, w, nil, kernels.Conv(1, 1))
	l, _ := tp.MSE(y, Leaf(g.Rand(y.Shape()...), false))
	if err := tp.Backward(l); err != nil {
		t.Fatal(err)
	}
	if w.Grad != nil {
		t.Error("frozen weight got a gradient buffer")
	}
	if x.Grad == nil || !tensor.AllFinite(x.Grad.Data) {
		t.Error("input got no gradient")
	}
	ng := tp.NoGrad()
	if _, err := ng.Conv2d(x, w, nil, kernels.Conv(1, 1)); err != nil {
		t.Fatal(err)
	}
	if ng.Len() != 0 {
		t.Errorf("no-grad tape recorded %d steps", ng.Len())
	}
}

func TestDetachStopsGradient(t *testing.T) {
	b := cpu.NewReference()
	g := tensor.NewRNG(4)
	x := leaf(g, true, 2, 3)
	tp := NewTape(b)
	y, _ := tp.Scale(x, 2)
	l, _ := tp.MSE(y, y.Detach())
	if err := tp.Backward(l); err != nil {
		t.Fatal(err)
	}
	for _, v := range x.Grad.Data {
		if v != 0 {
			t.Fatalf("gradient %v through MSE(y, detach(y)) should be 0", x.Grad.Data)
		}
	}
	if _, err := tp.MSE(x.Detach(), x.Detach()); err != nil {
		t.Fatal(err)
	}
	l2, _ := tp.MSE(x.Detach(), x.Detach())
	if err := tp.Backward(l2); err == nil {
		t.Error("backward of a loss with no gradient path should fail")
	}
}

func TestArenaReusesAfterReset(t *testing.T) {
	b := cpu.NewReference()
	g := tensor.NewRNG(5)
	x, w := leaf(g, false, 2, 3, 8, 8), leaf(g, true, 4, 3, 3, 3)
	tp := NewTape(b)
	step := func() {
		y, err := tp.Conv2d(x, w, nil, kernels.Conv(1, 1))
		if err != nil {
			t.Fatal(err)
		}
		y, _ = tp.LeakyReLU(y, 0.01)
		l, _ := tp.MSE(y, Leaf(x.Value, false).Detach())
		_ = l
		tp.Reset()
	}
	step()
	allocs := testing.AllocsPerRun(5, step)
	// Only small headers (Var structs, closures, kernels' host scalars) may be
	// allocated; no tensor storage. 64x64 floats would be > 1 KiB each.
	if allocs > 40 {
		t.Errorf("a repeated step made %v allocations", allocs)
	}
}

func TestErrorsNotPanics(t *testing.T) {
	b := cpu.NewReference()
	tp := NewTape(b)
	g := tensor.NewRNG(6)
	x := leaf(g, true, 1, 3, 5, 5)
	if _, err := tp.Conv2d(x, leaf(g, true, 2, 4, 3, 3), nil, kernels.Conv(1, 1)); err == nil {
		t.Error("conv2d channel mismatch not reported")
	}
	if _, err := tp.Conv2d(nil, x, nil, kernels.Conv(1, 1)); err == nil {
		t.Error("nil input not reported")
	}
	if _, err := tp.Concat(); err == nil {
		t.Error("empty concat not reported")
	}
	if _, err := tp.SelectSamples([]*Var{x}, []int{1}); err == nil {
		t.Error("out-of-range choice not reported")
	}
	if err := tp.Backward(x); err == nil {
		t.Error("backward of a non-scalar not reported")
	}
	bad := tensor.New(1, 1, 5, 5)
	bad.Data[3] = 7
	if _, err := tp.CrossEntropy(leaf(g, true, 1, 2, 5, 5), bad); err == nil {
		t.Error("class index out of range not reported")
	}
}

// Executors reuse their argument slices between calls; the backward rules of
// variadic ops must not see later contents (a bug found by the stitch tests).
func TestVariadicArgumentsAreCopied(t *testing.T) {
	b := cpu.NewReference()
	g := tensor.NewRNG(12)
	tp := NewTape(b)
	a, c := leaf(g, true, 1, 2, 2, 2), leaf(g, true, 1, 3, 2, 2)
	args := []*Var{a, c}
	y, err := tp.Concat(args...)
	if err != nil {
		t.Fatal(err)
	}
	args[0], args[1] = c, a // reused by the caller
	l, _ := tp.MSE(y, Leaf(g.Rand(1, 5, 2, 2), false))
	if err := tp.Backward(l); err != nil {
		t.Fatalf("backward after the argument slice changed: %v", err)
	}
	if a.Grad == nil || c.Grad == nil || !a.Grad.Shape.Equal(a.Value.Shape) {
		t.Error("gradients went to the wrong inputs")
	}
}
