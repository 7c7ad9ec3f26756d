package autograd

import (
	"math"
	"testing"

	"suture/kernels/cpu"
	"suture/tensor"
)

// softmaxT returns softmax(x/T) over channels of x (N, K, H, W) in float64.
func softmaxT(x *tensor.Tensor, temp float64) *tensor.Tensor {
	n, k, plane := x.Shape[0], x.Shape[1], x.Shape[2]*x.Shape[3]
	out := tensor.New(x.Shape...)
	for i := 0; i < n; i++ {
		for px := 0; px < plane; px++ {
			var sum float64
			for c := 0; c < k; c++ {
				sum += math.Exp(float64(x.Data[(i*k+c)*plane+px]) / temp)
			}
			for c := 0; c < k; c++ {
				out.Data[(i*k+c)*plane+px] = float32(math.Exp(float64(x.Data[(i*k+c)*plane+px])/temp) / sum)
			}
		}
	}
	return out
}

func TestSoftTargetKLGradient(t *testing.T) {
	g := tensor.NewRNG(3)
	for _, temp := range []float32{1, 2.5} {
		z := leaf(g, true, 2, 3, 4, 5)
		q := softmaxT(g.Rand(2, 3, 4, 5), 0.5) // a peaked teacher
		gradCheck(t, []*Var{z}, func(tp *Tape) (*Var, error) { return tp.SoftTargetKL(z, q, temp) })
	}
}

func TestSoftTargetKLValue(t *testing.T) {
	b := cpu.NewReference()
	g := tensor.NewRNG(4)
	z := g.Rand(1, 2, 1, 2)
	tp := NewTape(b)
	// The teacher equal to the student at the same temperature: KL 0.
	v, err := tp.SoftTargetKL(Leaf(z, false), softmaxT(z, 2), 2)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := tp.Value(v); math.Abs(f) > 1e-6 {
		t.Errorf("KL of a distribution with itself: %g, want 0", f)
	}
	// By hand: logits (0, 0) give p = (1/2, 1/2); a teacher (1, 0) at pixel
	// 0 gives KL log 2, a teacher (1/4, 3/4) at pixel 1 gives
	// 1/4 log(1/2) + 3/4 log(3/2); T = 2 multiplies the mean by 4.
	zero := tensor.New(1, 2, 1, 2)
	q, _ := tensor.FromData([]float32{1, 0.25, 0, 0.75}, 1, 2, 1, 2)
	v, err = tp.SoftTargetKL(Leaf(zero, false), q, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := 4 * (math.Log(2) + 0.25*math.Log(0.5) + 0.75*math.Log(1.5)) / 2
	if f, _ := tp.Value(v); math.Abs(f-want) > 1e-5 {
		t.Errorf("KL by hand: %g, want %g", f, want)
	}
	// Bad input: one clear error each.
	for name, f := range map[string]func() error{
		"shape":       func() error { _, err := tp.SoftTargetKL(Leaf(zero, false), tensor.New(1, 3, 1, 2), 1); return err },
		"temperature": func() error { _, err := tp.SoftTargetKL(Leaf(zero, false), q, 0); return err },
		"nil":         func() error { _, err := tp.SoftTargetKL(Leaf(zero, false), nil, 1); return err },
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRowsGradient(t *testing.T) {
	g := tensor.NewRNG(5)
	x := leaf(g, true, 4, 2, 3, 3)
	w := g.Rand(3, 2, 3, 3)
	gradCheck(t, []*Var{x}, func(tp *Tape) (*Var, error) {
		y, err := tp.Rows(x, []int{2, 0, 2})
		if err != nil {
			return nil, err
		}
		return tp.MSE(y, Leaf(w, false))
	})
}
