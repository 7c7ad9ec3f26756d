package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"suture/experiment"
	"suture/kernels"
	"suture/unet"
)

// parseInts reads a comma-separated list of positive integers ("" is nil).
func parseInts(s string) ([]int, error) { return parseIntList(s, 1) }

// parseIntList reads a comma-separated list of integers >= lo ("" is nil).
func parseIntList(s string, lo int) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < lo {
			return nil, fmt.Errorf("%q is not a list of integers >= %d", s, lo)
		}
		out = append(out, v)
	}
	return out, nil
}

func runTrain(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("train", out)
	data := fs.String("data", "", "dataset folder, or synth:PARTY[:N[:SIZE[:SEED]]] for the embedded synthetic data")
	rundir := fs.String("out", "", "run folder: last.ckpt, best.ckpt and log.csv go here")
	opts := unet.DefaultTrainOptions()
	fs.IntVar(&opts.Epochs, "epochs", opts.Epochs, "epochs (the poly schedule spans them)")
	budget := fs.Duration("budget", 0, "stop after the first whole epoch that ends past this wall-clock time (e.g. 30m)")
	fold := fs.Int("fold", 0, "cross-validation fold 0..4 (validation part)")
	seed := fs.Uint64("seed", 1, "seed of weights, batches and augmentation")
	splitSeed := fs.Uint64("split-seed", 0, "seed of the six-part split")
	fs.IntVar(&opts.BatchSize, "batch", opts.BatchSize, "images per step")
	fs.IntVar(&opts.ItersPerEpoch, "iters", 0, "steps per epoch (0: one pass over the training part)")
	lr := fs.Float64("lr", float64(opts.LR), "initial learning rate")
	noAug := fs.Bool("no-augment", false, "turn data augmentation off")
	features := fs.String("features", "", "features per stage, e.g. 32,64,128,256 (default: nnU-Net's planner)")
	resume := fs.Bool("resume", false, "continue the run in RUNDIR (from last.ckpt)")
	force := fs.Bool("force", false, "discard a run already in RUNDIR and start over")
	size := fs.Int("size", 0, "resize original Kvasir/CVC frames to this size (0: as stored)")
	precision := fs.String("precision", "fp32", precisionUsage)
	mkBackend := backendFlag(fs)
	startProfile := profileFlag(fs, "the training")
	profileRun := runProfileFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require("out", *rundir); err != nil {
		return err
	}
	if !*resume {
		if err := require("data", *data); err != nil {
			return err
		}
	}
	if opts.Epochs < 1 || opts.BatchSize < 1 {
		return usageErr("--epochs and --batch must be >= 1")
	}
	if *resume && *force {
		return usageErr("--resume and --force exclude each other")
	}
	f, err := parseInts(*features)
	if err != nil {
		return usageErr("--features: %v", err)
	}
	prec, err := kernels.ParsePrecision(*precision)
	if err != nil {
		return usageErr("--precision: %v", err)
	}
	opts.LR, opts.Budget, opts.NoAugment, opts.Precision = float32(*lr), *budget, *noAug, prec.Stored()
	b, err := mkBackend()
	if err != nil {
		return err
	}
	b, endProfile, err := profileRun(b)
	if err != nil {
		return err
	}
	defer endProfile()
	spec := experiment.TrainSpec{Dir: *rundir, Data: []string{*data}, Size: *size, Fold: *fold, SplitSeed: *splitSeed,
		Seed: *seed, Opts: opts, Features: f, Validate: true, Resume: *resume, Force: *force}
	if *resume {
		// Every setting of a resumed run comes from its checkpoint; a flag
		// given may only repeat it.
		prev, err := experiment.TrainRun(*rundir)
		if err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
		if err := sameAsRun(fs, *rundir, []runSetting{
			{"data", *data, strings.Join(prev.Data, "+")},
			{"epochs", opts.Epochs, prev.Opts.Epochs},
			{"batch", opts.BatchSize, prev.Opts.BatchSize},
			{"iters", opts.ItersPerEpoch, prev.Opts.ItersPerEpoch},
			{"lr", float32(*lr), prev.Opts.LR},
			{"no-augment", *noAug, prev.Opts.NoAugment},
			{"precision", prec, prev.Opts.Precision.OrFP32()},
			{"features", fmt.Sprint(f), fmt.Sprint(prev.Features)},
			{"fold", *fold, prev.Fold},
			{"seed", *seed, prev.Seed},
			{"split-seed", *splitSeed, prev.SplitSeed},
		}); err != nil {
			return err
		}
		prev.Opts.Budget, prev.Size, prev.Validate = *budget, *size, true
		spec = prev
	}
	bar := newProgress(out)
	stopProfile, err := startProfile()
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := experiment.Train(ctx, b, spec, func(e experiment.TrainEvent) { printTrainEvent(out, bar, e) })
	stopProfile()
	bar.done()
	if err != nil {
		return trainErr(err)
	}
	if res.Stopped != nil {
		fmt.Fprintf(out, "time budget %v reached after %d epochs\n", *budget, res.State.Epoch)
	}
	fmt.Fprintf(out, "done in %v: best validation Dice %.4f at epoch %d; %s, %s\n", time.Since(start).Round(time.Second),
		res.State.BestDice, res.State.BestEpoch+1, res.Best, res.Last)
	return nil
}

// runSetting is a flag's value and the resumed run's value of its setting.
type runSetting struct {
	flag       string
	given, run any
}

// sameAsRun checks that each flag given on the command line repeats the
// resumed run's setting.
func sameAsRun(fs *flag.FlagSet, what string, settings []runSetting) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, s := range settings {
		if given[s.flag] && s.given != s.run {
			return usageErr("--%s %v contradicts the run in %s (%v); a resumed run keeps every setting of its checkpoint, so leave --%s out",
				s.flag, s.given, what, s.run, s.flag)
		}
	}
	return nil
}

// printTrainEvent prints a training job's progress as `suture train` does.
func printTrainEvent(out io.Writer, bar *progress, e experiment.TrainEvent) {
	switch e.Kind {
	case "start":
		i := e.Info
		if i.Resumed > 0 {
			fmt.Fprintf(out, "resuming at epoch %d\n", i.ResumedEpoch+1)
		}
		if i.FromCheckpoint != "" {
			fmt.Fprintf(out, "fine-tuning %s: base learning rate %.3g, warm-up from %.3g\n", i.FromCheckpoint, i.LR, i.WarmupFrom)
		}
		fmt.Fprintf(out, "training %s (%d train, %d validation images of %v) for %d epochs on %s\n", i.Data, i.Train, i.Val, i.Shape, i.Epochs, i.Backend)
		fmt.Fprintf(out, "network: %d stages, features %v, %d parameters\n", i.Stages, i.Features, i.Parameters)
	case "step":
		p := e.Progress
		bar.update(p.Iter, p.Iters, fmt.Sprintf("epoch %d/%d  step %d/%d  loss %.4f", p.Epoch+1, p.Epochs, p.Iter, p.Iters, p.Loss))
	case "epoch":
		bar.done()
		row, mark := e.Epoch, ""
		if e.Best {
			mark = "  (best)"
		}
		fmt.Fprintf(out, "epoch %3d  loss %.4f  val Dice %.4f  lr %.5f  %.1fs%s\n", row.Epoch+1, row.TrainLoss, row.ValDice, row.LR, row.Seconds, mark)
	}
}

// trainErr adds to a training's error the flags that deal with it: Ctrl-C
// (continue with --resume), a run already in the output (--resume or
// --force).
func trainErr(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return interrupted(fmt.Errorf("%w (continue with --resume)", err))
	case errors.Is(err, experiment.ErrRunExists):
		return fmt.Errorf("%w; continue it with --resume or start over with --force", err)
	}
	return err
}

// interrupted marks an error caused by Ctrl-C (exit status 130).
func interrupted(err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: %v", errInterrupted, err)
	}
	return err
}
