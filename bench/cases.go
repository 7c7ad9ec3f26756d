package bench

import (
	"fmt"
	"io"
	"strings"

	"suture/autograd"
	"suture/kernels"
	"suture/nn"
	"suture/stitch"
	"suture/tensor"
	"suture/unet"
)

// Case is one benchmark: Setup prepares inputs outside the timer and returns
// the call to time with the work one call does.
type Case struct {
	Name  string
	Setup func(b kernels.Backend) (run func() error, w Work, err error)
}

// Work is what one call computes, for rates.
type Work struct {
	Flops  float64 // floating-point operations (conv/GEMM multiply-adds x2)
	Images float64 // images processed (unique images for stitch steps)
}

// ConvShapes are the torch script's default 3x3 layers (Cin, Cout, H, W), batch 8.
var ConvShapes = [][4]int{{3, 32, 128, 128}, {32, 32, 128, 128}, {64, 64, 64, 64}, {128, 128, 32, 32}, {256, 256, 16, 16}}

// Scale sizes the cases. Full is the benchmark of DESIGN.md section 8 (the
// torch scripts' defaults); Small keeps every case's structure at sizes the
// CUDA emulator runs in seconds (gpu-check.sh --profile emu).
type Scale struct {
	Name         string
	GEMM         int      // sgemm/N: N x N x N
	ConvBatch    int      // batch of the 3x3 layers
	Conv3x3      [][4]int // (Cin, Cout, H, W) of the 3x3 layers
	Conv1x1Batch int
	Conv1x1      [4]int // (Cin, Cout, H, W) of the 1x1 layer
	UNet         []int  // features per stage of the U-Net, and of stitch network A
	StitchB      []int  // features per stage of stitch network B
	Size, Batch  int    // U-Net input size and batch
	StitchBatch  int    // unique images per stitch step
}

var (
	// Full is the benchmark (DESIGN.md section 8).
	Full = Scale{Name: "full", GEMM: 1024, ConvBatch: 8, Conv3x3: ConvShapes, Conv1x1Batch: 16, Conv1x1: [4]int{32, 32, 128, 128},
		UNet: []int{32, 64, 128, 256, 320}, StitchB: []int{24, 48, 96, 192, 256}, Size: 128, Batch: 8, StitchBatch: 4}
	// Small has the same cases at emulator sizes.
	Small = Scale{Name: "small", GEMM: 96, ConvBatch: 2, Conv3x3: [][4]int{{3, 8, 16, 16}, {8, 8, 16, 16}, {16, 16, 8, 8}},
		Conv1x1Batch: 4, Conv1x1: [4]int{8, 8, 16, 16}, UNet: []int{4, 8, 16}, StitchB: []int{3, 6, 12}, Size: 32, Batch: 2, StitchBatch: 2}
)

// ScaleNamed returns Full or Small by name.
func ScaleNamed(name string) (Scale, error) {
	for _, s := range []Scale{Full, Small} {
		if s.Name == name {
			return s, nil
		}
	}
	return Scale{}, fmt.Errorf("no benchmark scale named %q (have full, small)", name)
}

// Cases lists every benchmark at full scale in report order.
func Cases() []Case { return CasesAt(Full) }

// CasesAt lists every benchmark at scale s in report order.
func CasesAt(s Scale) []Case {
	cs := []Case{{fmt.Sprintf("sgemm/%d", s.GEMM), sgemm(s.GEMM)}}
	for _, sh := range s.Conv3x3 {
		name := fmt.Sprintf("conv3x3/%dx%dx%dx%d", sh[0], sh[1], sh[2], sh[3])
		cs = append(cs, Case{name + "/fwd", conv(s.ConvBatch, sh, 3, false)}, Case{name + "/fwdbwd", conv(s.ConvBatch, sh, 3, true)})
	}
	c1 := s.Conv1x1
	cs = append(cs, Case{fmt.Sprintf("conv1x1/%dx%dx%dx%d/fwdbwd", c1[0], c1[1], c1[2], c1[3]), conv(s.Conv1x1Batch, c1, 1, true)})
	return append(cs, networkCases(s)...)
}

// NetworkCases are the U-Net and stitch cases (unet/infer, unet/train,
// stitch/direct, stitch/double) of the full scale on size x size images;
// batch 0 keeps each case's batch (8 images for the U-Net, 4 unique images
// per stitch step). Cases uses size 128; the profiler's tests use smaller ones.
// Non-empty features replace the full scale's widths: the U-Net and both
// stitched networks then have these features per stage (size must be a
// multiple of 2^(len(features)-1)).
func NetworkCases(size, batch int, features []int) []Case {
	s := Full
	s.Size = size
	if batch > 0 {
		s.Batch, s.StitchBatch = batch, batch
	}
	if len(features) > 0 {
		s.UNet, s.StitchB = features, features
	}
	return networkCases(s)
}

func networkCases(s Scale) []Case {
	return []Case{
		{"unet/infer", unetCase(s, false)},
		{"unet/train", unetCase(s, true)},
		{"stitch/direct", stitchCase(s, stitch.Direct)},
		{"stitch/double", stitchCase(s, stitch.Double)},
	}
}

// Select returns the full-scale cases whose names start with one of the
// comma-separated prefixes.
func Select(prefixes string) []Case { return Filter(Cases(), prefixes) }

// Filter returns the cases whose names start with one of the comma-separated prefixes.
func Filter(cs []Case, prefixes string) []Case {
	var out []Case
	for _, c := range cs {
		for _, p := range strings.Split(prefixes, ",") {
			if strings.HasPrefix(c.Name, strings.TrimSpace(p)) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

func upload(b kernels.Backend, t *tensor.Tensor) (*tensor.Tensor, error) {
	d, err := b.Alloc(t.Shape...)
	if err != nil {
		return nil, err
	}
	return d, b.Upload(d, t.Data)
}

func sgemm(n int) func(b kernels.Backend) (func() error, Work, error) {
	return func(b kernels.Backend) (func() error, Work, error) {
		g := tensor.NewRNG(1)
		a, err := upload(b, g.Rand(n, n))
		if err != nil {
			return nil, Work{}, err
		}
		bm, err := upload(b, g.Rand(n, n))
		if err != nil {
			return nil, Work{}, err
		}
		c, err := b.Alloc(n, n)
		if err != nil {
			return nil, Work{}, err
		}
		return func() error { return b.Gemm(c, a, bm, false, false, 1, 0) }, Work{Flops: 2 * float64(n) * float64(n) * float64(n)}, nil
	}
}

// conv times a conv layer with bias, forward or forward + both backwards
// (the torch script's fwdbwd: y = conv(x); y.backward(gy)).
func conv(batch int, s [4]int, k int, backward bool) func(b kernels.Backend) (func() error, Work, error) {
	return func(b kernels.Backend) (func() error, Work, error) {
		g := tensor.NewRNG(1)
		cin, cout, h, w := s[0], s[1], s[2], s[3]
		p := kernels.Conv(1, k/2)
		var ts [7]*tensor.Tensor // x, w, bias, y, dy, dx, dw
		shapes := [][]int{{batch, cin, h, w}, {cout, cin, k, k}, {cout}, {batch, cout, h, w}, {batch, cout, h, w}, {batch, cin, h, w}, {cout, cin, k, k}}
		for i, sh := range shapes {
			var err error
			if ts[i], err = upload(b, g.Rand(sh...)); err != nil {
				return nil, Work{}, err
			}
		}
		db, err := b.Alloc(cout)
		if err != nil {
			return nil, Work{}, err
		}
		fwd := 2 * float64(batch*cout*h*w) * float64(cin*k*k)
		run := func() error {
			if err := b.Conv2d(ts[3], ts[0], ts[1], ts[2], p); err != nil {
				return err
			}
			if !backward {
				return nil
			}
			if err := b.Conv2dBackwardData(ts[5], ts[4], ts[1], p); err != nil {
				return err
			}
			return b.Conv2dBackwardFilter(ts[6], db, ts[4], ts[0], p)
		}
		if backward {
			return run, Work{Flops: 3 * fwd}, nil
		}
		return run, Work{Flops: fwd}, nil
	}
}

// ForwardFlops counts 2*MACs of a graph's convs and conv-transposes for an
// input of (1, c, h, w), as the torch script's count_flops does.
func ForwardFlops(b kernels.Backend, g *nn.Graph, c, h, w int) (float64, error) {
	shapes, err := stitch.Shapes(b, g, c, h, w)
	if err != nil {
		return 0, err
	}
	var f float64
	for i, v := range g.Vertices {
		switch op := v.Op.(type) {
		case *nn.Conv2d:
			ws := op.W.Value.Shape
			o := shapes[i]
			f += 2 * float64(o[1]*o[2]*o[3]) * float64(ws[1]*ws[2]*ws[3])
		case *nn.ConvTranspose2d:
			ws := op.W.Value.Shape
			in := shapes[v.Inputs[0]]
			f += 2 * float64(in[1]*in[2]*in[3]) * float64(ws[1]*ws[2]*ws[3])
		}
	}
	return f, nil
}

// blobBatch makes the torch script's inputs: random images and disc targets.
func blobBatch(n, c, size int, g *tensor.RNG) (x, target *tensor.Tensor) {
	x = tensor.New(n, c, size, size)
	g.Normal(x, 0, 1)
	target = tensor.New(n, 1, size, size)
	for i := 0; i < n; i++ {
		cy, cx := size/4+g.IntN(size/2), size/4+g.IntN(size/2)
		r := size/8 + g.IntN(size/3-size/8)
		for y := 0; y < size; y++ {
			for xx := 0; xx < size; xx++ {
				if (y-cy)*(y-cy)+(xx-cx)*(xx-cx) < r*r {
					target.Data[(i*size+y)*size+xx] = 1
				}
			}
		}
	}
	return x, target
}

// Step is one training step of a benchmark network on a backend, split
// before the optimizer so two backends' gradients can be compared.
type Step struct {
	// Params are the trained parameters; after Loss, Params.Grad holds the
	// step's gradients.
	Params *nn.ParamSet
	// Loss zeroes the gradients and runs forward, loss and backward; it
	// returns the loss.
	Loss func() (float64, error)
	// Run is the timed step: Loss, without reading the loss back where the
	// step itself does not need it, then the optimizer's update.
	Run  func() error
	Work Work
}

// UNetStep is the unet/train case at scale s: one SGD step (CE + soft Dice,
// Nesterov momentum 0.99, no weight decay) of the benchmark U-Net on s.Batch
// blob images, model seed 1.
func UNetStep(b kernels.Backend, s Scale) (*Step, error) {
	m, err := unet.NewModel(b, unet.BenchConfig(s.UNet), 1)
	if err != nil {
		return nil, err
	}
	fl, err := ForwardFlops(b, m.Graph, 3, s.Size, s.Size)
	if err != nil {
		return nil, err
	}
	hx, ht := blobBatch(s.Batch, 3, s.Size, tensor.NewRNG(0))
	x, err := upload(b, hx)
	if err != nil {
		return nil, err
	}
	target, err := upload(b, ht)
	if err != nil {
		return nil, err
	}
	opt, err := nn.NewSGD(m.Params, 0.99, 0)
	if err != nil {
		return nil, err
	}
	tape := autograd.NewTape(b)
	prof := tape.Profiler()
	// step runs one step, reading the loss back when value is set and
	// updating when update is set. With a profiling backend, zeroing the
	// gradients and the update run in the optimizer phase and the loss in
	// vertex "loss".
	step := func(value, update bool) (float64, error) {
		defer tape.Reset()
		if prof != nil {
			defer prof.Restore(kernels.SetPhase(prof, kernels.PhaseOptimizer))
		}
		if err := m.Params.ZeroGrad(); err != nil {
			return 0, err
		}
		if prof != nil {
			kernels.SetPhase(prof, kernels.PhaseForward)
		}
		vals, err := m.Graph.Forward(tape, autograd.Leaf(x, false))
		if err != nil {
			return 0, err
		}
		var prev kernels.Scope
		if prof != nil {
			prev = prof.Enter("loss")
		}
		l, err := nn.DiceCE(tape, vals[m.Graph.Outputs[0]], target)
		if err != nil {
			return 0, err
		}
		var v float64
		if value {
			if v, err = tape.Value(l); err != nil {
				return 0, err
			}
		}
		if err := tape.Backward(l); err != nil {
			return 0, err
		}
		if prof != nil {
			prof.Restore(prev.WithPhase(kernels.PhaseOptimizer))
		}
		if update {
			return v, opt.Step(0.01)
		}
		return v, nil
	}
	run := func() error {
		_, err := step(false, true)
		return err
	}
	return &Step{Params: m.Params, Loss: func() (float64, error) { return step(true, false) }, Run: run,
		Work: Work{Flops: 3 * fl * float64(s.Batch), Images: float64(s.Batch)}}, nil
}

// unetCase times the benchmark U-Net: inference without gradients, or one
// training step (UNetStep).
func unetCase(s Scale, train bool) func(b kernels.Backend) (func() error, Work, error) {
	return func(b kernels.Backend) (func() error, Work, error) {
		if train {
			st, err := UNetStep(b, s)
			if err != nil {
				return nil, Work{}, err
			}
			return st.Run, st.Work, nil
		}
		m, err := unet.NewModel(b, unet.BenchConfig(s.UNet), 1)
		if err != nil {
			return nil, Work{}, err
		}
		fl, err := ForwardFlops(b, m.Graph, 3, s.Size, s.Size)
		if err != nil {
			return nil, Work{}, err
		}
		hx, _ := blobBatch(s.Batch, 3, s.Size, tensor.NewRNG(0))
		x, err := upload(b, hx)
		if err != nil {
			return nil, Work{}, err
		}
		tape := autograd.NewTape(b)
		m.Graph.SetTraining(false)
		tape.Recording = false
		run := func() error {
			defer tape.Reset()
			_, err := m.Graph.Forward(tape, autograd.Leaf(x, false))
			return err
		}
		return run, Work{Flops: fl * float64(s.Batch), Images: float64(s.Batch)}, nil
	}
}

// StitchStep is the stitch/direct or stitch/double case at scale s: one
// stitch training step (AdamW, lr 1e-3) of the pair s.UNet and s.StitchB
// joined at their stage outputs, on s.StitchBatch unique images.
func StitchStep(b kernels.Backend, mode stitch.TrainMode, s Scale) (*Step, error) {
	var nets [2]*unet.Model
	var cands [2][]stitch.Candidate
	for i, f := range [][]int{s.UNet, s.StitchB} {
		m, err := unet.NewModel(b, unet.BenchConfig(f), uint64(i))
		if err != nil {
			return nil, err
		}
		sh, err := stitch.Shapes(b, m.Graph, 3, s.Size, s.Size)
		if err != nil {
			return nil, err
		}
		keep, err := m.Points("stage")
		if err != nil {
			return nil, err
		}
		if cands[i], err = stitch.Candidates(m.Graph, sh, keep); err != nil {
			return nil, err
		}
		nets[i] = m
	}
	pairs := stitch.Align(stitch.Similarity(cands[0], cands[1], stitch.DefaultMatchOptions()))
	if want := 2*len(s.UNet) - 1; len(pairs) != want {
		return nil, fmt.Errorf("stitch bench: %d pairs, want the %d stage outputs", len(pairs), want)
	}
	sm, err := stitch.New(b, nets[0].Graph, nets[1].Graph, nets[0].Params, nets[1].Params, cands[0], cands[1], pairs, 2)
	if err != nil {
		return nil, err
	}
	opt, err := nn.NewAdamW(sm.Params, 0.01)
	if err != nil {
		return nil, err
	}
	hx, _ := blobBatch(s.StitchBatch, 3, s.Size, tensor.NewRNG(0))
	x, err := upload(b, hx)
	if err != nil {
		return nil, err
	}
	tape := autograd.NewTape(b)
	prof := tape.Profiler()
	g := tensor.NewRNG(3)
	// step runs one step, updating when update is set. With a profiling
	// backend, zeroing the gradients and the update run in the optimizer phase.
	step := func(update bool) (float64, error) {
		defer tape.Reset()
		if prof != nil {
			defer prof.Restore(kernels.SetPhase(prof, kernels.PhaseOptimizer))
		}
		if err := sm.Params.ZeroGrad(); err != nil {
			return 0, err
		}
		if prof != nil {
			kernels.SetPhase(prof, kernels.PhaseForward)
		}
		v, err := sm.Step(tape, mode, x, g, nil)
		if err != nil || !update {
			return v, err
		}
		if prof != nil {
			kernels.SetPhase(prof, kernels.PhaseOptimizer)
		}
		return v, opt.Step(1e-3)
	}
	run := func() error {
		_, err := step(true)
		return err
	}
	return &Step{Params: sm.Params, Loss: func() (float64, error) { return step(false) }, Run: run,
		Work: Work{Images: float64(s.StitchBatch)}}, nil
}

// stitchCase times StitchStep.
func stitchCase(s Scale, mode stitch.TrainMode) func(b kernels.Backend) (func() error, Work, error) {
	return func(b kernels.Backend) (func() error, Work, error) {
		st, err := StitchStep(b, mode, s)
		if err != nil {
			return nil, Work{}, err
		}
		return st.Run, st.Work, nil
	}
}

// WriteCaseNames writes the names of cases, one a line.
func WriteCaseNames(w io.Writer, cases []Case) {
	for _, c := range cases {
		fmt.Fprintln(w, c.Name)
	}
}
