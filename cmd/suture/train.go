package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"suture/experiment"
	"suture/internal/progress"
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
	rf := addRunFlags(fs, "dataset folder, or synth:PARTY[:N[:SIZE[:SEED]]] for the embedded synthetic data",
		"cross-validation fold 0..4 (validation part)", "resize original Kvasir/CVC frames to this size (0: as stored)",
		"continue the run in RUNDIR (from last.ckpt)", "discard a run already in RUNDIR and start over")
	rundir := fs.String("out", "", "run folder: last.ckpt, best.ckpt and log.csv go here")
	opts := unet.DefaultTrainOptions()
	fs.IntVar(&opts.Epochs, "epochs", opts.Epochs, "epochs (the poly schedule spans them)")
	budget := fs.Duration("budget", 0, "stop after the first whole epoch that ends past this wall-clock time (e.g. 30m)")
	seed := fs.Uint64("seed", 1, "seed of weights, batches and augmentation")
	fs.IntVar(&opts.BatchSize, "batch", opts.BatchSize, "images per step")
	fs.IntVar(&opts.ItersPerEpoch, "iters", 0, "steps per epoch (0: one pass over the training part)")
	lr := fs.Float64("lr", float64(opts.LR), "initial learning rate")
	noAug := fs.Bool("no-augment", false, "turn data augmentation off")
	features := fs.String("features", "", "features per stage, e.g. 32,64,128,256 (default: nnU-Net's planner)")
	mkBackend := backendFlag(fs)
	startProfile := profileFlag(fs, "the training")
	profileRun := runProfileFlag(fs)
	if err := parse(fs, args, "out"); err != nil {
		return err
	}
	if !*rf.resume {
		if err := require("data", *rf.data); err != nil {
			return err
		}
	}
	if opts.Epochs < 1 || opts.BatchSize < 1 {
		return usageErr("--epochs and --batch must be >= 1")
	}
	prec, err := rf.check()
	if err != nil {
		return err
	}
	f, err := parseInts(*features)
	if err != nil {
		return usageErr("--features: %v", err)
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
	spec := experiment.TrainSpec{Dir: *rundir, Data: []string{*rf.data}, Size: *rf.size, Fold: *rf.fold, SplitSeed: *rf.splitSeed,
		Seed: *seed, Opts: opts, Features: f, Validate: true, Resume: *rf.resume, Force: *rf.force}
	if *rf.resume {
		// Every setting of a resumed run comes from its checkpoint; a flag
		// given may only repeat it.
		prev, err := experiment.TrainRun(*rundir)
		if err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
		if err := sameAsRun(fs, *rundir, []runSetting{
			{"data", *rf.data, strings.Join(prev.Data, "+")}, {"epochs", opts.Epochs, prev.Opts.Epochs},
			{"batch", opts.BatchSize, prev.Opts.BatchSize}, {"iters", opts.ItersPerEpoch, prev.Opts.ItersPerEpoch},
			{"lr", float32(*lr), prev.Opts.LR}, {"no-augment", *noAug, prev.Opts.NoAugment},
			{"precision", prec, prev.Opts.Precision.OrFP32()}, {"features", fmt.Sprint(f), fmt.Sprint(prev.Features)},
			{"fold", *rf.fold, prev.Fold}, {"seed", *seed, prev.Seed}, {"split-seed", *rf.splitSeed, prev.SplitSeed},
		}); err != nil {
			return err
		}
		prev.Opts.Budget, prev.Size, prev.Validate = *budget, *rf.size, true
		spec = prev
	}
	bar := progress.New(out)
	stopProfile, err := startProfile()
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := experiment.Train(ctx, b, spec, func(e experiment.TrainEvent) { experiment.WriteTrainEvent(out, bar, e) })
	stopProfile()
	bar.Done()
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
