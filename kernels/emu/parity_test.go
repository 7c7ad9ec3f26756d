//go:build cudaemu

package emu_test

import (
	"math"
	"testing"

	"suture/autograd"
	"suture/kernels"
	"suture/kernels/cpu"
	_ "suture/kernels/emu" // registers "cudaemu"
	"suture/nn"
	"suture/stitch"
	"suture/tensor"
	"suture/unet"
)

// The emulated CUDA backend must train like the CPU backend: one U-Net
// training step and one double-batched stitch step on tiny shapes give the
// same loss and the same gradients (within float32 reduction-order noise).

func emuBackend(t *testing.T) kernels.Backend {
	t.Helper()
	b, err := kernels.Get("cudaemu")
	if err != nil {
		t.Fatal(err)
	}
	// Closing frees every device buffer the models and tapes still hold, so
	// the AddressSanitizer run's leak check sees only real leaks.
	if c, ok := b.(interface{ Close() error }); ok {
		t.Cleanup(func() {
			if err := c.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	return b
}

func tinyUNet(t *testing.T, b kernels.Backend, features []int, seed uint64) *unet.Model {
	t.Helper()
	cfg, err := unet.Plan(16, 16, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg.FeaturesPerStage = features
	m, err := unet.NewModel(b, cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func download(t *testing.T, b kernels.Backend, x *tensor.Tensor) []float32 {
	t.Helper()
	h := make([]float32, x.Numel())
	if err := b.Download(h, x); err != nil {
		t.Fatal(err)
	}
	return h
}

func upload(t *testing.T, b kernels.Backend, h *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	d, err := b.Alloc(h.Shape...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Upload(d, h.Data); err != nil {
		t.Fatal(err)
	}
	return d
}

func closeSlices(t *testing.T, what string, got, want []float32) {
	t.Helper()
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-4+1e-3*scale || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s[%d]: emulator %g, cpu %g (max |value| %g)", what, i, got[i], want[i], scale)
		}
	}
}

func TestUNetTrainingStepMatchesCPU(t *testing.T) {
	backends := []kernels.Backend{cpu.NewReference(), emuBackend(t)}
	g := tensor.NewRNG(4)
	x := g.Rand(2, 3, 16, 16)
	target := tensor.New(2, 1, 16, 16)
	for i := range target.Data {
		target.Data[i] = float32(g.IntN(2))
	}
	var losses []float64
	var grads [][]float32
	for _, b := range backends {
		m := tinyUNet(t, b, []int{4, 8}, 7)
		tp := autograd.NewTape(b)
		vals, err := m.Graph.Forward(tp, autograd.Leaf(upload(t, b, x), false))
		if err != nil {
			t.Fatal(err)
		}
		loss, err := nn.DiceCE(tp, vals[m.Graph.Outputs[0]], upload(t, b, target))
		if err != nil {
			t.Fatal(err)
		}
		v, _ := tp.Value(loss)
		if err := tp.Backward(loss); err != nil {
			t.Fatal(err)
		}
		losses = append(losses, v)
		grads = append(grads, download(t, b, m.Params.Grad))
	}
	if math.Abs(losses[0]-losses[1]) > 1e-5*math.Max(1, losses[0]) {
		t.Errorf("loss: emulator %g, cpu %g", losses[1], losses[0])
	}
	closeSlices(t, "U-Net gradient", grads[1], grads[0])
}

func TestDoubleBatchedStitchStepMatchesCPU(t *testing.T) {
	backends := []kernels.Backend{cpu.NewReference(), emuBackend(t)}
	x := tensor.NewRNG(5).Rand(2, 3, 16, 16)
	var losses []float64
	var grads [][]float32
	for _, b := range backends {
		a, bb := tinyUNet(t, b, []int{4, 8}, 1), tinyUNet(t, b, []int{3, 6}, 2)
		var cands [2][]stitch.Candidate
		for i, m := range []*unet.Model{a, bb} {
			sh, err := stitch.Shapes(b, m.Graph, 3, 16, 16)
			if err != nil {
				t.Fatal(err)
			}
			if cands[i], err = stitch.Candidates(m.Graph, sh, nil); err != nil {
				t.Fatal(err)
			}
		}
		pairs := stitch.Align(stitch.Similarity(cands[0], cands[1], stitch.DefaultMatchOptions()))
		sm, err := stitch.New(b, a.Graph, bb.Graph, a.Params, bb.Params, cands[0], cands[1], pairs, 3)
		if err != nil {
			t.Fatal(err)
		}
		tp := autograd.NewTape(b)
		v, err := sm.Step(tp, stitch.Double, upload(t, b, x), tensor.NewRNG(9), nil)
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, v)
		grads = append(grads, download(t, b, sm.Params.Grad))
	}
	if math.Abs(losses[0]-losses[1]) > 1e-4*math.Max(1, losses[0]) {
		t.Errorf("stitch loss: emulator %g, cpu %g", losses[1], losses[0])
	}
	closeSlices(t, "stitch gradient", grads[1], grads[0])
}
