package unet

import (
	"context"
	"errors"
	"math"
	"testing"

	"suture/kernels/cpu"
	"suture/tensor"
)

// discs makes n images (3, size, size) with one bright disc each on noise;
// the mask is the disc.
func discs(n, size int, seed uint64) []Input {
	g := tensor.NewRNG(seed)
	out := make([]Input, n)
	for i := range out {
		img, mask := tensor.New(3, size, size), tensor.New(1, size, size)
		cy, cx := float64(size/4+g.IntN(size/2)), float64(size/4+g.IntN(size/2))
		r := float64(size)/8 + g.Float64()*float64(size)/6
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				in := math.Hypot(float64(y)-cy, float64(x)-cx) < r
				for c := 0; c < 3; c++ {
					v := 60 + 40*g.Float64()
					if in {
						v += 50 + 20*float64(c)
					}
					img.Data[(c*size+y)*size+x] = float32(v)
				}
				if in {
					mask.Data[y*size+x] = 1
				}
			}
		}
		out[i] = Input{Name: string(rune('a' + i%26)), Image: img, Mask: mask}
	}
	return out
}

func tinyConfig() *Config {
	cfg, _ := Plan(16, 16, 3, 2) // 16 -> 8: two stages
	cfg.FeaturesPerStage = []int{8, 16}
	return cfg
}

func TestTrainingLearnsDiscs(t *testing.T) {
	data := discs(24, 16, 1)
	m, err := NewModel(cpu.New(0), tinyConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	opts := DefaultTrainOptions()
	opts.Epochs, opts.BatchSize, opts.Seed, opts.ItersPerEpoch = 12, 8, 3, 10
	tr, err := NewTrainer(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Fit(context.Background(), data[:16], data[16:]); err != nil {
		t.Fatal(err)
	}
	log := tr.State.Log
	if len(log) != 12 {
		t.Fatalf("%d log rows", len(log))
	}
	t.Logf("loss %.3f -> %.3f, val Dice %.3f -> %.3f (best %.3f at %d)", log[0].TrainLoss, log[11].TrainLoss, log[0].ValDice, log[11].ValDice, tr.State.BestDice, tr.State.BestEpoch)
	if log[11].TrainLoss > 0.7*log[0].TrainLoss {
		t.Errorf("training loss fell only from %.3f to %.3f", log[0].TrainLoss, log[11].TrainLoss)
	}
	if tr.State.BestDice < 0.7 {
		t.Errorf("best validation Dice %.3f < 0.7 on an easy task", tr.State.BestDice)
	}
}

// TestResumeIsExact interrupts training mid-epoch, resumes in a fresh model
// from the saved state, and expects the same weights as an uninterrupted run.
func TestResumeIsExact(t *testing.T) {
	data := discs(12, 16, 2)
	opts := DefaultTrainOptions()
	opts.Epochs, opts.BatchSize, opts.Seed = 3, 4, 5
	run := func() (*Trainer, *Model) {
		m, err := NewModel(cpu.New(0), tinyConfig(), 9)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewTrainer(m, opts)
		if err != nil {
			t.Fatal(err)
		}
		return tr, m
	}
	full, fm := run()
	if err := full.Fit(context.Background(), data[:8], data[8:]); err != nil {
		t.Fatal(err)
	}
	part, pm := run()
	ctx, cancel := context.WithCancel(context.Background())
	part.Progress = func(p Progress) {
		if p.Epoch == 1 && p.Iter == 1 {
			cancel()
		}
	}
	if err := part.Fit(ctx, data[:8], data[8:]); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run returned %v", err)
	}
	if part.State.Epoch != 1 || part.State.Iter != 1 {
		t.Fatalf("stopped at epoch %d iteration %d", part.State.Epoch, part.State.Iter)
	}
	// A fresh process: new model, weights, optimizer state and State copied.
	res, rm := run()
	weights, _ := pm.Params.Host()
	named := map[string]*tensor.Tensor{}
	for i, p := range pm.Params.Params {
		named[p.Name] = weights[i]
	}
	if err := rm.Params.Load(named); err != nil {
		t.Fatal(err)
	}
	bufs, step := part.Opt.State()
	if err := res.Opt.SetState([]*tensor.Tensor{bufs[0].Clone()}, step); err != nil {
		t.Fatal(err)
	}
	res.State = part.State
	if err := res.Fit(context.Background(), data[:8], data[8:]); err != nil {
		t.Fatal(err)
	}
	if d := tensor.MaxAbsDiff(fm.Params.Value.Data, rm.Params.Value.Data); d != 0 {
		t.Errorf("resumed weights differ from the uninterrupted run by %g", d)
	}
	if len(res.State.Log) != 3 || res.State.Log[2].TrainLoss != full.State.Log[2].TrainLoss {
		t.Errorf("resumed log %+v, uninterrupted %+v", res.State.Log, full.State.Log)
	}
}

func TestTrainErrors(t *testing.T) {
	m, _ := NewModel(cpu.New(0), tinyConfig(), 1)
	tr, _ := NewTrainer(m, DefaultTrainOptions())
	data := discs(4, 16, 3)
	data[2].Mask = tensor.New(1, 8, 8)
	if err := tr.Fit(context.Background(), data, nil); err == nil {
		t.Error("mask of the wrong size accepted")
	}
	data = discs(4, 15, 3)
	if err := tr.Fit(context.Background(), data, nil); err == nil {
		t.Error("image size not divisible by the strides accepted")
	}
	data = discs(4, 16, 3)
	data[1].Mask.Data[5] = 3
	if err := tr.Fit(context.Background(), data, nil); err == nil {
		t.Error("mask value 3 for a 2-class model accepted")
	}
}
