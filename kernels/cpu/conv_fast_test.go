package cpu

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"suture/kernels"
	"suture/tensor"
)

type convCase struct{ n, ci, co, h, w, kh, kw, sh, sw, ph, pw int }

func (c convCase) String() string {
	return fmt.Sprintf("n%d ci%d co%d %dx%d k%dx%d s%dx%d p%dx%d", c.n, c.ci, c.co, c.h, c.w, c.kh, c.kw, c.sh, c.sw, c.ph, c.pw)
}

// convCases sit around the cutoffs of the direct kernels: channel counts
// around the 4-row weight panels and the 3-tap dot groups, widths around the
// 8-pixel segments and the 24-pixel tiles, tap counts around the 288-tap
// block (ci 31..33 with 3x3), strides 1 and 2, other kernel sizes and pads,
// the in-place 1x1 path (H*W a multiple of 8) and its copying fallback, and a
// pad larger than the kernel (the GEMM fallback for backward-data).
func convCases() []convCase {
	cs := []convCase{
		{1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},
		{2, 3, 5, 7, 9, 3, 3, 1, 1, 1, 1},
		{1, 3, 32, 16, 16, 3, 3, 1, 1, 1, 1},
		{2, 4, 4, 8, 8, 3, 3, 1, 1, 1, 1},
		{1, 5, 7, 8, 24, 3, 3, 1, 1, 1, 1},
		{1, 7, 3, 9, 25, 3, 3, 1, 1, 1, 1},
		{2, 8, 9, 17, 15, 3, 3, 1, 1, 1, 1},
		{1, 31, 6, 10, 10, 3, 3, 1, 1, 1, 1},
		{1, 32, 13, 6, 12, 3, 3, 1, 1, 1, 1},
		{1, 33, 4, 8, 9, 3, 3, 1, 1, 1, 1},
		{1, 43, 5, 5, 7, 3, 3, 1, 1, 1, 1},
		{3, 8, 7, 8, 8, 3, 3, 2, 2, 1, 1},
		{2, 9, 4, 33, 31, 3, 3, 2, 2, 1, 1},
		{1, 6, 10, 16, 17, 3, 3, 2, 2, 1, 1},
		{2, 5, 6, 11, 13, 5, 5, 1, 1, 2, 2},
		{1, 4, 5, 12, 10, 5, 3, 2, 1, 2, 0},
		{2, 3, 4, 9, 8, 2, 2, 2, 2, 0, 0},
		{1, 4, 4, 7, 7, 1, 1, 1, 1, 2, 2},
		{2, 3, 5, 6, 6, 3, 3, 1, 1, 3, 3},
		{4, 32, 33, 5, 6, 1, 1, 1, 1, 0, 0},
		{2, 32, 32, 8, 8, 1, 1, 1, 1, 0, 0},
		{3, 7, 9, 4, 6, 1, 1, 1, 1, 0, 0},
		{2, 9, 6, 5, 5, 1, 1, 1, 1, 0, 0},
		{3, 7, 8, 4, 4, 1, 1, 1, 1, 0, 0}, // 1x1 weight gradient as dot products (Ci not a multiple of 3)
		{1, 5, 8, 9, 9, 1, 1, 2, 2, 0, 0},
		// The batched 1x1 path: strip groups of 8 (k = 32) and 7 (k = 33)
		// panels with a partial last group, one panel (k = 256), sums past
		// one GEMM slice (257, 260: the GEMM for that direction), row
		// panels with a partial last one.
		{3, 32, 7, 9, 15, 1, 1, 1, 1, 0, 0},
		{2, 33, 13, 12, 12, 1, 1, 1, 1, 0, 0},
		{1, 256, 6, 4, 5, 1, 1, 1, 1, 0, 0},
		{1, 257, 7, 3, 3, 1, 1, 1, 1, 0, 0},
		{2, 6, 260, 5, 7, 1, 1, 1, 1, 0, 0},
		{2, 5, 7, 65, 64, 1, 1, 1, 1, 0, 0},    // past pointwiseMaxPlane: the GEMM (strips where widePointwise)
		{1, 3, 13, 129, 128, 1, 1, 1, 1, 0, 0}, // past pointwiseMaxPlaneZ: the GEMM on every path
		{2, 200, 13, 5, 7, 1, 1, 1, 1, 0, 0},   // one strip a group, or a pair where widePointwise
	}
	return cs
}

// checkConvAgainstRef runs forward, backward-data and backward-filter of the
// fast backend and the reference on the same random tensors; backward
// outputs start from random values (they accumulate), forward from NaNs.
func checkConvAgainstRef(t *testing.T, fast *Backend, c convCase, g *tensor.RNG) {
	t.Helper()
	ref := NewReference()
	p := kernels.ConvParams{StrideH: c.sh, StrideW: c.sw, PadH: c.ph, PadW: c.pw}
	x, w, bias := g.Rand(c.n, c.ci, c.h, c.w), g.Rand(c.co, c.ci, c.kh, c.kw), g.Rand(c.co)
	ys, err := kernels.Conv2dOutShape(x.Shape, w.Shape, p)
	if err != nil {
		t.Fatal(err)
	}
	name := c.String()
	tol := 1e-5 * float64(c.ci*c.kh*c.kw+c.co*c.kh*c.kw+c.n*ys[2]*ys[3])
	for _, withBias := range []bool{true, false} {
		bt := bias
		if !withBias {
			bt = nil
		}
		y1, y2 := tensor.New(ys...), tensor.New(ys...)
		tensor.NaNs(y1)
		must(t, fast.Conv2d(y1, x, w, bt, p))
		must(t, ref.Conv2d(y2, x, w, bt, p))
		closeTo(t, fmt.Sprintf("%s bias %v fwd", name, withBias), y1, y2, tol)
	}
	dy := g.Rand(ys...)
	dx1 := g.Rand(x.Shape...)
	dx2 := dx1.Clone()
	must(t, fast.Conv2dBackwardData(dx1, dy, w, p))
	must(t, ref.Conv2dBackwardData(dx2, dy, w, p))
	closeTo(t, name+" bwd-data", dx1, dx2, tol)
	dw1, db1 := g.Rand(w.Shape...), g.Rand(c.co)
	dw2, db2 := dw1.Clone(), db1.Clone()
	must(t, fast.Conv2dBackwardFilter(dw1, db1, dy, x, p))
	must(t, ref.Conv2dBackwardFilter(dw2, db2, dy, x, p))
	closeTo(t, name+" bwd-filter", dw1, dw2, tol)
	closeTo(t, name+" bwd-bias", db1, db2, tol)
	dw3 := dw2.Clone()
	must(t, fast.Conv2dBackwardFilter(dw3, nil, dy, x, p))
	must(t, ref.Conv2dBackwardFilter(dw2, nil, dy, x, p))
	closeTo(t, name+" bwd-filter without bias", dw3, dw2, tol)
}

func closeTo(t *testing.T, name string, got, want *tensor.Tensor, atol float64) {
	t.Helper()
	if err := tensor.CloseError(name, got.Data, tensor.To64(want.Data), atol, 1e-4); err != nil {
		t.Error(err)
	}
}

// TestConvFastMatchesReference: every conv case, both micro-kernel sets,
// 1 to 3 goroutines.
func TestConvFastMatchesReference(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		g := tensor.NewRNG(11)
		for _, threads := range []int{1, 2, 3} {
			fast := New(threads)
			for _, c := range convCases() {
				checkConvAgainstRef(t, fast, c, g)
			}
		}
	})
}

// TestConvTransposeFastMatchesReference covers H*W multiples of 8 (read in
// place) and not, channel counts around the panel sizes, and kernels 2 and 3.
func TestConvTransposeFastMatchesReference(t *testing.T) {
	cases := []struct{ n, ci, co, h, w, k int }{
		{1, 1, 1, 1, 1, 2}, {3, 5, 4, 3, 5, 2}, {2, 16, 9, 4, 4, 2}, {2, 8, 8, 8, 8, 2},
		{1, 7, 3, 4, 6, 3}, {2, 12, 5, 2, 4, 2}, {1, 32, 16, 8, 16, 2}, {3, 20, 7, 4, 8, 2}, {2, 9, 5, 16, 16, 2},
		// 2x2 (conv_transpose_2x2.go): rows not a multiple of the segments
		// (8 forward, 4 backward-data), odd H, more taps than convKC.
		{3, 13, 6, 5, 7, 2}, {1, 4, 2, 1, 8, 2}, {3, 300, 5, 3, 12, 2}, {1, 290, 5, 16, 16, 2}, {2, 6, 3, 7, 20, 2},
		{1, 3, 1, 3, 3, 2}, {3, 5, 3, 2, 9, 2}, {2, 20, 150, 3, 4, 2},
		// backward-filter: whole samples a pass, cut 4 + 1 (t2DotFloats)
		{5, 64, 3, 16, 16, 2},
	}
	withKernels(t, func(t *testing.T) {
		g := tensor.NewRNG(12)
		ref := NewReference()
		for _, threads := range []int{1, 2, 3} {
			fast := New(threads)
			for _, c := range cases {
				name := fmt.Sprintf("convT %+v threads %d", c, threads)
				x, w, b := g.Rand(c.n, c.ci, c.h, c.w), g.Rand(c.ci, c.co, c.k, c.k), g.Rand(c.co)
				ys := []int{c.n, c.co, c.h * c.k, c.w * c.k}
				y1, y2 := tensor.New(ys...), tensor.New(ys...)
				tensor.NaNs(y1)
				must(t, fast.ConvTranspose2d(y1, x, w, b))
				must(t, ref.ConvTranspose2d(y2, x, w, b))
				closeTo(t, name+" fwd", y1, y2, 1e-4)
				dy := g.Rand(ys...)
				dx1 := g.Rand(x.Shape...)
				dx2 := dx1.Clone()
				must(t, fast.ConvTranspose2dBackwardData(dx1, dy, w))
				must(t, ref.ConvTranspose2dBackwardData(dx2, dy, w))
				closeTo(t, name+" bwd-data", dx1, dx2, 1e-4)
				dw1, db1 := g.Rand(w.Shape...), g.Rand(c.co)
				dw2, db2 := dw1.Clone(), db1.Clone()
				must(t, fast.ConvTranspose2dBackwardFilter(dw1, db1, dy, x))
				must(t, ref.ConvTranspose2dBackwardFilter(dw2, db2, dy, x))
				closeTo(t, name+" bwd-filter", dw1, dw2, 1e-4)
				closeTo(t, name+" bwd-bias", db1, db2, 1e-4)
			}
		}
	})
}

// TestConvFastDeterministic: repeated runs give bitwise-identical results for
// a thread count, and so do runs with different thread counts (each output
// element has one owner and a fixed summation order).
func TestConvFastDeterministic(t *testing.T) {
	g := tensor.NewRNG(13)
	c := convCase{2, 13, 10, 19, 21, 3, 3, 1, 1, 1, 1}
	p := kernels.Conv(1, 1)
	x, w, bias := g.Rand(c.n, c.ci, c.h, c.w), g.Rand(c.co, c.ci, 3, 3), g.Rand(c.co)
	dy := g.Rand(c.n, c.co, c.h, c.w)
	run := func(threads int) []float32 {
		be := New(threads)
		y, dx, dw, db := tensor.New(dy.Shape...), tensor.New(x.Shape...), tensor.New(w.Shape...), tensor.New(c.co)
		must(t, be.Conv2d(y, x, w, bias, p))
		must(t, be.Conv2dBackwardData(dx, dy, w, p))
		must(t, be.Conv2dBackwardFilter(dw, db, dy, x, p))
		return append(append(append(y.Data, dx.Data...), dw.Data...), db.Data...)
	}
	first := run(2)
	for _, threads := range []int{2, 1, 3} {
		got := run(threads)
		for i := range got {
			if got[i] != first[i] {
				t.Fatalf("threads %d: element %d is %v, first run gave %v", threads, i, got[i], first[i])
			}
		}
	}
}

// TestInstanceNormFastMatchesReference: planes of odd and even sizes, with and
// without affine parameters, values with a large common offset.
func TestInstanceNormFastMatchesReference(t *testing.T) {
	withKernels(t, testInstanceNormFast)
}

// testInstanceNormFast: planes of 1 to 1023 pixels, around the 8-float
// vector runs (7, 8, 9, 15, 16, 17).
func testInstanceNormFast(t *testing.T) {
	g := tensor.NewRNG(14)
	ref := NewReference()
	for _, threads := range []int{1, 2, 3} {
		fast := New(threads)
		for _, s := range [][4]int{{1, 1, 1, 1}, {2, 3, 5, 7}, {3, 4, 16, 16}, {2, 5, 1, 9}, {1, 7, 33, 31},
			{2, 2, 1, 7}, {2, 2, 1, 8}, {1, 3, 3, 5}, {1, 2, 1, 16}, {2, 2, 1, 17}} {
			for _, affine := range []bool{true, false} {
				name := fmt.Sprintf("%v affine %v threads %d", s, affine, threads)
				x := g.Rand(s[0], s[1], s[2], s[3])
				for i := range x.Data[:len(x.Data)/2] {
					x.Data[i] += 100
				}
				var gamma, beta, dgamma1, dbeta1, dgamma2, dbeta2 *tensor.Tensor
				if affine {
					gamma, beta = g.Rand(s[1]), g.Rand(s[1])
					dgamma1, dbeta1 = g.Rand(s[1]), g.Rand(s[1])
					dgamma2, dbeta2 = dgamma1.Clone(), dbeta1.Clone()
				}
				y1, y2 := tensor.New(x.Shape...), tensor.New(x.Shape...)
				m1, m2, r1, r2 := tensor.New(s[0], s[1]), tensor.New(s[0], s[1]), tensor.New(s[0], s[1]), tensor.New(s[0], s[1])
				must(t, fast.InstanceNorm(y1, m1, r1, x, gamma, beta, 1e-5))
				must(t, ref.InstanceNorm(y2, m2, r2, x, gamma, beta, 1e-5))
				closeTo(t, name+" y", y1, y2, 1e-4)
				closeTo(t, name+" mean", m1, m2, 1e-4)
				closeTo(t, name+" rstd", r1, r2, 1e-4)
				dy := g.Rand(x.Shape...)
				dx1 := g.Rand(x.Shape...)
				dx2 := dx1.Clone()
				must(t, fast.InstanceNormBackward(dx1, dgamma1, dbeta1, dy, x, m2, r2, gamma))
				must(t, ref.InstanceNormBackward(dx2, dgamma2, dbeta2, dy, x, m2, r2, gamma))
				closeTo(t, name+" dx", dx1, dx2, 1e-3)
				if affine {
					closeTo(t, name+" dgamma", dgamma1, dgamma2, 1e-4)
					closeTo(t, name+" dbeta", dbeta1, dbeta2, 1e-4)
				}
			}
		}
	}
}

// TestConvFastNoAllocs: after a warm-up, the fast path of a U-Net layer's
// conv forward and backward (stride 1 and 2), a 1x1 stitch conv, instance
// norm, leaky ReLU, axpy, an SGD step and a GEMM take every buffer from the
// Backend's pool and every task value from a sync.Pool.
// It calls the fast path below the argument checks: those build small shape
// values (kernels.Conv2dOutShape, the norm statistics' shape), which the
// public-API figure logged at the end includes.
func TestConvFastNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop values: allocation counts mean nothing")
	}
	g := tensor.NewRNG(15)
	be := New(2)
	p := kernels.Conv(1, 1)
	x, w, bias := g.Rand(2, 16, 32, 32), g.Rand(16, 16, 3, 3), g.Rand(16)
	y, dy := tensor.New(2, 16, 32, 32), g.Rand(2, 16, 32, 32)
	dx, dw, db := tensor.New(x.Shape...), tensor.New(w.Shape...), tensor.New(16)
	mean, rstd := tensor.New(2, 16), tensor.New(2, 16)
	gamma, beta, dgamma, dbeta := g.Rand(16), g.Rand(16), tensor.New(16), tensor.New(16)
	xs, ws1, ys, dys := g.Rand(4, 32, 16, 16), g.Rand(16, 32, 1, 1), tensor.New(4, 16, 16, 16), g.Rand(4, 16, 16, 16)
	dxs, dws1 := tensor.New(xs.Shape...), tensor.New(ws1.Shape...)
	d3 := makeConvDims(x.Shape, w.Shape, p)
	d1 := makeConvDims(xs.Shape, ws1.Shape, kernels.Conv(1, 0))
	d2 := makeConvDims(x.Shape, w.Shape, kernels.Conv(2, 1))
	y2 := tensor.New(2, 16, 16, 16)
	// A layer on the Winograd path: 32 channels, 16 wide.
	xw, ww, bw := g.Rand(2, 32, 16, 16), g.Rand(32, 32, 3, 3), g.Rand(32)
	yw, dyw, dxw := tensor.New(2, 32, 16, 16), g.Rand(2, 32, 16, 16), tensor.New(2, 32, 16, 16)
	dw3 := makeConvDims(xw.Shape, ww.Shape, p)
	if !dw3.winogradFits() || !winogradWorth(dw3.ci, dw3.co, dw3.wo) {
		t.Fatal("the 32-channel layer does not take the Winograd path")
	}
	fastPath := func() {
		be.conv2dFast(yw.Data, xw.Data, ww.Data, bw.Data, dw3)
		be.conv2dBackwardDataFast(dxw.Data, dyw.Data, ww.Data, dw3)
		be.conv2dFast(y.Data, x.Data, w.Data, bias.Data, d3)
		be.conv2dBackwardDataFast(dx.Data, dy.Data, w.Data, d3)
		be.conv2dBackwardFilterFast(dw.Data, db.Data, dy.Data, x.Data, d3)
		be.conv2dFast(y2.Data, x.Data, w.Data, bias.Data, d2)
		be.conv2dBackwardDataFast(dx.Data, y2.Data, w.Data, d2)
		be.conv2dBackwardFilterFast(dw.Data, db.Data, y2.Data, x.Data, d2)
		be.conv2dFast(ys.Data, xs.Data, ws1.Data, nil, d1)
		be.conv2dBackwardDataFast(dxs.Data, dys.Data, ws1.Data, d1)
		be.conv2dBackwardFilterFast(dws1.Data, nil, dys.Data, xs.Data, d1)
		be.instanceNormFast(y.Data, mean.Data, rstd.Data, x.Data, gamma.Data, beta.Data, 2, 16, 32*32, 1e-5)
		be.instanceNormBackwardFast(dx.Data, dgamma.Data, dbeta.Data, dy.Data, x.Data, mean.Data, rstd.Data, gamma.Data, 2, 16, 32*32)
		be.sgemm(false, false, 64, 64, 64, 1, x.Data, 64, x.Data, 64, 0, y.Data, 64)
		be.elementwise(opLeakyReLU, len(y.Data), y.Data, y.Data, nil, nil, [5]float32{0.01}, 0)
		be.elementwise(opLeakyReLUBackward, len(y.Data), dx.Data, dy.Data, y.Data, nil, [5]float32{0.01}, 0)
		be.elementwise(opAxpy, len(y.Data), y.Data, dy.Data, nil, nil, [5]float32{0.5}, 0)
		be.elementwise(opSGDNesterov, len(y.Data), y.Data, dx.Data, dy.Data, nil, [5]float32{0.01, 0.9, 0}, 0)
	}
	fastPath()
	if allocs := testing.AllocsPerRun(20, fastPath); allocs > 0 {
		t.Errorf("fast path allocates %.1f times per run after warm-up, want 0", allocs)
	}
	public := func() {
		must(t, be.Conv2d(y, x, w, bias, p))
		must(t, be.Conv2dBackwardData(dx, dy, w, p))
		must(t, be.Conv2dBackwardFilter(dw, db, dy, x, p))
		must(t, be.InstanceNorm(y, mean, rstd, x, gamma, beta, 1e-5))
		must(t, be.InstanceNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma))
	}
	public()
	t.Logf("through the public API (argument checks included): %.1f allocations per conv fwd+bwd+norm step", testing.AllocsPerRun(20, public))
}

// TestPackConvAMatchesIndexFormula packs the four weight views the convs use
// with 1 to 3 goroutines, at panel counts around the 4-row panel and past
// the size where packing goes parallel, against a(i, t) written out per view.
func TestPackConvAMatchesIndexFormula(t *testing.T) {
	g := tensor.NewRNG(14)
	type view struct {
		name string
		m, k int
		v    func(w []float32) weightView
		at   func(w []float32, i, t int) float32
	}
	for _, sz := range []struct{ co, ci, taps int }{{1, 1, 9}, {3, 5, 9}, {4, 4, 4}, {5, 7, 9}, {9, 3, 1}, {64, 64, 9}, {130, 67, 9}, {257, 33, 4}} {
		co, ci, taps := sz.co, sz.ci, sz.taps
		views := []view{
			{"forward", co, ci * taps,
				func(w []float32) weightView { return weightView{w: w, row: ci * taps, inner: ci * taps, step: 1} },
				func(w []float32, i, t int) float32 { return w[i*ci*taps+t] }},
			{"backward-data", ci, co * taps,
				func(w []float32) weightView {
					return weightView{w: w, row: taps, inner: taps, step: 1, outer: ci * taps}
				},
				func(w []float32, i, t int) float32 { return w[((t/taps)*ci+i)*taps+t%taps] }},
			{"transpose", co * taps, ci,
				func(w []float32) weightView { return weightView{w: w, row: 1, inner: ci, step: co * taps} },
				func(w []float32, i, t int) float32 { return w[t*co*taps+i] }},
			{"transpose-data", ci, co * taps,
				func(w []float32) weightView { return weightView{w: w, row: co * taps, inner: co * taps, step: 1} },
				func(w []float32, i, t int) float32 { return w[i*co*taps+t] }},
		}
		w := make([]float32, co*ci*taps)
		for i := range w {
			w[i] = float32(g.Norm())
		}
		for _, vw := range views {
			for threads := 1; threads <= 3; threads++ {
				ap := make([]float32, roundUp(vw.m, convMR)*vw.k)
				for i := range ap {
					ap[i] = float32(math.NaN())
				}
				packConvA(threads, ap, vw.m, vw.k, vw.v(w))
				for p := 0; p*convMR < vw.m; p++ {
					for tt := 0; tt < vw.k; tt++ {
						for r := 0; r < convMR; r++ {
							want := float32(0)
							if i := p*convMR + r; i < vw.m {
								want = vw.at(w, i, tt)
							}
							if got := ap[(p*vw.k+tt)*convMR+r]; got != want {
								t.Fatalf("%s co=%d ci=%d taps=%d threads=%d: panel %d t %d row %d = %v, want %v",
									vw.name, co, ci, taps, threads, p, tt, r, got, want)
							}
						}
					}
				}
			}
		}
	}
}

// TestConvFastSampleGroups: batches cut into groups of 1, 2 and 3 samples
// (one parallel region per group) give the reference's results, so the
// (sample, tile) hand-out and the per-group phased copies line up.
func TestConvFastSampleGroups(t *testing.T) {
	defer func(v int) { convGroupFloats = v }(convGroupFloats)
	g := tensor.NewRNG(15)
	cases := []convCase{
		{5, 3, 5, 7, 9, 3, 3, 1, 1, 1, 1},
		{4, 8, 9, 17, 15, 3, 3, 1, 1, 1, 1},
		{5, 8, 7, 8, 8, 3, 3, 2, 2, 1, 1},
		{3, 33, 4, 8, 9, 3, 3, 1, 1, 1, 1},
	}
	for _, group := range []int{1, 2, 3} {
		for _, c := range cases {
			// Both the forward's and backward-data's phased copies hold
			// at most group samples.
			per := max(makePhasedImage(c.ci, c.h, c.w, c.sh, c.sw, c.ph, c.pw, c.h+2*c.ph, c.w+2*c.pw).size(),
				makePhasedImage(c.co, c.h, c.w, 1, 1, c.kh, c.kw, c.h+2*c.kh, c.w+2*c.kw).size())
			convGroupFloats = group * per
			for _, threads := range []int{1, 2, 3} {
				checkConvAgainstRef(t, New(threads), c, g)
			}
		}
	}
}

// TestPhasedImageFillMatchesDefinition checks every element of the phased
// copy, slack included, against its definition (plane (c, a, b) holds
// padded[c][a + sh*r][b + sw*q] at [r][q]) for small images with strides
// 1 to 3, pads 0 to 3 and images narrower than the stride.
func TestPhasedImageFillMatchesDefinition(t *testing.T) {
	// Widths past 16 take the vector stride-2 gather (runs of 8, the last
	// run's source ending at or just before the row's end); stride (1, 2)
	// is the Winograd path's layout.
	withKernels(t, func(t *testing.T) {
		g := tensor.NewRNG(20)
		for _, c := range []int{1, 2} {
			for h := 1; h <= 5; h++ {
				for _, w := range []int{1, 2, 3, 4, 5, 6, 7, 16, 17, 33, 34} {
					for _, st := range [][2]int{{1, 1}, {2, 2}, {3, 3}, {1, 2}} {
						for pad := 0; pad <= 3; pad++ {
							for _, k := range []int{1, 2, 3} {
								checkPhasedFill(t, g, c, h, w, st[0], st[1], pad, k)
							}
						}
					}
				}
			}
		}
	})
}

func checkPhasedFill(t *testing.T, g *tensor.RNG, c, h, w, sh, sw, pad, k int) {
	t.Helper()
	hp, wp := h+2*pad, w+2*pad
	if hp < k || wp < k {
		return
	}
	img := makePhasedImage(c, h, w, sh, sw, pad, pad, hp, wp)
	src := g.Rand(c, h, w).Data
	dst := make([]float32, img.size())
	for i := range dst {
		dst[i] = float32(math.NaN())
	}
	img.fill(dst, src, 0, c)
	want := make([]float32, img.size())
	ps := img.planeSize()
	for ch := 0; ch < c; ch++ {
		for a := 0; a < sh; a++ {
			for b := 0; b < sw; b++ {
				for r := 0; r < img.hg; r++ {
					for q := 0; q < img.g; q++ {
						ih, iw := a+sh*r-pad, b+sw*q-pad
						v := float32(0)
						if ih >= 0 && ih < h && iw >= 0 && iw < w {
							v = src[(ch*h+ih)*w+iw]
						}
						want[((ch*sh+a)*sw+b)*ps+r*img.g+q] = v
					}
				}
			}
		}
	}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("c%d %dx%d stride %dx%d pad %d k %d: element %d = %v, want %v", c, h, w, sh, sw, pad, k, i, dst[i], want[i])
		}
	}
}

// TestConvTransposeSampleGroups: conv-transpose's three passes with the
// batch cut into groups of 1, 2 and 3 samples; 16x16 planes are copied
// with padding (flatPitch) in the forward pass.
func TestConvTransposeSampleGroups(t *testing.T) {
	defer func(v int) { convGroupFloats = v }(convGroupFloats)
	g := tensor.NewRNG(14)
	for _, s := range [][4]int{{20, 7, 4, 8}, {6, 5, 16, 16}} {
		n, ci, co, h, w := 3, s[0], s[1], s[2], s[3]
		x, wt, b := g.Rand(n, ci, h, w), g.Rand(ci, co, 2, 2), g.Rand(co)
		dy := g.Rand(n, co, 2*h, 2*w)
		ref := NewReference()
		y2, dx2, dw2, db2 := tensor.New(n, co, 2*h, 2*w), tensor.New(x.Shape...), tensor.New(wt.Shape...), tensor.New(co)
		must(t, ref.ConvTranspose2d(y2, x, wt, b))
		must(t, ref.ConvTranspose2dBackwardData(dx2, dy, wt))
		must(t, ref.ConvTranspose2dBackwardFilter(dw2, db2, dy, x))
		// One sample's buffer: z, x's padded copy or x2; groups of each.
		for i := 0; i < 9; i++ {
			group, per := i%3+1, [3]int{co * 4 * h * w, ci * flatPitch(h*w), roundUp(ci, dotMR) * flatPitch(2*h*w)}[i/3]
			convGroupFloats = group * per
			y1, dx1, dw1, db1 := tensor.New(y2.Shape...), tensor.New(x.Shape...), tensor.New(wt.Shape...), tensor.New(co)
			tensor.NaNs(y1)
			fast := New(2)
			must(t, fast.ConvTranspose2d(y1, x, wt, b))
			must(t, fast.ConvTranspose2dBackwardData(dx1, dy, wt))
			must(t, fast.ConvTranspose2dBackwardFilter(dw1, db1, dy, x))
			name := fmt.Sprintf("%v group %d of %d floats", s, group, per)
			closeTo(t, name+" fwd", y1, y2, 1e-4)
			closeTo(t, name+" bwd-data", dx1, dx2, 1e-4)
			closeTo(t, name+" bwd-filter", dw1, dw2, 1e-4)
			closeTo(t, name+" bwd-bias", db1, db2, 1e-4)
		}
	}
}

// TestConvTransposeSampleIndependent: a sample's forward and backward-data
// results are bitwise the same alone and at any place in a batch (the
// stitched models run networks on parts of a batch), on short rows too,
// where the last tiles of the batch's last sample must not take another path.
func TestConvTransposeSampleIndependent(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		g := tensor.NewRNG(17)
		for _, s := range [][5]int{{3, 5, 3, 2, 3}, {3, 6, 4, 4, 4}, {3, 20, 7, 3, 12}, {3, 9, 5, 16, 16}} {
			n, ci, co, h, w := s[0], s[1], s[2], s[3], s[4]
			x, wt, b := g.Rand(n, ci, h, w), g.Rand(ci, co, 2, 2), g.Rand(co)
			dy := g.Rand(n, co, 2*h, 2*w)
			be := New(2)
			y, dx := tensor.New(dy.Shape...), tensor.New(x.Shape...)
			must(t, be.ConvTranspose2d(y, x, wt, b))
			must(t, be.ConvTranspose2dBackwardData(dx, dy, wt))
			xs, ys := ci*h*w, co*4*h*w
			for i := 0; i < n; i++ {
				xi, dyi := tensor.New(1, ci, h, w), tensor.New(1, co, 2*h, 2*w)
				copy(xi.Data, x.Data[i*xs:])
				copy(dyi.Data, dy.Data[i*ys:])
				yi, dxi := tensor.New(dyi.Shape...), tensor.New(xi.Shape...)
				must(t, be.ConvTranspose2d(yi, xi, wt, b))
				must(t, be.ConvTranspose2dBackwardData(dxi, dyi, wt))
				sameBits(t, fmt.Sprintf("%v sample %d fwd", s, i), yi.Data, y.Data[i*ys:(i+1)*ys])
				sameBits(t, fmt.Sprintf("%v sample %d bwd-data", s, i), dxi.Data, dx.Data[i*xs:(i+1)*xs])
			}
		}
	})
}

// TestConvTransposeDeterministic: conv-transpose's passes give bitwise the
// same results on 1, 2 and 3 threads, on the 2x2 kernels' tiles (rows of 8
// and 4 pixels, short rows, more taps than convKC) and the general path.
func TestConvTransposeDeterministic(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		g := tensor.NewRNG(16)
		for _, s := range [][6]int{{3, 20, 7, 8, 16, 2}, {2, 13, 6, 4, 12, 2}, {2, 300, 5, 16, 16, 2}, {3, 5, 3, 5, 7, 2}, {2, 6, 4, 5, 6, 3},
			{5, 64, 3, 16, 16, 2}} {
			n, ci, co, h, w, k := s[0], s[1], s[2], s[3], s[4], s[5]
			x, wt, b := g.Rand(n, ci, h, w), g.Rand(ci, co, k, k), g.Rand(co)
			dy := g.Rand(n, co, k*h, k*w)
			run := func(threads int) []float32 {
				be := New(threads)
				y, dx, dw, db := tensor.New(dy.Shape...), tensor.New(x.Shape...), tensor.New(wt.Shape...), tensor.New(co)
				must(t, be.ConvTranspose2d(y, x, wt, b))
				must(t, be.ConvTranspose2dBackwardData(dx, dy, wt))
				must(t, be.ConvTranspose2dBackwardFilter(dw, db, dy, x))
				return append(append(append(y.Data, dx.Data...), dw.Data...), db.Data...)
			}
			first := run(1)
			for _, threads := range []int{2, 3} {
				sameBits(t, fmt.Sprintf("%v threads %d", s, threads), run(threads), first)
			}
		}
	})
}

// TestConvGroupBitwise: the forward and backward-data passes of the 3x3
// convs (direct and Winograd) give the same bits whether a group holds one
// sample or the whole batch (convSampleGroup depends on the thread count).
func TestConvGroupBitwise(t *testing.T) {
	defer func(v int, w bool) { convGroupThreadFloats, winoAlways = v, w }(convGroupThreadFloats, winoAlways)
	g := tensor.NewRNG(16)
	for _, c := range []convCase{
		{5, 16, 16, 20, 24, 3, 3, 1, 1, 1, 1},
		{4, 32, 16, 17, 19, 3, 3, 1, 1, 1, 1},
		{3, 3, 16, 9, 33, 3, 3, 1, 1, 1, 1},
		{4, 8, 12, 15, 15, 3, 3, 2, 2, 1, 1},
	} {
		x, w, bias := g.Rand(c.n, c.ci, c.h, c.w), g.Rand(c.co, c.ci, 3, 3), g.Rand(c.co)
		p := convParams(c)
		ho, wo := (c.h+2*c.ph-3)/c.sh+1, (c.w+2*c.pw-3)/c.sw+1
		dy := g.Rand(c.n, c.co, ho, wo)
		for _, wino := range []bool{false, true} {
			winoAlways = wino
			for _, threads := range []int{1, 2, 3} {
				var first []float32
				for _, floats := range []int{1, 1 << 30} {
					convGroupThreadFloats = floats
					be := New(threads)
					y, dx := tensor.New(c.n, c.co, ho, wo), tensor.New(x.Shape...)
					must(t, be.Conv2d(y, x, w, bias, p))
					must(t, be.Conv2dBackwardData(dx, dy, w, p))
					got := append(y.Data, dx.Data...)
					if first == nil {
						first = got
						continue
					}
					for i := range got {
						if got[i] != first[i] {
							t.Fatalf("%v winograd %v threads %d: element %d is %v with whole-batch groups, %v with groups of one",
								c, wino, threads, i, got[i], first[i])
						}
					}
				}
			}
		}
	}
}

// TestFillPadded: the stride-1 phased copy (fillPadded, copyRows) against
// its definition, on widths around the kernel's runs of 8, borders of 0 to
// 3 (shared and separate right borders, a negative top) and the slack.
func TestFillPadded(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		g := tensor.NewRNG(17)
		for _, w := range []int{1, 5, 7, 8, 9, 15, 16, 17, 24, 33} {
			for _, s := range [][4]int{{1, 1, 2, 2}, {0, 0, 0, 0}, {2, 2, 4, 4}, {1, 2, 2, 5}, {-1, 1, -2, 2}, {3, 0, 3, 1}} {
				top, left, padH, padW := s[0], s[1], s[2], s[3]
				c, h := 3, 4
				img := makePhasedImage(c, h, w, 1, 1, top, left, h+padH, w+padW)
				src := g.Rand(c * h * w).Data
				dst := g.Rand(img.size()).Data // stale values must go
				img.fill(dst, src, 0, c)
				for ch := 0; ch < c; ch++ {
					for r := 0; r < img.hg; r++ {
						for q := 0; q < img.g; q++ {
							want := float32(0)
							if ih, iw := r-top, q-left; ih >= 0 && ih < h && iw >= 0 && iw < w {
								want = src[(ch*h+ih)*w+iw]
							}
							if got := dst[ch*img.planeSize()+r*img.g+q]; got != want {
								t.Fatalf("w %d borders %v: channel %d row %d column %d is %v, want %v", w, s, ch, r, q, got, want)
							}
						}
					}
				}
				for i := c * img.planeSize(); i < img.size(); i++ {
					if dst[i] != 0 {
						t.Fatalf("w %d borders %v: slack %d is %v", w, s, i, dst[i])
					}
				}
			}
		}
	})
}

// TestFillPhases2: the copies with column stride 2 (fillPhases2,
// deinterleaveKernel) against their definition: widths around the runs
// of 8 pairs, borders of 0 to 3 (a negative top), planes wider and
// narrower than the image's columns, the slack.
func TestFillPhases2(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		g := tensor.NewRNG(18)
		for _, w := range []int{1, 2, 7, 8, 15, 16, 17, 18, 31, 32, 33, 40} {
			for _, s := range [][4]int{{1, 1, 2, 2}, {0, 0, 0, 0}, {2, 2, 4, 4}, {1, 2, 3, 5}, {-1, 1, -2, 3}, {3, 0, 3, 1}, {1, 1, 2, -6}, {-3, 0, -4, 0}} {
				for sh := 1; sh <= 2; sh++ {
					checkFillPhases(t, g.Rand(3*5*w).Data, g.Rand(1<<14).Data, 5, w, sh, 2, s)
				}
			}
		}
	})
}

// TestFillPhases4: the copies with column stride 4 (fillPhases4,
// deinterleave4KernelZ and deinterleave4x8KernelZ on the avx512 path)
// against their definition: widths around the runs of 16 and 8 per phase,
// borders of 0 to 3 (a negative top), planes wider and narrower than the
// image's columns, the slack.
func TestFillPhases4(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		g := tensor.NewRNG(19)
		for _, w := range []int{1, 3, 4, 5, 31, 32, 33, 34, 35, 36, 63, 64, 65, 66, 67, 68, 95, 96, 97, 127, 128, 129, 200} {
			for _, s := range [][4]int{{1, 1, 2, 2}, {0, 0, 0, 0}, {2, 2, 4, 4}, {1, 2, 3, 5}, {-1, 1, -2, 3}, {3, 3, 3, 6}, {1, 1, 2, -6}, {-3, 0, -4, 0}} {
				checkFillPhases(t, g.Rand(3*5*w).Data, g.Rand(1<<14).Data, 5, w, 1, 4, s)
			}
		}
	})
}

// checkFillPhases fills src (3, h, w) with row stride sh, column stride sw
// and borders s (top, left, extra rows, extra columns) over stale, and
// checks every plane element and the slack.
func checkFillPhases(t *testing.T, src, stale []float32, h, w, sh, sw int, s [4]int) {
	top, left, padH, padW := s[0], s[1], s[2], s[3]
	c := 3
	if w+padW < 1 || h+padH < 1 {
		return
	}
	img := makePhasedImage(c, h, w, sh, sw, top, left, h+padH, w+padW)
	dst := stale[:img.size()]
	img.fill(dst, src, 0, c)
	for ch := 0; ch < c; ch++ {
		for a := 0; a < sh; a++ {
			for b := 0; b < sw; b++ {
				plane := dst[((ch*sh+a)*sw+b)*img.planeSize():][:img.planeSize()]
				for r := 0; r < img.hg; r++ {
					for q := 0; q < img.g; q++ {
						want := float32(0)
						if ih, iw := a+sh*r-top, b+sw*q-left; ih >= 0 && ih < h && iw >= 0 && iw < w {
							want = src[(ch*h+ih)*w+iw]
						}
						if got := plane[r*img.g+q]; got != want {
							t.Fatalf("w %d sh %d borders %v: channel %d phase (%d, %d) row %d column %d is %v, want %v",
								w, sh, s, ch, a, b, r, q, got, want)
						}
					}
				}
			}
		}
	}
	for i := sw * sh * c * img.planeSize(); i < img.size(); i++ {
		if dst[i] != 0 {
			t.Fatalf("w %d sh %d borders %v: slack %d is %v", w, sh, s, i, dst[i])
		}
	}
}

// TestPointwiseWide: the 1x1 strips through the AVX-512 12x32 kernel give
// the bits of the 6x16 kernel alone (both sum each output over k in order),
// forward with a bias and backward-data adding into a random dx, at channel
// counts around the kernels' 6 and 12 rows and the groups' strip pairs, and
// planes around the 16 and 32 columns of the strips.
func TestPointwiseWide(t *testing.T) {
	if !avx512Available || !useAVX512 || !useAsm {
		t.Skip("no AVX-512 on this CPU: the 12x32 strips do not run")
	}
	defer func(z bool) { pointwiseZ = z }(pointwiseZ)
	g := tensor.NewRNG(41)
	for _, m := range []int{1, 6, 7, 12, 13, 24} {
		for _, k := range []int{1, 5, 32, 90, 200} {
			for _, p := range []int{15, 32, 33, 64, 200} {
				n := 1 + p%3
				w, bias := randSlice(g, m*k), randSlice(g, m)
				in, out0 := randSlice(g, n*k*p), randSlice(g, n*m*p)
				dy, dx0 := randSlice(g, n*m*p), randSlice(g, n*k*p)
				run := func(wide bool) (y, dx []float32) {
					pointwiseZ = wide
					be := New(2)
					y, dx = append([]float32(nil), out0...), append([]float32(nil), dx0...)
					be.pointwise(y, in, w, bias, n, m, k, p, false, false)
					be.pointwise(dx, dy, w, nil, n, k, m, p, true, true)
					return y, dx
				}
				yz, dxz := run(true)
				y, dx := run(false)
				what := fmt.Sprintf("m %d k %d p %d n %d", m, k, p, n)
				sameBits(t, what+" forward", yz, y)
				sameBits(t, what+" backward-data", dxz, dx)
			}
		}
	}
}

// TestConvTranspose2x2Wide: the 2x2 conv-transpose's 16-lane kernels
// (forward, backward-data) give the bits of the 8-lane ones: forward with a
// bias, backward-data adding into a random dx, at widths around the
// segments (8 and 16 pixels forward, 4 and 8 backward-data; narrower rows
// keep the 8-lane kernels) and their tiles of 3, channel counts around the
// 4-row panels, and taps past one pass of convKC.
func TestConvTranspose2x2Wide(t *testing.T) {
	if !avx512Available || !useAVX512 || !useAsm {
		t.Skip("no AVX-512 on this CPU: the 16-lane conv-transpose kernels do not run")
	}
	defer func(z bool) { t2Z = z }(t2Z)
	g := tensor.NewRNG(43)
	for _, c := range []struct{ n, ci, co, h, w int }{
		{1, 4, 4, 2, 16}, {2, 5, 3, 3, 7}, {1, 8, 6, 4, 24}, {3, 7, 9, 5, 17},
		{2, 16, 8, 6, 33}, {1, 12, 5, 2, 48}, {1, 330, 6, 2, 9}, {1, 330, 6, 2, 17}, {2, 9, 170, 3, 12},
	} {
		x, w := g.Rand(c.n, c.ci, c.h, c.w), g.Rand(c.ci, c.co, 2, 2)
		bias, dy := g.Rand(c.co), g.Rand(c.n, c.co, 2*c.h, 2*c.w)
		dx0 := g.Rand(x.Shape...)
		run := func(wide bool) (y, dx *tensor.Tensor) {
			t2Z = wide
			be := New(2)
			y, dx = tensor.New(c.n, c.co, 2*c.h, 2*c.w), dx0.Clone()
			must(t, be.ConvTranspose2d(y, x, w, bias))
			must(t, be.ConvTranspose2dBackwardData(dx, dy, w))
			return y, dx
		}
		yz, dxz := run(true)
		y, dx := run(false)
		what := fmt.Sprintf("%+v", c)
		sameBits(t, what+" forward", yz.Data, y.Data)
		sameBits(t, what+" backward-data", dxz.Data, dx.Data)
	}
}

// TestFMA32: fma32 against x*y+z computed exactly (math/big) and rounded
// once, on random operands and on sums that cancel or sit near a tie.
func TestFMA32(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	exact := func(x, y, z float32) float32 {
		v := new(big.Float).SetPrec(200).SetFloat64(float64(x))
		v.Mul(v, new(big.Float).SetPrec(200).SetFloat64(float64(y)))
		v.Add(v, new(big.Float).SetPrec(200).SetFloat64(float64(z)))
		f, _ := v.Float32()
		return f
	}
	// Double rounding's trap: x*y is 2^-24 (1 - 2^-46), half a unit of z's
	// last place less 2^-70; in float64 the sum rounds to the midpoint
	// between two float32s, which ties to the even one, away from the
	// exact sum. Scaled by powers of 2 and with either sign.
	for e := -20; e <= 20; e += 5 {
		for _, sign := range []float32{1, -1} {
			sc := float32(math.Exp2(float64(e)))
			x, y := float32(1+0x1p-23), float32((1-0x1p-23)*0x1p-24)*sc*sign
			z := float32(1+0x1p-23) * sc * sign
			if got, want := fma32(x, y, z), exact(x, y, z); math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("fma32(%g, %g, %g) = %g, want %g", x, y, z, got, want)
			}
		}
	}
	for i := 0; i < 200000; i++ {
		x := float32(r.NormFloat64())
		y := float32(r.NormFloat64() * math.Exp2(float64(r.IntN(40)-20)))
		var z float32
		switch i % 4 {
		case 0:
			z = float32(r.NormFloat64())
		case 1:
			z = -x * y // cancels
		case 2:
			// z a tiny distance from -x*y's float32 neighbours: the exact
			// sum sits near the boundaries of float32 rounding.
			z = math.Nextafter32(-x*y, 0) * float32(1+r.IntN(3))
		default:
			z = float32(r.NormFloat64() * math.Exp2(float64(r.IntN(60)-30)))
		}
		if got, want := fma32(x, y, z), exact(x, y, z); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("fma32(%g, %g, %g) = %g, want %g", x, y, z, got, want)
		}
	}
}
