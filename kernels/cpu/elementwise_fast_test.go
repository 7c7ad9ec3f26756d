package cpu

import (
	"fmt"
	"math"
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

// TestElementwiseFastMatchesReference: add, scale, axpy, the MSE gradient
// (with either gradient nil) and both optimizer updates, on lengths around
// the parallel cutoff; every element runs the reference's own code, so the
// results must be identical.
func TestElementwiseFastMatchesReference(t *testing.T) {
	withKernels(t, testElementwiseFast)
}

// testElementwiseFast: lengths around the 8-float vector runs and the
// parallel cutoff (fused multiply-adds in axpy and the MSE gradient differ
// from the reference by rounding only).
func testElementwiseFast(t *testing.T) {
	g := tensor.NewRNG(17)
	ref := NewReference()
	for _, threads := range []int{2, 3} {
		fast := New(threads)
		for _, n := range []int{7, 8, 9, 16, 23, minParallel - 1, 2*minParallel + 17} {
			name := fmt.Sprintf("n %d threads %d", n, threads)
			a, bb := g.Rand(n), g.Rand(n)
			y1, y2 := tensor.New(n), tensor.New(n)
			must(t, fast.Add(y1, a, bb))
			must(t, ref.Add(y2, a, bb))
			closeTo(t, name+" add", y1, y2, 0)
			must(t, fast.Scale(y1, a, 0.3))
			must(t, ref.Scale(y2, a, 0.3))
			closeTo(t, name+" scale", y1, y2, 0)
			must(t, fast.Axpy(y1, bb, -1.5))
			must(t, ref.Axpy(y2, bb, -1.5))
			closeTo(t, name+" axpy", y1, y2, 0)
			for _, grads := range [][2]bool{{true, true}, {true, false}, {false, true}} {
				da1, db1 := g.Rand(n), g.Rand(n)
				da2, db2 := da1.Clone(), db1.Clone()
				pick := func(x *tensor.Tensor, on bool) *tensor.Tensor {
					if on {
						return x
					}
					return nil
				}
				must(t, fast.MSEBackward(pick(da1, grads[0]), pick(db1, grads[1]), a, bb, 0.7))
				must(t, ref.MSEBackward(pick(da2, grads[0]), pick(db2, grads[1]), a, bb, 0.7))
				closeTo(t, name+" mse da", da1, da2, 0)
				closeTo(t, name+" mse db", db1, db2, 0)
			}
			w1, v1, gr := g.Rand(n), g.Rand(n), g.Rand(n)
			w2, v2 := w1.Clone(), v1.Clone()
			must(t, fast.SGDNesterov(w1, v1, gr, 0.01, 0.9, 3e-5))
			must(t, ref.SGDNesterov(w2, v2, gr, 0.01, 0.9, 3e-5))
			closeTo(t, name+" sgd w", w1, w2, 0)
			closeTo(t, name+" sgd v", v1, v2, 0)
			m1, m2 := g.Rand(n), tensor.New(n)
			copy(m2.Data, m1.Data)
			v3 := tensor.New(n)
			g.Uniform(v3, 0, 1)
			v4 := v3.Clone()
			must(t, fast.AdamW(w1, m1, v3, gr, 1e-3, 0.9, 0.999, 1e-8, 0.01, 3))
			must(t, ref.AdamW(w2, m2, v4, gr, 1e-3, 0.9, 0.999, 1e-8, 0.01, 3))
			closeTo(t, name+" adamw w", w1, w2, 0)
			closeTo(t, name+" adamw m", m1, m2, 0)
			closeTo(t, name+" adamw v", v3, v4, 0)
		}
	}
}

// TestLeakyReLUKernelsMatchReference: the assembly leaky ReLU (and the Go
// tail after it) against the reference at every length 0..41, on inputs
// with exact +0 and -0 mixed in, with the assembly on and off; bitwise.
func TestLeakyReLUKernelsMatchReference(t *testing.T) {
	g := tensor.NewRNG(18)
	for _, asm := range []bool{false, true} {
		if asm && !asmAvailable {
			continue
		}
		prev := useAsm
		useAsm = asm
		for n := 0; n <= 41; n++ {
			x, y := g.Rand(n).Data, g.Rand(n).Data
			for i := 0; i < n; i += 5 {
				x[i], y[i] = 0, 0
			}
			for i := 2; i < n; i += 7 {
				x[i], y[i] = float32(math.Copysign(0, -1)), float32(math.Copysign(0, -1))
			}
			got, want := make([]float32, n), make([]float32, n)
			leakyReLUFast(got, x, 0.01)
			leakyReLURef(want, x, 0.01)
			sameBits(t, fmt.Sprintf("asm %v n %d forward", asm, n), got, want)
			dy := g.Rand(n).Data
			got, want = g.Rand(n).Data, make([]float32, n)
			copy(want, got)
			leakyReLUBackwardFast(got, dy, y, 0.01)
			leakyReLUBackwardRef(want, dy, y, 0.01)
			sameBits(t, fmt.Sprintf("asm %v n %d backward", asm, n), got, want)
		}
		useAsm = prev
	}
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d is %g (%#x), reference %g (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// TestFillZeroKeepsSign: Fill with -0 must write -0 (the memclr shortcut is
// for +0 only).
func TestFillZeroKeepsSign(t *testing.T) {
	for _, v := range []float32{0, float32(math.Copysign(0, -1)), 1.5} {
		y := tensor.NewRNG(19).Rand(2*minParallel + 3)
		must(t, New(2).Fill(y, v))
		for i, got := range y.Data {
			if math.Float32bits(got) != math.Float32bits(v) {
				t.Fatalf("fill %g: element %d is %g", v, i, got)
			}
		}
	}
}

// TestMSEFastMatchesReferenceForAnyThreadCount: lengths around the 8192-float
// block and the parallel cutoff; the value is within float64 rounding of the
// reference loop and bitwise the same for 1 to 3 goroutines.
func TestMSEFastMatchesReferenceForAnyThreadCount(t *testing.T) {
	g := tensor.NewRNG(17)
	ref := NewReference()
	for _, n := range []int{1, 3, 5, mseBlock - 1, mseBlock, mseBlock + 1, minParallel - 1, minParallel, 2*minParallel + 17, 9*mseBlock + 5} {
		a, b := g.Rand(n), g.Rand(n)
		want, err := ref.MSE(a, b)
		must(t, err)
		var first float64
		for threads := 1; threads <= 3; threads++ {
			got, err := New(threads).MSE(a, b)
			must(t, err)
			if math.Abs(got-want) > 1e-12*want {
				t.Fatalf("n %d threads %d: mse %v, reference %v", n, threads, got, want)
			}
			if threads == 1 {
				first = got
			} else if got != first {
				t.Fatalf("n %d: mse %v with %d threads, %v with 1", n, got, threads, first)
			}
		}
	}
}

// TestConcatFastMatchesReference: two to four parts of uneven channel counts,
// planes small and large enough to go parallel, 1 to 3 goroutines; forward
// bitwise, backward accumulating into random gradients bitwise.
func TestConcatFastMatchesReference(t *testing.T) {
	g := tensor.NewRNG(18)
	ref := NewReference()
	cases := []struct {
		n, s int
		cs   []int
	}{
		{1, 1, []int{1, 1}}, {2, 5, []int{3, 1, 2}}, {3, 64, []int{32, 32}},
		{2, 1024, []int{17, 5, 9, 1}}, {4, 4096, []int{16, 16}}, {1, 16384, []int{3, 2}},
	}
	for _, c := range cases {
		for threads := 1; threads <= 3; threads++ {
			fast := New(threads)
			name := fmt.Sprintf("n %d s %d parts %v threads %d", c.n, c.s, c.cs, threads)
			var xs []*tensor.Tensor
			total := 0
			for _, ci := range c.cs {
				xs = append(xs, g.Rand(c.n, ci, c.s, 1))
				total += ci
			}
			y1, y2 := tensor.New(c.n, total, c.s, 1), tensor.New(c.n, total, c.s, 1)
			tensor.NaNs(y1)
			must(t, fast.Concat(y1, xs))
			must(t, ref.Concat(y2, xs))
			closeTo(t, name+" fwd", y1, y2, 0)
			dy := g.Rand(c.n, total, c.s, 1)
			var d1, d2 []*tensor.Tensor
			for _, x := range xs {
				r := g.Rand(x.Shape...)
				d1, d2 = append(d1, r), append(d2, r.Clone())
			}
			must(t, fast.ConcatBackward(d1, dy))
			must(t, ref.ConcatBackward(d2, dy))
			for i := range d1 {
				closeTo(t, fmt.Sprintf("%s bwd part %d", name, i), d1[i], d2[i], 0)
			}
		}
	}
}

// TestSquaredDiffSumSameBitsBothKernels: the MSE's block sums and the bias
// gradient's plane sums are the same bits with the assembly and the plain-Go
// loop, at lengths around the 8-float runs.
func TestSquaredDiffSumSameBitsBothKernels(t *testing.T) {
	if !asmAvailable {
		t.Skip("no assembly kernels on this CPU")
	}
	defer func(v bool) { useAsm = v }(useAsm)
	g := tensor.NewRNG(19)
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 40, mseBlock + 3} {
		a, b := g.Rand(n + 1).Data[:n], g.Rand(n + 1).Data[:n]
		useAsm = true
		got, gotSum := squaredDiffSum(a, b), sumFloat32(a)
		useAsm = false
		want, wantSum := squaredDiffSum(a, b), sumFloat32(a)
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("n %d: assembly %v, plain Go %v", n, got, want)
		}
		if math.Float64bits(gotSum) != math.Float64bits(wantSum) {
			t.Errorf("n %d: sum: assembly %v, plain Go %v", n, gotSum, wantSum)
		}
	}
}
