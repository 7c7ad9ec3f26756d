package bench

import (
	"fmt"
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

// Cases lists every benchmark in report order.
func Cases() []Case {
	cs := []Case{{"sgemm/1024", sgemm(1024)}}
	for _, s := range ConvShapes {
		name := fmt.Sprintf("conv3x3/%dx%dx%dx%d", s[0], s[1], s[2], s[3])
		cs = append(cs, Case{name + "/fwd", conv(8, s, 3, false)}, Case{name + "/fwdbwd", conv(8, s, 3, true)})
	}
	cs = append(cs, Case{"conv1x1/32x32x128x128/fwdbwd", conv(16, [4]int{32, 32, 128, 128}, 1, true)})
	return append(cs, NetworkCases(benchSize, 0)...)
}

// NetworkCases are the U-Net and stitch cases (unet/infer, unet/train,
// stitch/direct, stitch/double) on size x size images; batch 0 keeps each
// case's batch (8 images for the U-Net, 4 unique images per stitch step).
// Cases uses size 128; the profiler's tests use smaller ones.
func NetworkCases(size, batch int) []Case {
	ub, sb := benchBatch, 4
	if batch > 0 {
		ub, sb = batch, batch
	}
	return []Case{
		{"unet/infer", unetCase(false, size, ub)},
		{"unet/train", unetCase(true, size, ub)},
		{"stitch/direct", stitchCase(stitch.Direct, size, sb)},
		{"stitch/double", stitchCase(stitch.Double, size, sb)},
	}
}

// Select returns the cases whose names start with one of the comma-separated prefixes.
func Select(prefixes string) []Case {
	var out []Case
	for _, c := range Cases() {
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

const benchSize, benchBatch = 128, 8

// unetCase times the benchmark U-Net: inference without gradients, or one
// SGD training step (CE + soft Dice, Nesterov momentum 0.99, no weight decay).
// With a profiling backend, the training step zeroes the gradients and
// updates in the optimizer phase and computes the loss in vertex "loss".
func unetCase(train bool, size, batch int) func(b kernels.Backend) (func() error, Work, error) {
	return func(b kernels.Backend) (func() error, Work, error) {
		m, err := unet.NewModel(b, unet.BenchConfig([]int{32, 64, 128, 256, 320}), 1)
		if err != nil {
			return nil, Work{}, err
		}
		fl, err := ForwardFlops(b, m.Graph, 3, size, size)
		if err != nil {
			return nil, Work{}, err
		}
		hx, ht := blobBatch(batch, 3, size, tensor.NewRNG(0))
		x, err := upload(b, hx)
		if err != nil {
			return nil, Work{}, err
		}
		target, err := upload(b, ht)
		if err != nil {
			return nil, Work{}, err
		}
		tape := autograd.NewTape(b)
		if !train {
			m.Graph.SetTraining(false)
			tape.Recording = false
			run := func() error {
				defer tape.Reset()
				_, err := m.Graph.Forward(tape, autograd.Leaf(x, false))
				return err
			}
			return run, Work{Flops: fl * float64(batch), Images: float64(batch)}, nil
		}
		opt, err := nn.NewSGD(m.Params, 0.99, 0)
		if err != nil {
			return nil, Work{}, err
		}
		prof := tape.Profiler()
		run := func() error {
			defer tape.Reset()
			if prof != nil {
				defer prof.Restore(kernels.SetPhase(prof, kernels.PhaseOptimizer))
			}
			if err := m.Params.ZeroGrad(); err != nil {
				return err
			}
			if prof != nil {
				kernels.SetPhase(prof, kernels.PhaseForward)
			}
			vals, err := m.Graph.Forward(tape, autograd.Leaf(x, false))
			if err != nil {
				return err
			}
			var prev kernels.Scope
			if prof != nil {
				prev = prof.Enter("loss")
			}
			loss, err := nn.DiceCE(tape, vals[m.Graph.Outputs[0]], target)
			if err != nil {
				return err
			}
			if err := tape.Backward(loss); err != nil {
				return err
			}
			if prof != nil {
				prof.Restore(prev.WithPhase(kernels.PhaseOptimizer))
			}
			return opt.Step(0.01)
		}
		return run, Work{Flops: 3 * fl * float64(batch), Images: float64(batch)}, nil
	}
}

// stitchCase times one stitch training step (AdamW, lr 1e-3) of the
// benchmark pair joined at their nine stage outputs, on batch unique images
// (4 in Cases). With a profiling backend, zeroing the gradients and the
// update run in the optimizer phase.
func stitchCase(mode stitch.TrainMode, size, batch int) func(b kernels.Backend) (func() error, Work, error) {
	return func(b kernels.Backend) (func() error, Work, error) {
		var nets [2]*unet.Model
		var cands [2][]stitch.Candidate
		for i, f := range [][]int{{32, 64, 128, 256, 320}, {24, 48, 96, 192, 256}} {
			m, err := unet.NewModel(b, unet.BenchConfig(f), uint64(i))
			if err != nil {
				return nil, Work{}, err
			}
			sh, err := stitch.Shapes(b, m.Graph, 3, size, size)
			if err != nil {
				return nil, Work{}, err
			}
			keep, err := m.Points("stage")
			if err != nil {
				return nil, Work{}, err
			}
			if cands[i], err = stitch.Candidates(m.Graph, sh, keep); err != nil {
				return nil, Work{}, err
			}
			nets[i] = m
		}
		pairs := stitch.Align(stitch.Similarity(cands[0], cands[1], stitch.DefaultMatchOptions()))
		if len(pairs) != 9 {
			return nil, Work{}, fmt.Errorf("stitch bench: %d pairs, want the 9 stage outputs", len(pairs))
		}
		sm, err := stitch.New(b, nets[0].Graph, nets[1].Graph, nets[0].Params, nets[1].Params, cands[0], cands[1], pairs, 2)
		if err != nil {
			return nil, Work{}, err
		}
		opt, err := nn.NewAdamW(sm.Params, 0.01)
		if err != nil {
			return nil, Work{}, err
		}
		hx, _ := blobBatch(batch, 3, size, tensor.NewRNG(0))
		x, err := upload(b, hx)
		if err != nil {
			return nil, Work{}, err
		}
		tape := autograd.NewTape(b)
		prof := tape.Profiler()
		g := tensor.NewRNG(3)
		run := func() error {
			defer tape.Reset()
			if prof != nil {
				defer prof.Restore(kernels.SetPhase(prof, kernels.PhaseOptimizer))
			}
			if err := sm.Params.ZeroGrad(); err != nil {
				return err
			}
			if prof != nil {
				kernels.SetPhase(prof, kernels.PhaseForward)
			}
			if _, err := sm.Step(tape, mode, x, g, nil); err != nil {
				return err
			}
			if prof != nil {
				kernels.SetPhase(prof, kernels.PhaseOptimizer)
			}
			return opt.Step(1e-3)
		}
		return run, Work{Images: float64(batch)}, nil
	}
}
