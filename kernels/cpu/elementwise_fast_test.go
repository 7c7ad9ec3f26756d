package cpu

import (
	"fmt"
	"testing"

	"suture/tensor"
)

// TestLeakyReLUFastMatchesReference: lengths around the parallel cutoff and
// the 16-float part unit, in place and not, 1 to 3 goroutines.
func TestLeakyReLUFastMatchesReference(t *testing.T) {
	g := tensor.NewRNG(16)
	ref := NewReference()
	for _, threads := range []int{1, 2, 3} {
		fast := New(threads)
		for _, n := range []int{1, 15, 17, minParallel - 1, minParallel, 2*minParallel + 17} {
			name := fmt.Sprintf("n %d threads %d", n, threads)
			x := g.Rand(n)
			y1, y2 := tensor.New(n), tensor.New(n)
			tensor.NaNs(y1)
			must(t, fast.LeakyReLU(y1, x, 0.01))
			must(t, ref.LeakyReLU(y2, x, 0.01))
			closeTo(t, name+" fwd", y1, y2, 0)
			inPlace := x.Clone()
			must(t, fast.LeakyReLU(inPlace, inPlace, 0.01))
			closeTo(t, name+" fwd in place", inPlace, y2, 0)
			dy := g.Rand(n)
			dx1 := g.Rand(n)
			dx2 := dx1.Clone()
			must(t, fast.LeakyReLUBackward(dx1, dy, y2, 0.01))
			must(t, ref.LeakyReLUBackward(dx2, dy, y2, 0.01))
			closeTo(t, name+" bwd", dx1, dx2, 0)
		}
	}
}
