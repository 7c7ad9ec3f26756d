package experiment

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"suture/io/ckpt"
	"suture/kernels"
	"suture/stitch"
	"suture/unet"
)

// A resumed run keeps every setting of its checkpoint: a setting left zero
// in the spec is the run's, and one that differs from the run's is an
// error (never a silent change of schedule half-way through a run).

// keep returns the run's value of a setting; given is the spec's value,
// which must be zero or equal to it. The first contradiction is kept in
// *err.
func keep[T comparable](err *error, name string, given, run T) T {
	var zero T
	if given != zero && given != run && *err == nil {
		*err = fmt.Errorf("%s %v contradicts the run's %v (a resumed run keeps the settings of its checkpoint)", name, given, run)
	}
	return run
}

// keepPrecision is keep for a precision, where "" (not given, or FP32 as
// stored) and "fp32" are the same.
func keepPrecision(err *error, given, run kernels.Precision) kernels.Precision {
	if given != "" && given.OrFP32() != run.OrFP32() && *err == nil {
		*err = fmt.Errorf("precision %s contradicts the run's %s (a resumed run keeps the settings of its checkpoint)", given, run.OrFP32())
	}
	return run.Stored()
}

// resumeRunInfo merges the spec's run identity into the checkpoint's.
func resumeRunInfo(err *error, given, run ckpt.RunInfo) ckpt.RunInfo {
	return ckpt.RunInfo{
		Data:      keep(err, "data", given.Data, run.Data),
		Fold:      keep(err, "fold", given.Fold, run.Fold),
		SplitSeed: keep(err, "split seed", given.SplitSeed, run.SplitSeed),
		Seed:      keep(err, "seed", given.Seed, run.Seed),
	}
}

// resumeUNetOptions merges the spec's U-Net options into the checkpoint's;
// the time budget is the spec's (it limits this call, not the run). A
// fine-tuning records its derived learning rate, so its spec's base rate
// is not compared.
func resumeUNetOptions(err *error, given, run unet.TrainOptions, fineTune bool) unet.TrainOptions {
	o := run
	o.Epochs = keep(err, "epochs", given.Epochs, run.Epochs)
	o.BatchSize = keep(err, "batch size", given.BatchSize, run.BatchSize)
	o.ItersPerEpoch = keep(err, "steps per epoch", given.ItersPerEpoch, run.ItersPerEpoch)
	if !fineTune {
		o.LR = keep(err, "learning rate", given.LR, run.LR)
		o.WarmupEpochs = keep(err, "warm-up epochs", given.WarmupEpochs, run.WarmupEpochs)
		o.WarmupFrom = keep(err, "warm-up learning rate", given.WarmupFrom, run.WarmupFrom)
	}
	o.Momentum = keep(err, "momentum", given.Momentum, run.Momentum)
	o.WeightDecay = keep(err, "weight decay", given.WeightDecay, run.WeightDecay)
	o.ClipNorm = keep(err, "gradient clipping norm", given.ClipNorm, run.ClipNorm)
	o.NoAugment = keep(err, "no-augmentation", given.NoAugment, run.NoAugment)
	o.Augment = keep(err, "augmentation", given.Augment, run.Augment)
	o.Patch = keep(err, "patch", given.Patch, run.Patch)
	o.Precision = keepPrecision(err, given.Precision, run.Precision)
	o.Budget = given.Budget
	return o
}

// resumeStitchOptions merges the spec's stitch options into the
// checkpoint's. The mode's zero value is Direct, so a spec's mode is
// compared only when other options are given too (a spec with zero
// options inherits everything).
func resumeStitchOptions(err *error, given, run stitch.TrainOptions) stitch.TrainOptions {
	o := run
	if given != (stitch.TrainOptions{}) && given.Mode != run.Mode && *err == nil {
		*err = fmt.Errorf("mode %v contradicts the run's %v (a resumed run keeps the settings of its checkpoint)", given.Mode, run.Mode)
	}
	o.Epochs = keep(err, "epochs", given.Epochs, run.Epochs)
	o.BatchSize = keep(err, "batch size", given.BatchSize, run.BatchSize)
	o.ItersPerEpoch = keep(err, "steps per epoch", given.ItersPerEpoch, run.ItersPerEpoch)
	o.LR = keep(err, "learning rate", given.LR, run.LR)
	o.WeightDecay = keep(err, "weight decay", given.WeightDecay, run.WeightDecay)
	o.Seed = keep(err, "seed", given.Seed, run.Seed)
	o.Mirror = keep(err, "mirroring", given.Mirror, run.Mirror)
	o.Precision = keepPrecision(err, given.Precision, run.Precision)
	return o
}

// TrainRun reads the settings of the training run in dir from its
// last.ckpt: the spec a resumed run continues with (Resume set).
func TrainRun(dir string) (TrainSpec, error) {
	path := filepath.Join(dir, "last.ckpt")
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return TrainSpec{}, fmt.Errorf("%s holds no run to continue (no last.ckpt)", dir)
	}
	c, err := ckpt.Read(path)
	if err != nil {
		return TrainSpec{}, err
	}
	var meta unet.Meta
	if err := c.GetMeta("unet", &meta); err != nil {
		return TrainSpec{}, fmt.Errorf("%s: %w", path, err)
	}
	if meta.Config == nil || meta.Train.Epochs < 1 {
		return TrainSpec{}, fmt.Errorf("%s records no training run", path)
	}
	r := meta.Run
	o := meta.Train
	o.Budget = 0
	return TrainSpec{Dir: dir, Data: strings.Split(r.Data, "+"), Fold: r.Fold, SplitSeed: r.SplitSeed, Seed: r.Seed,
		Opts: o, Features: meta.Config.FeaturesPerStage, Resume: true}, nil
}

// StitchRun reads the settings of the stitch training in out: the spec a
// resumed run continues with (Resume set). A, B, Size and Split are not
// recorded and stay empty.
func StitchRun(out string) (StitchSpec, error) {
	c, err := ckpt.Read(out)
	if err != nil {
		return StitchSpec{}, err
	}
	var meta stitch.Meta
	if err := c.GetMeta("stitched", &meta); err != nil {
		return StitchSpec{}, fmt.Errorf("%s: %w", out, err)
	}
	if meta.Train.Epochs < 1 {
		return StitchSpec{}, fmt.Errorf("%s records no stitch training", out)
	}
	r := meta.Run
	return StitchSpec{Out: out, Data: r.Data, Fold: r.Fold, SplitSeed: r.SplitSeed, Points: meta.Points, Opts: meta.Train, Resume: true}, nil
}
