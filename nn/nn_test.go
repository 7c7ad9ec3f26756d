package nn

import (
	"math"
	"strings"
	"testing"

	"suture/autograd"
	"suture/kernels/cpu"
	"suture/tensor"
)

// tinyNet is a small U-shaped graph: conv-norm-act, strided conv, up-sampling,
// concat with the skip, and a 1x1 head to 2 classes.
func tinyNet(t *testing.T, g *tensor.RNG) *Graph {
	t.Helper()
	c1, _ := NewConv2d("c1", 3, 8, 3, 1, 1, true, g)
	c2, _ := NewConv2d("c2", 8, 16, 3, 2, 1, true, g)
	up, _ := NewConvTranspose2d("up", 16, 8, 2, 2, true, g)
	c3, _ := NewConv2d("c3", 16, 8, 3, 1, 1, true, g)
	head, _ := NewConv2d("head", 8, 2, 1, 1, 0, true, g)
	gr := &Graph{}
	x := gr.AddInput("input")
	a := gr.Add("c1", c1, x)
	a = gr.Add("n1", NewInstanceNorm2d("n1", 8, 1e-5), a)
	skip := gr.Add("a1", &LeakyReLU{Slope: 0.01}, a)
	b := gr.Add("c2", c2, skip)
	b = gr.Add("a2", &LeakyReLU{Slope: 0.01}, b)
	u := gr.Add("up", up, b)
	cat := gr.Add("cat", Concat{}, u, skip)
	c := gr.Add("c3", c3, cat)
	c = gr.Add("a3", &LeakyReLU{Slope: 0.01}, c)
	gr.Outputs = []int{gr.Add("head", head, c)}
	if err := gr.Validate(); err != nil {
		t.Fatal(err)
	}
	return gr
}

// The integration test of the engine core: a tiny conv net built as a Graph
// fits a fixed batch until its Dice+CE loss falls by 100x.
func TestTinyNetLossFalls100x(t *testing.T) {
	g := tensor.NewRNG(7)
	b := cpu.New(0)
	net := tinyNet(t, g)
	set, err := NewParamSet(b, net.Params())
	if err != nil {
		t.Fatal(err)
	}
	opt, err := NewAdamW(set, 0)
	if err != nil {
		t.Fatal(err)
	}
	x := g.Rand(4, 3, 8, 8)
	target := tensor.New(4, 1, 8, 8)
	for i := range target.Data {
		// A target that depends on the input, so the net can fit it.
		if x.Data[i]+x.Data[i+64] > 0 {
			target.Data[i] = 1
		}
	}
	tape := autograd.NewTape(b)
	var first, last float64
	for step := 0; step < 400; step++ {
		if err := set.ZeroGrad(); err != nil {
			t.Fatal(err)
		}
		vals, err := net.Forward(tape, autograd.Leaf(x, false))
		if err != nil {
			t.Fatal(err)
		}
		loss, err := DiceCE(tape, vals[net.Outputs[0]], target)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := tape.Value(loss)
		if err := CheckLoss(step, v); err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = v
		}
		last = v
		if v < first/100 {
			t.Logf("loss %.4f -> %.6f after %d steps", first, v, step)
			return
		}
		if err := tape.Backward(loss); err != nil {
			t.Fatal(err)
		}
		if err := opt.Step(3e-3); err != nil {
			t.Fatal(err)
		}
		tape.Reset()
	}
	t.Fatalf("loss fell from %.4f to %.4f only (less than 100x)", first, last)
}

func TestParamSetFlatAndLoad(t *testing.T) {
	g := tensor.NewRNG(8)
	b := cpu.NewReference()
	net := tinyNet(t, g)
	bn := NewBatchNorm2d("bn", 4, 1e-5)
	params := append(net.Params(), bn.Params()...)
	orig := map[string]*tensor.Tensor{}
	for _, p := range params {
		orig[p.Name] = p.Value.Clone()
	}
	set, err := NewParamSet(b, params)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range set.Params {
		if !tensor.Shape(p.Value.Shape).Equal(orig[p.Name].Shape) || tensor.MaxAbsDiff(p.Value.Data, orig[p.Name].Data) != 0 {
			t.Fatalf("%s changed when flattened", p.Name)
		}
		total += p.Value.Numel()
	}
	if set.Value.Numel() != total || set.Trainable != total-8 {
		t.Fatalf("flat %d, trainable %d; want %d, %d", set.Value.Numel(), set.Trainable, total, total-8)
	}
	// The buffers come last, outside the trainable prefix.
	if last := set.Params[len(set.Params)-1]; !last.Buffer || last.Grad != nil {
		t.Fatalf("last parameter %s should be a buffer without gradient", last.Name)
	}
	// Writing through the flat buffer is visible in the parameter views.
	set.Value.Data[0] = 42
	if set.Params[0].Value.Data[0] != 42 {
		t.Fatal("parameter is not a view of the flat buffer")
	}
	if err := set.Load(orig); err != nil {
		t.Fatal(err)
	}
	if set.Params[0].Value.Data[0] == 42 {
		t.Fatal("Load did not restore values")
	}
	bad := map[string]*tensor.Tensor{}
	for k, v := range orig {
		bad[k] = v
	}
	bad["c1.weight"] = tensor.New(1, 2, 3)
	if err := set.Load(bad); err == nil || !strings.Contains(err.Error(), "c1.weight") {
		t.Errorf("shape mismatch: %v", err)
	}
	delete(bad, "c1.weight")
	if err := set.Load(bad); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing parameter: %v", err)
	}
	bad["c1.weight"] = orig["c1.weight"]
	bad["extra"] = tensor.New(1)
	if err := set.Load(bad); err == nil || !strings.Contains(err.Error(), "extra") {
		t.Errorf("extra parameter: %v", err)
	}
	if _, err := NewParamSet(b, []*Param{NewParam("a", tensor.New(1)), NewParam("a", tensor.New(2))}); err == nil {
		t.Error("duplicate names accepted")
	}
}

func TestBatchNormRunningStats(t *testing.T) {
	g := tensor.NewRNG(9)
	b := cpu.NewReference()
	bn := NewBatchNorm2d("bn", 3, 1e-5)
	if _, err := NewParamSet(b, bn.Params()); err != nil {
		t.Fatal(err)
	}
	x := g.Rand(4, 3, 5, 5)
	tape := autograd.NewTape(b)
	if _, err := bn.Forward(tape, []*autograd.Var{autograd.Leaf(x, false)}); err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 3; c++ {
		var s, q float64
		n := 0
		for i := 0; i < 4; i++ {
			for k := 0; k < 25; k++ {
				v := float64(x.Data[(i*3+c)*25+k])
				s += v
				q += v * v
				n++
			}
		}
		mean := s / float64(n)
		unbiased := (q - float64(n)*mean*mean) / float64(n-1)
		if got := float64(bn.RunMean.Value.Data[c]); math.Abs(got-0.1*mean) > 1e-5 {
			t.Errorf("running mean[%d] = %g, want %g", c, got, 0.1*mean)
		}
		if got := float64(bn.RunVar.Value.Data[c]); math.Abs(got-(0.9+0.1*unbiased)) > 1e-4 {
			t.Errorf("running var[%d] = %g, want %g", c, got, 0.9+0.1*unbiased)
		}
	}
	// Evaluation mode uses the running statistics.
	bn.SetTraining(false)
	y, err := bn.Forward(tape.NoGrad(), []*autograd.Var{autograd.Leaf(x, false)})
	if err != nil {
		t.Fatal(err)
	}
	m, v := bn.RunMean.Value.Data[1], bn.RunVar.Value.Data[1]
	want := (x.Data[25] - m) / float32(math.Sqrt(float64(v)+1e-5))
	if math.Abs(float64(y.Value.Data[25]-want)) > 1e-5 {
		t.Errorf("eval output %g, want %g", y.Value.Data[25], want)
	}
}

func TestGraphValidate(t *testing.T) {
	g := tensor.NewRNG(10)
	c, _ := NewConv2d("c", 1, 1, 1, 1, 0, false, g)
	gr := &Graph{}
	x := gr.AddInput("input")
	gr.Add("c", c, x+1) // reads itself: not earlier in call order
	gr.Outputs = []int{1}
	if err := gr.Validate(); err == nil || !strings.Contains(err.Error(), "not earlier") {
		t.Errorf("cycle not caught: %v", err)
	}
	gr.Vertices[1].Inputs = []int{x}
	gr.Add("c", c, 1)
	if err := gr.Validate(); err == nil || !strings.Contains(err.Error(), "named") {
		t.Errorf("duplicate name not caught: %v", err)
	}
	if _, err := NewConv2d("bad", 0, 1, 3, 1, 1, false, g); err == nil {
		t.Error("zero input channels accepted")
	}
}

func TestSchedulesAndWeights(t *testing.T) {
	p := Poly(0.01, 0.9)
	if p(0, 100) != 0.01 || p(100, 100) != 0 {
		t.Errorf("poly endpoints %g %g", p(0, 100), p(100, 100))
	}
	if got, want := float64(p(50, 100)), 0.01*math.Pow(0.5, 0.9); math.Abs(got-want) > 1e-9 {
		t.Errorf("poly(50) = %g, want %g", got, want)
	}
	c := Cosine(1, 0)
	if c(0, 10) != 1 || math.Abs(float64(c(5, 10))-0.5) > 1e-6 || c(10, 10) != 0 {
		t.Errorf("cosine %g %g %g", c(0, 10), c(5, 10), c(10, 10))
	}
	w := Warmup(4, Cosine(1, 0))
	if w(0, 14) != 0.25 || w(3, 14) != 1 || w(4, 14) != 1 {
		t.Errorf("warmup %g %g %g", w(0, 14), w(3, 14), w(4, 14))
	}
	ds := DeepSupervisionWeights(4)
	want := []float32{1 / 1.75, 0.5 / 1.75, 0.25 / 1.75, 0}
	for i := range ds {
		if math.Abs(float64(ds[i]-want[i])) > 1e-6 {
			t.Errorf("deep supervision weights %v, want %v", ds, want)
		}
	}
}

func TestOptimizersMatchHandComputation(t *testing.T) {
	b := cpu.NewReference()
	p := NewParam("w", tensor.New(2))
	copy(p.Value.Data, []float32{1, -2})
	set, _ := NewParamSet(b, []*Param{p})
	sgd, _ := NewSGD(set, 0.9, 0.1)
	copy(set.Grad.Data, []float32{0.5, 0.25})
	if err := sgd.Step(0.1); err != nil {
		t.Fatal(err)
	}
	// g' = g + 0.1 w = (0.6, 0.05); v = g'; w -= 0.1*(g' + 0.9 v) = 0.1*1.9*g'
	for i, want := range []float64{1 - 0.19*0.6, -2 - 0.19*0.05} {
		if math.Abs(float64(p.Value.Data[i])-want) > 1e-6 {
			t.Errorf("sgd w[%d] = %g, want %g", i, p.Value.Data[i], want)
		}
	}
	q := NewParam("q", tensor.New(1))
	q.Value.Data[0] = 1
	set2, _ := NewParamSet(b, []*Param{q})
	adam, _ := NewAdamW(set2, 0.01)
	set2.Grad.Data[0] = 3
	if err := adam.Step(0.1); err != nil {
		t.Fatal(err)
	}
	// First step: decay w by lr*wd, then move by lr*sign(g) (bias-corrected m/sqrt(v) = 1).
	want := 1*(1-0.1*0.01) - 0.1*3/(3+1e-8)
	if math.Abs(float64(q.Value.Data[0])-want) > 1e-6 {
		t.Errorf("adamw w = %g, want %g", q.Value.Data[0], want)
	}
	norm, err := ClipGradNorm(set, 0.1)
	if err != nil || math.Abs(norm-math.Sqrt(0.5*0.5+0.25*0.25)) > 1e-6 {
		t.Errorf("clip norm %g, %v", norm, err)
	}
	if n := math.Hypot(float64(set.Grad.Data[0]), float64(set.Grad.Data[1])); math.Abs(n-0.1) > 1e-5 {
		t.Errorf("clipped norm %g, want 0.1", n)
	}
	if err := CheckLoss(7, math.NaN()); err == nil || !strings.Contains(err.Error(), "step 7") {
		t.Errorf("non-finite loss: %v", err)
	}
}
