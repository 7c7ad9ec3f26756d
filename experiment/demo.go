package experiment

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"suture/io/ckpt"
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
	models := [2]*unet.Model{}
	for i, party := range []string{"a", "b"} {
		ds, err := LoadData(fmt.Sprintf("synth:%s:%d:%d:%d", party, o.N, o.Size, o.Seed+uint64(i)), 0)
		if err != nil {
			return nil, err
		}
		if parts[i], err = Split(ds, 0, 0); err != nil {
			return nil, err
		}
		cfg, err := unet.Plan(o.Size, o.Size, 3, ds.Classes)
		if err != nil {
			return nil, err
		}
		if o.Features != nil {
			if len(o.Features) != cfg.NStages {
				return nil, fmt.Errorf("demo: %d features for %d stages", len(o.Features), cfg.NStages)
			}
			cfg.FeaturesPerStage = o.Features
		}
		m, err := unet.NewModel(be, cfg, o.Seed+uint64(10+i))
		if err != nil {
			return nil, err
		}
		opts := unet.DefaultTrainOptions()
		opts.Epochs, opts.ItersPerEpoch, opts.BatchSize, opts.Seed = o.UNetEpochs, o.UNetIters, o.Batch, o.Seed+uint64(20+i)
		tr, err := unet.NewTrainer(m, opts)
		if err != nil {
			return nil, err
		}
		stage := "train " + string("AB"[i]) + " on party " + party
		tr.Progress = func(p unet.Progress) {
			report(DemoStage{Stage: stage, Done: p.Epoch*p.Iters + p.Iter, Total: p.Epochs * p.Iters, Loss: p.Loss})
		}
		if err := tr.Fit(ctx, parts[i].Train, parts[i].Val); err != nil {
			return nil, err
		}
		path := filepath.Join(o.Dir, party+".ckpt")
		if err := unet.Save(path, m, nil, ckpt.RunInfo{Data: "synth:" + party, Seed: o.Seed}); err != nil {
			return nil, err
		}
		models[i] = m
	}
	x, err := Stack(parts[0].Train)
	if err != nil {
		return nil, err
	}
	s, err := stitch.Join(be, models[0], models[1], x.Shape[1], x.Shape[2], x.Shape[3], o.Points, stitch.DefaultMatchOptions(), o.Seed)
	if err != nil {
		return nil, err
	}
	opts := stitch.DefaultTrainOptions(stitch.Double)
	opts.Epochs, opts.ItersPerEpoch, opts.Seed = o.StitchEpochs, o.StitchIters, o.Seed+30
	tr, err := stitch.NewTrainer(s.M, opts)
	if err != nil {
		return nil, err
	}
	tr.Progress = func(p stitch.Progress) {
		report(DemoStage{Stage: "stitch (double-batched) on party a", Done: p.Epoch*p.Iters + p.Iter, Total: p.Epochs * p.Iters, Loss: p.Loss})
	}
	if err := tr.Fit(ctx, x); err != nil {
		return nil, err
	}
	res := &DemoResult{Pairs: s.M.Pairs()}
	stPath := filepath.Join(o.Dir, "stitched.ckpt")
	if err := s.Save(stPath, tr); err != nil {
		return nil, err
	}
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
	res.Files = []string{filepath.Join(o.Dir, "a.ckpt"), filepath.Join(o.Dir, "b.ckpt"), stPath, csvPath, pngPath}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}
