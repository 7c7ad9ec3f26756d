package experiment

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"suture/kernels"
	"suture/stitch"
	"suture/unet"
)

// DemoOptions size the demo.
type DemoOptions struct {
	Dir          string // output folder for checkpoints, CSV and the plot
	N, Size      int    // images per party and their side
	Features     []int  // U-Net features per stage (nil: the planner's)
	UNetEpochs   int
	UNetIters    int // steps per epoch (0: one pass)
	Batch        int
	StitchEpochs int
	StitchIters  int
	Points       string
	Seed         uint64
}

// DemoRow is one line of the demo's table: a network on both test sets.
type DemoRow struct {
	Name     string
	OnA, OnB stitch.Score
}

// DemoResult is what the demo found.
type DemoResult struct {
	Rows    []DemoRow
	Chosen  int // the stitch-ensemble picked on party A's validation data
	Pairs   int
	Sweep   *Sweep // on party A's validation data
	Files   []string
	Seconds float64
}

// DemoStage reports which part of the demo is running.
type DemoStage struct {
	Stage string
	Done  int
	Total int
	Loss  float64
}

// Demo trains A on party a and B on party b, stitches them double-batched
// on party a's training images, picks the stitch-ensemble on party a's
// validation data, and scores a, b, a&b and the stitch-ensemble on both test sets.
func Demo(ctx context.Context, be kernels.Backend, o DemoOptions, progress func(DemoStage)) (*DemoResult, error) {
	start := time.Now()
	report := func(s DemoStage) {
		if progress != nil {
			progress(s)
		}
	}
	parts := [2]*Partition{}
	ckpts := [2]string{}
	for i, party := range []string{"a", "b"} {
		data := fmt.Sprintf("synth:%s:%d:%d:%d", party, o.N, o.Size, o.Seed+uint64(i))
		opts := unet.DefaultTrainOptions()
		opts.Epochs, opts.ItersPerEpoch, opts.BatchSize = o.UNetEpochs, o.UNetIters, o.Batch
		stage := "train " + string("AB"[i]) + " on party " + party
		res, err := Train(ctx, be, TrainSpec{Dir: filepath.Join(o.Dir, party), Data: []string{data}, Seed: o.Seed + uint64(20+i),
			Opts: opts, Features: o.Features, Force: true}, func(e TrainEvent) {
			if e.Kind == "step" {
				p := e.Progress
				report(DemoStage{Stage: stage, Done: p.Epoch*p.Iters + p.Iter, Total: p.Epochs * p.Iters, Loss: p.Loss})
			}
		})
		if err != nil {
			return nil, err
		}
		ckpts[i] = res.Last
		if parts[i], err = LoadFold(nil, []string{data}, 0, 0, 0); err != nil {
			return nil, err
		}
	}
	stPath := filepath.Join(o.Dir, "stitched.ckpt")
	opts := stitch.DefaultTrainOptions(stitch.Double)
	opts.Epochs, opts.ItersPerEpoch, opts.Seed = o.StitchEpochs, o.StitchIters, o.Seed+30
	s, err := StitchTrain(ctx, be, StitchSpec{Out: stPath, A: ckpts[0], B: ckpts[1], Data: fmt.Sprintf("synth:a:%d:%d:%d", o.N, o.Size, o.Seed),
		Points: o.Points, Opts: opts, Force: true}, func(e StitchEvent) {
		if e.Kind == "step" {
			p := e.Progress
			report(DemoStage{Stage: "stitch (double-batched) on party a", Done: p.Epoch*p.Iters + p.Iter, Total: p.Epochs * p.Iters, Loss: p.Loss})
		}
	})
	if err != nil {
		return nil, err
	}
	res := &DemoResult{Pairs: s.M.Pairs()}
	report(DemoStage{Stage: "sweep stitch-ensembles on party a's validation data"})
	if res.Sweep, err = RunSweep(s, parts[0].Val, 32); err != nil {
		return nil, err
	}
	res.Chosen = res.Sweep.Best
	csvPath, pngPath := filepath.Join(o.Dir, "sweep.csv"), filepath.Join(o.Dir, "sweep.png")
	if err := res.Sweep.WriteCSV(csvPath); err != nil {
		return nil, err
	}
	if err := res.Sweep.Plot(pngPath); err != nil {
		return nil, err
	}
	se, _ := stitch.StitchEnsemble(s.M.Pairs(), res.Chosen)
	report(DemoStage{Stage: "score on both test sets"})
	for _, n := range []struct {
		name string
		set  stitch.Setting
	}{
		{"a", stitch.NetA(res.Pairs)}, {"b", stitch.NetB(res.Pairs)}, {"a&b", stitch.Ensemble(res.Pairs)},
		{fmt.Sprintf("stitch-ensemble %d", res.Chosen), se},
	} {
		row := DemoRow{Name: n.name}
		for i, sc := range []*stitch.Score{&row.OnA, &row.OnB} {
			if *sc, err = StitchedEvaluator(s, parts[i].Test, 32)(n.set); err != nil {
				return nil, err
			}
		}
		res.Rows = append(res.Rows, row)
	}
	res.Files = []string{ckpts[0], ckpts[1], stPath, csvPath, pngPath}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}
