package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"suture/experiment"
	"suture/io/ckpt"
	"suture/kernels"
	_ "suture/kernels/cpu" // registers the cpu backends
	"suture/unet"
)

// notices receives one-line notices that must not mix with results on stdout.
var notices io.Writer = os.Stderr

// backendFlag adds --backend and returns a function that makes it. A
// backend that cannot start here (no GPU, no driver, not built in) falls
// back to the CPU with a one-line notice on stderr.
func backendFlag(fs interface {
	String(name, value, usage string) *string
}) func() (kernels.Backend, error) {
	name := fs.String("backend", "cpu", "compute backend: "+strings.Join(kernels.Names(), ", ")+" (cuda with -tags cuda)")
	return func() (kernels.Backend, error) {
		b, err := kernels.Get(*name)
		if err == nil || *name == "cpu" {
			return b, err
		}
		fmt.Fprintf(notices, "suture: backend %s unavailable (%v); using cpu\n", *name, err)
		return kernels.Get("cpu")
	}
}

func parseInts(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%q is not a list of positive integers", s)
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
	resume := fs.Bool("resume", false, "continue from RUNDIR/last.ckpt")
	size := fs.Int("size", 0, "resize original Kvasir/CVC frames to this size (0: as stored)")
	mkBackend := backendFlag(fs)
	startProfile := profileFlag(fs, "the training")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require(map[string]string{"data": *data, "out": *rundir}); err != nil {
		return err
	}
	if opts.Epochs < 1 || opts.BatchSize < 1 {
		return usageErr("--epochs and --batch must be >= 1")
	}
	opts.LR, opts.Seed, opts.Budget, opts.NoAugment = float32(*lr), *seed, *budget, *noAug
	b, err := mkBackend()
	if err != nil {
		return err
	}
	ds, err := experiment.LoadData(*data, *size)
	if err != nil {
		return err
	}
	part, err := experiment.Split(ds, *splitSeed, *fold)
	if err != nil {
		return err
	}
	run := ckpt.RunInfo{Data: *data, Fold: *fold, SplitSeed: *splitSeed, Seed: *seed}
	if err := os.MkdirAll(*rundir, 0o755); err != nil {
		return err
	}
	last := filepath.Join(*rundir, "last.ckpt")
	var m *unet.Model
	var loaded *unet.Loaded
	if *resume {
		if loaded, err = unet.Load(last, b); err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		m = loaded.Model
		if loaded.Meta.Run != run {
			return fmt.Errorf("resume: %s was trained with %+v, this run asks for %+v", last, loaded.Meta.Run, run)
		}
	} else {
		img := part.Train[0].Image
		cfg, err := unet.Plan(img.Shape[1], img.Shape[2], img.Shape[0], ds.Classes)
		if err != nil {
			return err
		}
		if f, err := parseInts(*features); err != nil {
			return usageErr("--features: %v", err)
		} else if f != nil {
			if len(f) != cfg.NStages {
				return usageErr("--features has %d stages, the planner gives %d for %dx%d images", len(f), cfg.NStages, img.Shape[1], img.Shape[2])
			}
			cfg.FeaturesPerStage = f
		}
		if m, err = unet.NewModel(b, cfg, *seed); err != nil {
			return err
		}
	}
	tr, err := unet.NewTrainer(m, opts)
	if err != nil {
		return err
	}
	if loaded != nil {
		if err := loaded.Resume(tr); err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		fmt.Fprintf(out, "resuming %s at epoch %d, iteration %d\n", last, tr.State.Epoch, tr.State.Iter)
	}
	fmt.Fprintf(out, "training %s (fold %d: %d train, %d validation images of %v) for %d epochs on %s\n",
		*data, *fold, len(part.Train), len(part.Val), part.Train[0].Image.Shape, opts.Epochs, b.Name())
	fmt.Fprintf(out, "network: %d stages, features %v, %d parameters\n", m.Config.NStages, m.Config.FeaturesPerStage, m.Params.Trainable)
	bar := newProgress(out)
	tr.Progress = func(p unet.Progress) {
		bar.update(p.Iter, p.Iters, fmt.Sprintf("epoch %d/%d  step %d/%d  loss %.4f", p.Epoch+1, p.Epochs, p.Iter, p.Iters, p.Loss))
	}
	tr.OnEpoch = func(tr *unet.Trainer, isBest bool) error {
		bar.done()
		row := tr.State.Log[len(tr.State.Log)-1]
		mark := ""
		if isBest {
			mark = "  (best)"
			if err := unet.Save(filepath.Join(*rundir, "best.ckpt"), m, tr, run); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "epoch %3d  loss %.4f  val Dice %.4f  lr %.5f  %.1fs%s\n", row.Epoch+1, row.TrainLoss, row.ValDice, row.LR, row.Seconds, mark)
		if err := experiment.WriteTrainLog(filepath.Join(*rundir, "log.csv"), tr.State.Log); err != nil {
			return err
		}
		return unet.Save(last, m, tr, run)
	}
	stopProfile, err := startProfile()
	if err != nil {
		return err
	}
	start := time.Now()
	err = tr.Fit(ctx, part.Train, part.Val)
	stopProfile()
	bar.done()
	switch {
	case errors.Is(err, context.Canceled):
		if serr := unet.Save(last, m, tr, run); serr != nil {
			return fmt.Errorf("interrupted, and saving failed: %w", serr)
		}
		return fmt.Errorf("%w at epoch %d, step %d; saved %s (continue with --resume)", errInterrupted, tr.State.Epoch+1, tr.State.Iter, last)
	case errors.Is(err, unet.ErrBudget):
		fmt.Fprintf(out, "time budget %v reached after %d epochs\n", *budget, tr.State.Epoch)
	case err != nil:
		return err
	}
	fmt.Fprintf(out, "done in %v: best validation Dice %.4f at epoch %d; %s, %s\n", time.Since(start).Round(time.Second),
		tr.State.BestDice, tr.State.BestEpoch+1, filepath.Join(*rundir, "best.ckpt"), last)
	return nil
}
