package cpu

import (
	"fmt"
	"testing"

	"suture/kernels"
	"suture/tensor"
)

// col2imCases sit around the blocking of the strided backward-data
// (conv_col2im.go): output heights not a multiple of the row block, one
// and several channel groups (ci 70 at 17 wide needs two), Ci*9 not a
// multiple of the 6-row A panel, sums past one GEMM slice (co 260), rows
// of the stride-2 vector kernel with and without a tail (wo 20, 21) and
// ending the row (wo 8, 16, 24 with even widths; not with odd ones), a 1-pixel-wide image, batches 1 and 3, and the generic
// col2im of other kernels and strides.
func col2imCases() []convCase {
	return []convCase{
		{1, 16, 32, 66, 66, 3, 3, 2, 2, 1, 1},
		{3, 7, 9, 40, 41, 3, 3, 2, 2, 1, 1},
		{1, 13, 6, 17, 15, 3, 3, 2, 2, 1, 1},
		{1, 70, 5, 34, 34, 3, 3, 2, 2, 1, 1},
		{3, 71, 4, 33, 35, 3, 3, 2, 2, 1, 1},
		{1, 3, 260, 9, 9, 3, 3, 2, 2, 1, 1},
		{3, 5, 7, 5, 1, 3, 3, 2, 2, 1, 1},
		{2, 4, 4, 2, 2, 3, 3, 2, 2, 1, 1},
		{2, 6, 5, 16, 32, 3, 3, 2, 2, 1, 1},
		{1, 5, 4, 10, 31, 3, 3, 2, 2, 1, 1},
		{3, 3, 7, 9, 16, 3, 3, 2, 2, 1, 1},
		{1, 4, 3, 7, 48, 3, 3, 2, 2, 1, 1},
		{1, 9, 6, 19, 23, 5, 3, 2, 2, 2, 1},
		{3, 5, 8, 17, 18, 2, 2, 2, 2, 0, 0},
		{1, 6, 5, 20, 22, 3, 3, 3, 3, 1, 1},
		{1, 10, 7, 15, 13, 3, 3, 2, 1, 1, 1},
	}
}

// TestConvBackwardDataStridedMatchesReference: the blocked GEMM + col2im
// against the reference, every micro-kernel set, 1 to 3 goroutines, and
// bitwise the same dx for every thread count.
func TestConvBackwardDataStridedMatchesReference(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		g := tensor.NewRNG(21)
		ref := NewReference()
		for _, c := range col2imCases() {
			p := kernels.ConvParams{StrideH: c.sh, StrideW: c.sw, PadH: c.ph, PadW: c.pw}
			w := g.Rand(c.co, c.ci, c.kh, c.kw)
			ys, err := kernels.Conv2dOutShape(tensor.Shape{c.n, c.ci, c.h, c.w}, w.Shape, p)
			must(t, err)
			if a := backwardDataAlgo(makeConvDims(tensor.Shape{c.n, c.ci, c.h, c.w}, w.Shape, p)); a != algoGemmCol2im {
				t.Fatalf("%v: backward-data takes %v", c, a)
			}
			dy, dx0 := g.Rand(ys...), g.Rand(c.n, c.ci, c.h, c.w)
			want := dx0.Clone()
			must(t, ref.Conv2dBackwardData(want, dy, w, p))
			for _, bf16 := range []bool{false, true} {
				if bf16 && (CurrentISA() != ISAAVX512 || !HasBF16()) {
					continue
				}
				// bf16: each product within 2*2^-9 of |w*dy| <= 1.
				tol := 1e-5 * float64(c.co*c.kh*c.kw)
				if bf16 {
					tol = 4e-3 * float64(c.co*c.kh*c.kw)
				}
				var first []float32
				for _, threads := range []int{1, 2, 3} {
					be := New(threads)
					must(t, be.SetBF16(bf16))
					dx := dx0.Clone()
					must(t, be.Conv2dBackwardData(dx, dy, w, p))
					closeTo(t, fmt.Sprintf("%v bf16 %v threads %d", c, bf16, threads), dx, want, tol)
					if first == nil {
						first = dx.Data
						continue
					}
					sameBits(t, fmt.Sprintf("%v bf16 %v: threads %d against 1", c, bf16, threads), dx.Data, first)
				}
			}
		}
	})
}

// TestCol2imBlocking: the channel groups fit the col budget and share out
// evenly over the threads for the U-Net's stride-2 layers.
func TestCol2imBlocking(t *testing.T) {
	for _, s := range [][4]int{{16, 32, 64, 64}, {32, 64, 128, 128}, {256, 320, 16, 16}, {70, 5, 34, 34}} {
		for _, n := range []int{1, 3, 8} {
			for _, threads := range []int{1, 2, 3} {
				d := makeConvDims(tensor.Shape{n, s[0], s[2], s[3]}, tensor.Shape{s[1], s[0], 3, 3}, kernels.Conv(2, 1))
				j := col2imJob{d: d}
				j.blocking(threads)
				if j.maxChans*9*j.rows*d.wo > max(col2imBudget, j.unit*9*j.rows*d.wo) {
					t.Errorf("%v n%d threads %d: block of %d chans x %d rows past the budget", s, n, threads, j.maxChans, j.rows)
				}
				if u := n * j.groups; u%threads != 0 && u < 4*threads && j.groups < (s[0]+1)/2 {
					t.Errorf("%v n%d threads %d: %d units", s, n, threads, u)
				}
			}
		}
	}
}
