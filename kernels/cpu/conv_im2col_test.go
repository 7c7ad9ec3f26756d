package cpu

import (
	"fmt"
	"testing"

	"suture/kernels"
	"suture/tensor"
)

// im2colCases sit around the blocking of the strided forward pass
// (conv_im2col.go): Ho*Wo below, at and past a multiple of the 256-pixel
// block, blocks that end mid-row, odd widths (the last tap past the image
// or not), Ci*9 not a multiple of the 6-row panels and past one 256-deep
// slice of the sum (ci 30), channel counts off the tiles, a 1-pixel-wide
// image, rows wider than a block (wo 301, 260: the weight gradient's sum
// over a block takes two slices, the second not a multiple of 8), batches
// 1 and 3, the assembly deinterleave (w = 2*wo, wo a multiple of 8) with
// taller kernels and row strides, and other kernels and strides.
func im2colCases() []convCase {
	return []convCase{
		{1, 16, 32, 64, 64, 3, 3, 2, 2, 1, 1},
		{3, 7, 9, 40, 41, 3, 3, 2, 2, 1, 1},
		{1, 13, 6, 17, 15, 3, 3, 2, 2, 1, 1},
		{3, 30, 13, 33, 35, 3, 3, 2, 2, 1, 1},
		{1, 3, 40, 9, 9, 3, 3, 2, 2, 1, 1},
		{3, 5, 7, 5, 1, 3, 3, 2, 2, 1, 1},
		{2, 4, 4, 2, 2, 3, 3, 2, 2, 1, 1},
		{2, 6, 5, 32, 32, 3, 3, 2, 2, 1, 1},
		{1, 5, 4, 33, 64, 3, 3, 2, 2, 1, 1},
		{3, 3, 7, 9, 16, 3, 3, 2, 2, 1, 1},
		{1, 4, 3, 7, 48, 3, 3, 2, 2, 1, 1},
		{1, 9, 6, 19, 23, 5, 3, 2, 2, 2, 1},
		{3, 5, 8, 17, 18, 2, 2, 2, 2, 0, 0},
		{1, 6, 5, 20, 22, 3, 3, 3, 3, 1, 1},
		{1, 10, 7, 15, 13, 3, 3, 2, 1, 1, 1},
		{2, 64, 70, 16, 16, 3, 3, 2, 2, 1, 1},
		{1, 4, 5, 12, 16, 5, 3, 2, 2, 2, 1},
		{1, 3, 4, 14, 32, 3, 3, 3, 2, 1, 1},
		{1, 2, 5, 3, 601, 3, 3, 2, 2, 1, 1},
		{2, 40, 3, 5, 520, 3, 3, 2, 2, 1, 1},
	}
}

// TestConvForwardStridedMatchesReference: gemm+im2col against the
// reference, every micro-kernel set, FP32 and BF16, 1 to 3 goroutines, and
// bitwise the same y for every thread count.
func TestConvForwardStridedMatchesReference(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		g := tensor.NewRNG(23)
		ref := NewReference()
		for _, c := range im2colCases() {
			p := kernels.ConvParams{StrideH: c.sh, StrideW: c.sw, PadH: c.ph, PadW: c.pw}
			x, w, bias := g.Rand(c.n, c.ci, c.h, c.w), g.Rand(c.co, c.ci, c.kh, c.kw), g.Rand(c.co)
			if a := forwardAlgo(makeConvDims(x.Shape, w.Shape, p)); a != algoGemmIm2col {
				t.Fatalf("%v: forward takes %v", c, a)
			}
			ys, err := kernels.Conv2dOutShape(x.Shape, w.Shape, p)
			must(t, err)
			want := tensor.New(ys...)
			must(t, ref.Conv2d(want, x, w, bias, p))
			for _, bf16 := range []bool{false, true} {
				if bf16 && (CurrentISA() != ISAAVX512 || !HasBF16()) {
					continue
				}
				tol := 1e-5 * float64(c.ci*c.kh*c.kw)
				if bf16 {
					tol = 4e-3 * float64(c.ci*c.kh*c.kw)
				}
				var first []float32
				for _, threads := range []int{1, 2, 3} {
					be := New(threads)
					must(t, be.SetBF16(bf16))
					y := g.Rand(ys...) // overwritten
					must(t, be.Conv2d(y, x, w, bias, p))
					closeTo(t, fmt.Sprintf("%v bf16 %v threads %d", c, bf16, threads), y, want, tol)
					if first == nil {
						first = y.Data
						continue
					}
					sameBits(t, fmt.Sprintf("%v bf16 %v: threads %d against 1", c, bf16, threads), y.Data, first)
				}
			}
		}
	})
}

// BenchmarkConv3x3s2ForwardOldNew: the direct forward (old) against
// gemm+im2col (new), alternating in one process, on the U-Net's stride-2
// layers (small net 16-32-64-128 at 64 px, full net at 128 px), batch 8.
func BenchmarkConv3x3s2ForwardOldNew(b *testing.B) {
	shapes := [][4]int{{16, 32, 64, 64}, {32, 64, 32, 32}, {64, 128, 16, 16},
		{32, 64, 128, 128}, {64, 128, 64, 64}, {128, 256, 32, 32}, {256, 320, 16, 16}}
	for _, s := range shapes {
		n, ci, co, h, w := 8, s[0], s[1], s[2], s[3]
		g := tensor.NewRNG(8)
		p := kernels.Conv(2, 1)
		x, wt, bias := g.Rand(n, ci, h, w), g.Rand(co, ci, 3, 3), g.Rand(co)
		y := tensor.New(n, co, h/2, w/2)
		flops := 2 * 9 * float64(n*ci*co*(h/2)*(w/2))
		for _, bf16 := range []bool{false, true} {
			if bf16 && (CurrentISA() != ISAAVX512 || !HasBF16()) {
				continue
			}
			be := New(0)
			if err := be.SetBF16(bf16); err != nil {
				b.Fatal(err)
			}
			name := fmt.Sprintf("%dx%dx%dx%d", ci, co, h, w)
			if bf16 {
				name += "/bf16"
			}
			for _, v := range []struct {
				name string
				on   bool
				pf   bool
			}{{"old", false, true}, {"new", true, true}, {"newnopf", true, false}} {
				b.Run(name+"/"+v.name, func(b *testing.B) {
					useIm2col, im2colPrefetch = v.on, v.pf
					defer func() { useIm2col, im2colPrefetch = true, true }()
					loop(b, flops, func() {
						if err := be.Conv2d(y, x, wt, bias, p); err != nil {
							b.Fatal(err)
						}
					})
				})
			}
		}
	}
}

// TestConvBackwardFilterSmallPlanes: stride-1 weight gradients that
// im2colFilterS1 sends to gemm+im2col (planes of at most 64 outputs, at
// least 256x256 channel pairs) against the reference, FP32 and BF16, 1 to
// 3 goroutines, the same bits for every thread count.
func TestConvBackwardFilterSmallPlanes(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		if CurrentISA() == ISARef {
			return
		}
		g := tensor.NewRNG(30)
		ref := NewReference()
		for _, c := range []convCase{
			{2, 256, 256, 8, 8, 3, 3, 1, 1, 1, 1},
			{3, 300, 260, 4, 5, 3, 3, 1, 1, 1, 1},
			{1, 512, 128, 2, 2, 3, 3, 1, 1, 1, 1},
			{2, 256, 257, 7, 9, 3, 3, 1, 1, 0, 0},
		} {
			checkIm2colFilter(t, g, ref, c)
		}
	})
}

// TestConvBackwardFilterStridedMatchesReference: gemm+im2col's weight
// gradient (accumulated onto random dw, db) against the reference, every
// micro-kernel set, FP32 and BF16, 1 to 3 goroutines, and bitwise the same
// dw for every thread count.
func TestConvBackwardFilterStridedMatchesReference(t *testing.T) {
	defer func(c int) { im2colFilterMinCo = c }(im2colFilterMinCo)
	im2colFilterMinCo = 0
	withKernels(t, func(t *testing.T) {
		g := tensor.NewRNG(29)
		ref := NewReference()
		for _, c := range im2colCases() {
			checkIm2colFilter(t, g, ref, c)
		}
	})
}

// checkIm2colFilter runs the weight gradient of c, which must take
// gemm+im2col, accumulated onto random dw, db, against the reference, FP32
// and BF16 (where the path has it), 1 to 3 goroutines, and checks that dw
// has the same bits for every thread count.
func checkIm2colFilter(t *testing.T, g *tensor.RNG, ref *Backend, c convCase) {
	t.Helper()
	p := convParams(c)
	x, w := g.Rand(c.n, c.ci, c.h, c.w), tensor.New(c.co, c.ci, c.kh, c.kw)
	if a := backwardFilterAlgo(makeConvDims(x.Shape, w.Shape, p), false); a != algoGemmIm2col {
		t.Fatalf("%v: backward-filter takes %v", c, a)
	}
	ys, err := kernels.Conv2dOutShape(x.Shape, w.Shape, p)
	must(t, err)
	dy, dw0, db0 := g.Rand(ys...), g.Rand(w.Shape...), g.Rand(c.co)
	want, wantB := dw0.Clone(), db0.Clone()
	must(t, ref.Conv2dBackwardFilter(want, wantB, dy, x, p))
	for _, bf16 := range []bool{false, true} {
		if bf16 && (CurrentISA() != ISAAVX512 || !HasBF16()) {
			continue
		}
		tol := 1e-5 * float64(c.n*ys[2]*ys[3])
		if bf16 {
			tol = 4e-3 * float64(c.n*ys[2]*ys[3])
		}
		var first []float32
		for _, threads := range []int{1, 2, 3} {
			be := New(threads)
			must(t, be.SetBF16(bf16))
			dw, db := dw0.Clone(), db0.Clone()
			must(t, be.Conv2dBackwardFilter(dw, db, dy, x, p))
			name := fmt.Sprintf("%v bf16 %v threads %d", c, bf16, threads)
			closeTo(t, name, dw, want, tol)
			closeTo(t, name+" db", db, wantB, tol)
			if first == nil {
				first = dw.Data
				continue
			}
			sameBits(t, fmt.Sprintf("%v bf16 %v: threads %d against 1", c, bf16, threads), dw.Data, first)
		}
	}
}

// BenchmarkConv3x3s2FilterOldNew: the direct weight gradient (old)
// against gemm+im2col (new), alternating in one process, on the U-Net's
// stride-2 layers, batch 8.
func BenchmarkConv3x3s2FilterOldNew(b *testing.B) {
	shapes := [][4]int{{16, 32, 64, 64}, {32, 64, 32, 32}, {64, 128, 16, 16},
		{32, 64, 128, 128}, {64, 128, 64, 64}, {128, 256, 32, 32}, {256, 320, 16, 16}}
	for _, s := range shapes {
		n, ci, co, h, w := 8, s[0], s[1], s[2], s[3]
		g := tensor.NewRNG(8)
		p := kernels.Conv(2, 1)
		x, dy := g.Rand(n, ci, h, w), g.Rand(n, co, h/2, w/2)
		dw, db := tensor.New(co, ci, 3, 3), tensor.New(co)
		flops := 2 * 9 * float64(n*ci*co*(h/2)*(w/2))
		for _, bf16 := range []bool{false, true} {
			if bf16 && (CurrentISA() != ISAAVX512 || !HasBF16()) {
				continue
			}
			be := New(0)
			if err := be.SetBF16(bf16); err != nil {
				b.Fatal(err)
			}
			name := fmt.Sprintf("%dx%dx%dx%d", ci, co, h, w)
			if bf16 {
				name += "/bf16"
			}
			for _, v := range []struct {
				name string
				on   bool
				pf   bool
			}{{"old", false, true}, {"new", true, true}, {"newnopf", true, false}} {
				b.Run(name+"/"+v.name, func(b *testing.B) {
					useIm2colFilter, im2colPrefetch, im2colFilterMinCo = v.on, v.pf, 0
					defer func() { useIm2colFilter, im2colPrefetch, im2colFilterMinCo = true, true, 48 }()
					loop(b, flops, func() {
						if err := be.Conv2dBackwardFilter(dw, db, dy, x, p); err != nil {
							b.Fatal(err)
						}
					})
				})
			}
		}
	}
}
