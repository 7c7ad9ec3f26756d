package unet

import (
	"context"
	"runtime"
	"testing"

	"suture/kernels/cpu"
)

// TestTrainingStepAllocatesLittle: after the first step, a training step
// reuses its activations, gradients and workspaces (tape arena, backend
// pools). What it still allocates (tape closures, small headers) must be tiny
// next to the activations it computes.
func TestTrainingStepAllocatesLittle(t *testing.T) {
	data := discs(8, 32, 4)
	cfg, _ := Plan(32, 32, 3, 2)
	m, err := NewModel(cpu.New(2), cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	opts := DefaultTrainOptions()
	opts.Epochs, opts.BatchSize, opts.NoAugment = 1, 4, true
	tr, err := NewTrainer(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Fit(context.Background(), data, nil); err != nil { // warms every pool
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const steps = 5
	for i := 0; i < steps; i++ {
		if _, err := tr.step(data, 1e-3); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	perStep := float64(after.TotalAlloc-before.TotalAlloc) / steps
	act := encoderActivationBytes(m.Config, 4, 32)
	t.Logf("allocated %.0f KiB per step; activations %.0f KiB", perStep/1024, act/1024)
	if perStep > act/20 {
		t.Errorf("a training step allocates %.0f KiB, more than 5%% of its %.0f KiB of activations", perStep/1024, act/1024)
	}
}

// encoderActivationBytes is a lower bound of a step's activations: the conv,
// norm and activation outputs of the encoder alone.
func encoderActivationBytes(cfg *Config, batch, size int) float64 {
	total, s := 0.0, size
	for stage := 0; stage < cfg.NStages; stage++ {
		s /= cfg.Strides[stage][0]
		total += float64(3*cfg.NConvPerStage[stage]*cfg.FeaturesPerStage[stage]*s*s) * 4
	}
	return total * float64(batch)
}
