package cpu

import (
	"fmt"
	"math"
	"testing"

	"suture/tensor"
)

// TestSoftmaxLossMatchesReference: the fast softmax and softmax+CE give the
// reference's probabilities bit for bit and its loss to rounding, at plane
// sizes around the 4096-pixel blocks, and the same loss (bit for bit) for
// any thread count.
func TestSoftmaxLossMatchesReference(t *testing.T) {
	g := tensor.NewRNG(31)
	for _, c := range []struct{ n, k, s int }{{1, 2, 1}, {3, 2, 4095}, {2, 3, 4096}, {1, 2, 4097}, {2, 4, 9000}} {
		name := fmt.Sprintf("%+v", c)
		x := g.Rand(c.n * c.k * c.s).Data
		for i := range x {
			x[i] *= 8
		}
		tg := make([]float32, c.n*c.s)
		for i := range tg {
			tg[i] = float32(i * 7 % c.k)
		}
		want := make([]float32, len(x))
		ref := crossEntropyRef(want, x, tg, c.n, c.k, c.s)
		var first float64
		for _, threads := range []int{1, 2, 3} {
			p := make([]float32, len(x))
			loss := New(threads).softmaxLoss(p, x, tg, c.n, c.k, c.s)
			for i := range p {
				if p[i] != want[i] {
					t.Fatalf("%s threads %d: p[%d] = %g, reference %g", name, threads, i, p[i], want[i])
				}
			}
			if math.Abs(loss-ref) > 1e-12*math.Max(1, math.Abs(ref)) {
				t.Errorf("%s threads %d: loss %.17g, reference %.17g", name, threads, loss, ref)
			}
			if threads == 1 {
				first = loss
			} else if loss != first {
				t.Errorf("%s: loss %.17g with %d threads, %.17g with 1", name, loss, threads, first)
			}
			sm := make([]float32, len(x))
			New(threads).softmaxLoss(sm, x, nil, c.n, c.k, c.s)
			for i := range sm {
				if sm[i] != want[i] {
					t.Fatalf("%s threads %d: softmax p[%d] = %g, reference %g", name, threads, i, sm[i], want[i])
				}
			}
		}
	}
}

// TestSoftmaxSpecialLogits: ties, infinities and NaNs give the reference's
// probabilities bit for bit (NaN where it has NaN).
func TestSoftmaxSpecialLogits(t *testing.T) {
	inf, nan, negZero := float32(math.Inf(1)), float32(math.NaN()), float32(math.Copysign(0, -1))
	vals := []float32{0, negZero, 1, -1, 3.5, 88, -88, 1e30, -1e30, inf, -inf, nan}
	// Every pair of special values as a pixel's first two logits; k = 3
	// adds a third of 0.
	for _, k := range []int{2, 3} {
		s := len(vals) * len(vals)
		x := make([]float32, k*s)
		for a, va := range vals {
			for b, vb := range vals {
				px := a*len(vals) + b
				x[px], x[s+px] = va, vb
			}
		}
		want := make([]float32, len(x))
		softmaxRef(want, x, 1, k, s)
		got := make([]float32, len(x))
		New(2).softmaxLoss(got, x, nil, 1, k, s)
		for i := range got {
			same := math.Float32bits(got[i]) == math.Float32bits(want[i]) || (got[i] != got[i] && want[i] != want[i])
			if !same {
				t.Fatalf("k %d: p[%d] = %g, reference %g (logits %g, %g)", k, i, got[i], want[i], x[i%s], x[s+i%s])
			}
		}
	}
}
