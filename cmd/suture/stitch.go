package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"suture/experiment"
	"suture/internal/progress"
	"suture/kernels"
	"suture/stitch"
	"suture/unet"
)

func runStitch(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "info":
			return runStitchInfo(args[1:], out)
		case "sweep":
			return runStitchSweep(args[1:], out)
		case "sample":
			return runStitchSample(args[1:], out)
		case "rq1":
			return runStitchRQ1(args[1:], out)
		}
	}
	fs := newFlags("stitch", out)
	rf := addRunFlags(fs, "images to train the stitches on (labels are not used)", "cross-validation fold whose training part is used",
		"resize original Kvasir/CVC frames to this size", "continue training the stitches in --out (its base networks must be --a and --b)",
		"overwrite --out if it exists")
	aPath := fs.String("a", "", "checkpoint of network A")
	bPath := fs.String("b", "", "checkpoint of network B")
	mode := fs.String("mode", "double", "training: double (double-batched) or direct (direct matching)")
	dst := fs.String("out", "", "stitched checkpoint to write")
	opts := stitch.DefaultTrainOptions(stitch.Double)
	fs.IntVar(&opts.Epochs, "epochs", opts.Epochs, "epochs")
	lr := fs.Float64("lr", float64(opts.LR), "AdamW learning rate (cosine annealed to 0)")
	wd := fs.Float64("wd", float64(opts.WeightDecay), "AdamW weight decay")
	fs.Uint64Var(&opts.Seed, "seed", 1, "seed of stitch weights, batches and switch choices")
	fs.IntVar(&opts.BatchSize, "batch", opts.BatchSize, "unique images per step")
	fs.IntVar(&opts.ItersPerEpoch, "iters", 0, "steps per epoch (0: one pass)")
	points := fs.String("points", "all", "stitch candidates: all (every layer), stage (stage outputs) or every:K (every K-th matched pair of all, counted back from the last)")
	split := fs.String("split", "train", "which part of the data to train on: train, val, test or all")
	mkBackend := backendFlag(fs)
	startProfile := profileFlag(fs, "the stitch training")
	profileRun := runProfileFlag(fs)
	if err := parse(fs, args, "a", "b", "out"); err != nil {
		return err
	}
	if !*rf.resume {
		if err := require("data", *rf.data); err != nil {
			return err
		}
	}
	prec, err := rf.check()
	if err != nil {
		return err
	}
	m, err := stitch.ParseMode(*mode)
	if err != nil {
		return usageErr("%v", err)
	}
	if err := stitch.CheckPoints(*points); err != nil {
		return usageErr("--points: %v", err)
	}
	if _, err := (&experiment.Partition{}).Subset(*split); err != nil {
		return usageErr("--split: %v", err)
	}
	opts.Mode, opts.LR, opts.WeightDecay, opts.Precision = m, float32(*lr), float32(*wd), prec.Stored()
	b, err := mkBackend()
	if err != nil {
		return err
	}
	b, endProfile, err := profileRun(b)
	if err != nil {
		return err
	}
	defer endProfile()
	spec := experiment.StitchSpec{Out: *dst, A: *aPath, B: *bPath, Data: *rf.data, Size: *rf.size, Fold: *rf.fold, SplitSeed: *rf.splitSeed,
		Split: *split, Points: *points, Opts: opts, Resume: *rf.resume, Force: *rf.force}
	if *rf.resume {
		if spec, err = resumedStitchSpec(fs, spec, prec); err != nil {
			return err
		}
	}
	return trainStitches(ctx, out, b, spec, *aPath, *bPath, startProfile)
}

// resumedStitchSpec returns the spec of the stitch run in spec.Out, to
// resume: every setting of a resumed run comes from its checkpoint; a flag
// given may only repeat it (prec is --precision as given). Only the paths
// of A and B, the size and the split are spec's.
func resumedStitchSpec(fs *flag.FlagSet, spec experiment.StitchSpec, prec kernels.Precision) (experiment.StitchSpec, error) {
	prev, err := experiment.StitchRun(spec.Out)
	if err != nil {
		return spec, fmt.Errorf("--resume: %w", err)
	}
	o, p := spec.Opts, prev.Opts
	if err := sameAsRun(fs, spec.Out, []runSetting{
		{"data", spec.Data, prev.Data}, {"mode", o.Mode.String(), p.Mode.String()}, {"epochs", o.Epochs, p.Epochs},
		{"lr", o.LR, p.LR}, {"wd", o.WeightDecay, p.WeightDecay}, {"seed", o.Seed, p.Seed},
		{"batch", o.BatchSize, p.BatchSize}, {"iters", o.ItersPerEpoch, p.ItersPerEpoch}, {"points", spec.Points, prev.Points},
		{"precision", prec, p.Precision.OrFP32()}, {"fold", spec.Fold, prev.Fold}, {"split-seed", spec.SplitSeed, prev.SplitSeed},
	}); err != nil {
		return spec, err
	}
	prev.A, prev.B, prev.Size, prev.Split = spec.A, spec.B, spec.Size, spec.Split
	return prev, nil
}

// trainStitches runs the stitch training of spec on b, printing its
// progress to out (aPath and bPath name the networks), with a CPU profile
// when --cpuprofile asks for one (startProfile).
func trainStitches(ctx context.Context, out io.Writer, b kernels.Backend, spec experiment.StitchSpec, aPath, bPath string, startProfile func() (func(), error)) error {
	bar := progress.New(out)
	stopProfile, err := startProfile()
	if err != nil {
		return err
	}
	start := time.Now()
	_, err = experiment.StitchTrain(ctx, b, spec, func(e experiment.StitchEvent) { experiment.WriteStitchEvent(out, bar, aPath, bPath, e) })
	stopProfile()
	bar.Done()
	if err != nil {
		return trainErr(err)
	}
	fmt.Fprintf(out, "done in %v; wrote %s\n", time.Since(start).Round(time.Second), spec.Out)
	return nil
}

func runStitchInfo(args []string, out io.Writer) error {
	fs := newFlags("stitch info", out)
	model := fs.String("model", "", "stitched checkpoint")
	mkBackend := backendFlag(fs)
	if err := parse(fs, args, "model"); err != nil {
		return err
	}
	b, err := mkBackend()
	if err != nil {
		return err
	}
	s, err := stitch.Load(*model, b, unet.LoadBase)
	if err != nil {
		return err
	}
	experiment.WriteStitchedInfo(out, *model, s)
	return nil
}

// stitchedRun is what sweep and sample work on: a stitched model, the
// samples to score it on, the CSV and its plot to write, the batch.
type stitchedRun struct {
	s                *experiment.Stitched
	samples          []unet.Input
	csvPath, pngPath string
	batch            int
}

// stitchedEval adds the flags of sweep and sample: the stitched model, the
// samples to score it on, --out (a CSV of kind, default dst; its PNG plot
// beside it), --batch and --force. The returned function checks both
// outputs, then loads the model and the samples.
func stitchedEval(fs *flag.FlagSet, dst string, kind outputKind) func() (*stitchedRun, error) {
	model := fs.String("model", "", "stitched checkpoint")
	part := experiment.DataPart{}
	fs.StringVar(&part.Data, "data", "", "dataset folder or synth:PARTY[:N[:SIZE[:SEED]]]")
	fs.StringVar(&part.Split, "split", "val", "which samples: val, test, train or all")
	fs.IntVar(&part.Fold, "fold", -1, "cross-validation fold (default: the stitch run's)")
	fs.Int64Var(&part.SplitSeed, "split-seed", -1, "seed of the six-part split (default: the stitch run's)")
	fs.IntVar(&part.Size, "size", 0, "resize original Kvasir/CVC frames to this size")
	mkBackend := backendFlag(fs)
	out := fs.String("out", dst, "CSV to write (a PNG plot is written next to it)")
	batch := fs.Int("batch", 16, "images per forward pass")
	force := forceFlag(fs)
	return func() (*stitchedRun, error) {
		r := &stitchedRun{csvPath: *out, pngPath: strings.TrimSuffix(*out, filepath.Ext(*out)) + ".png", batch: *batch}
		if r.csvPath == r.pngPath {
			return nil, usageErr("--out %s: the CSV and its plot would be the same file (give a .csv name)", *out)
		}
		if err := checkOutput(r.csvPath, *force, kind); err != nil {
			return nil, err
		}
		if err := checkOutput(r.pngPath, *force, pngOutput); err != nil {
			return nil, err
		}
		if err := require("model", *model, "data", part.Data); err != nil {
			return nil, err
		}
		b, err := mkBackend()
		if err != nil {
			return nil, err
		}
		if r.s, err = stitch.Load(*model, b, unet.LoadBase); err != nil {
			return nil, err
		}
		r.samples, err = part.Samples(r.s.Meta.Run)
		return r, err
	}
}

func runStitchSweep(args []string, out io.Writer) error {
	fs := newFlags("stitch sweep", out)
	load := stitchedEval(fs, "sweep.csv", sweepCSV)
	if err := parse(fs, args); err != nil {
		return err
	}
	r, err := load()
	if err != nil {
		return err
	}
	sw, err := experiment.SweepFiles(r.s, r.samples, r.batch, r.csvPath, r.pngPath)
	if err != nil {
		return err
	}
	best := r.s.Meta.Pairs[sw.Best]
	fmt.Fprintf(out, "ensemble a&b: Dice %.4f HD95 %.3f; best stitch-ensemble %d (%s / %s): Dice %.4f HD95 %.3f\nwrote %s and %s\n",
		sw.Ensemble.Dice, sw.Ensemble.HD95, sw.Best, best.AName, best.BName, sw.Scores[sw.Best].Dice, sw.Scores[sw.Best].HD95, r.csvPath, r.pngPath)
	return nil
}

func runStitchSample(args []string, out io.Writer) error {
	fs := newFlags("stitch sample", out)
	load := stitchedEval(fs, "sample.csv", sampleCSV)
	per := fs.Int("per", 3, "networks drawn per number of stitched switches")
	seed := fs.Uint64("seed", 1, "sampling seed")
	if err := parse(fs, args); err != nil {
		return err
	}
	r, err := load()
	if err != nil {
		return err
	}
	res, sum, err := experiment.SampleFiles(r.s, r.samples, *per, *seed, r.batch, r.csvPath, r.pngPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d networks; mean Dice with at least half of the switches stitched: %.4f\nwrote %s and %s\n", len(res), sum, r.csvPath, r.pngPath)
	return nil
}

// labelledFiles collects repeated --csv LABEL=FILE flags.
type labelledFiles struct{ labels, files []string }

func (l *labelledFiles) String() string { return strings.Join(l.files, ",") }

func (l *labelledFiles) Set(v string) error {
	label, file, ok := strings.Cut(v, "=")
	if !ok || label == "" || file == "" {
		return fmt.Errorf("want LABEL=FILE, got %q", v)
	}
	if slices.Contains(l.labels, label) {
		return fmt.Errorf("label %q is given twice; each file needs its own", label)
	}
	l.labels, l.files = append(l.labels, label), append(l.files, file)
	return nil
}

func runStitchRQ1(args []string, out io.Writer) error {
	fs := newFlags("stitch rq1", out)
	var csvs labelledFiles
	fs.Var(&csvs, "csv", "LABEL=FILE: a CSV of `suture stitch sample` (repeat for each run, e.g. direct=a.csv double=b.csv)")
	dst := fs.String("out", "rq1.png", "plot of all runs")
	force := forceFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(csvs.files) == 0 {
		return usageErr("give at least one --csv LABEL=FILE")
	}
	if err := checkOutput(*dst, *force, pngOutput); err != nil {
		return err
	}
	var runs [][]experiment.SampleRow
	experiment.WriteRQ1Header(out)
	for i, f := range csvs.files {
		rows, err := experiment.ReadSampleCSV(f)
		if err != nil {
			return err
		}
		runs = append(runs, rows)
		experiment.WriteRQ1Row(out, csvs.labels[i], rows)
	}
	if err := experiment.PlotRQ1(*dst, csvs.labels, runs); err != nil {
		return err
	}
	fmt.Fprintf(out, "mean Dice of sampled networks by fraction of switches stitched; wrote %s\n", *dst)
	return nil
}
