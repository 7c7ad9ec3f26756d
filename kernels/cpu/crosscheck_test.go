package cpu

import (
	"fmt"
	"testing"

	"suture/kernels"
	"suture/tensor"
)

// TestFastMatchesReference runs the fast path and the plain reference on the
// same random inputs at sizes around the cutoffs and compares every output.
func TestFastMatchesReference(t *testing.T) {
	forEachISA(t, func(t *testing.T, _ ISA) { fastMatchesReference(t) })
}

func fastMatchesReference(t *testing.T) {
	fast, ref := New(3), NewReference()
	g := tensor.NewRNG(1)
	type conv struct{ n, ci, co, h, w, k, s, p int }
	for _, c := range []conv{
		{1, 1, 1, 1, 1, 1, 1, 0}, {2, 3, 5, 7, 9, 3, 1, 1}, {3, 8, 7, 8, 8, 3, 2, 1},
		{2, 9, 4, 33, 31, 3, 1, 1}, {4, 32, 33, 5, 6, 1, 1, 0}, {3, 5, 6, 9, 8, 2, 2, 0},
	} {
		name := fmt.Sprintf("%+v", c)
		p := kernels.Conv(c.s, c.p)
		x, w, b := g.Rand(c.n, c.ci, c.h, c.w), g.Rand(c.co, c.ci, c.k, c.k), g.Rand(c.co)
		ys, err := kernels.Conv2dOutShape(x.Shape, w.Shape, p)
		if err != nil {
			t.Fatal(err)
		}
		y1, y2 := tensor.New(ys...), tensor.New(ys...)
		tensor.NaNs(y1)
		tensor.NaNs(y2)
		must(t, fast.Conv2d(y1, x, w, b, p))
		must(t, ref.Conv2d(y2, x, w, b, p))
		cmp(t, name+" fwd", y1, y2)
		dy := g.Rand(ys...)
		dx1, dx2 := g.Rand(x.Shape...), tensor.New(x.Shape...)
		copy(dx2.Data, dx1.Data)
		must(t, fast.Conv2dBackwardData(dx1, dy, w, p))
		must(t, ref.Conv2dBackwardData(dx2, dy, w, p))
		cmp(t, name+" bwd-data", dx1, dx2)
		dw1, dw2, db1, db2 := tensor.New(w.Shape...), tensor.New(w.Shape...), tensor.New(c.co), tensor.New(c.co)
		must(t, fast.Conv2dBackwardFilter(dw1, db1, dy, x, p))
		must(t, ref.Conv2dBackwardFilter(dw2, db2, dy, x, p))
		cmp(t, name+" bwd-filter", dw1, dw2)
		cmp(t, name+" bwd-bias", db1, db2)
	}
	for _, c := range []struct{ n, ci, co, h, w, k int }{{1, 1, 1, 1, 1, 2}, {3, 5, 4, 3, 5, 2}, {2, 16, 9, 4, 4, 2}} {
		name := fmt.Sprintf("convT %+v", c)
		x, w, b := g.Rand(c.n, c.ci, c.h, c.w), g.Rand(c.ci, c.co, c.k, c.k), g.Rand(c.co)
		ys := []int{c.n, c.co, c.h * c.k, c.w * c.k}
		y1, y2 := tensor.New(ys...), tensor.New(ys...)
		must(t, fast.ConvTranspose2d(y1, x, w, b))
		must(t, ref.ConvTranspose2d(y2, x, w, b))
		cmp(t, name+" fwd", y1, y2)
		dy := g.Rand(ys...)
		dx1, dx2 := tensor.New(x.Shape...), tensor.New(x.Shape...)
		must(t, fast.ConvTranspose2dBackwardData(dx1, dy, w))
		must(t, ref.ConvTranspose2dBackwardData(dx2, dy, w))
		cmp(t, name+" bwd-data", dx1, dx2)
		dw1, dw2, db1, db2 := tensor.New(w.Shape...), tensor.New(w.Shape...), tensor.New(c.co), tensor.New(c.co)
		must(t, fast.ConvTranspose2dBackwardFilter(dw1, db1, dy, x))
		must(t, ref.ConvTranspose2dBackwardFilter(dw2, db2, dy, x))
		cmp(t, name+" bwd-filter", dw1, dw2)
		cmp(t, name+" bwd-bias", db1, db2)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func cmp(t *testing.T, name string, got, want *tensor.Tensor) {
	t.Helper()
	if err := tensor.CloseError(name, got.Data, tensor.To64(want.Data), 1e-4, 1e-4); err != nil {
		t.Error(err)
	}
}
