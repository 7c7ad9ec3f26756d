package experiment

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"suture/io/ckpt"
	"suture/io/imageset"
	"suture/kernels"
	"suture/unet"
)

// TrainSpec describes a U-Net training job. The run folder Dir receives
// last.ckpt (the model after the last epoch, with its training state, so a
// run resumes exactly), best.ckpt (the epoch with the best validation Dice,
// when Validate) and log.csv.
type TrainSpec struct {
	Dir string
	// Data names one dataset, or several whose fold parts are pooled
	// (training on the union of their training parts: "a + b").
	Data      []string
	Size      int // resize original Kvasir/CVC frames (0: as stored)
	Fold      int
	SplitSeed uint64
	Seed      uint64 // weights (a new network), batches and augmentation
	Opts      unet.TrainOptions
	Features  []int // features per stage (nil: the planner's)
	// Validate scores the validation part after every epoch (log.csv,
	// best.ckpt); without it no validation data is touched.
	Validate bool
	// FineTune, when set, starts from a trained network instead of a new one.
	FineTune *FineTuneSpec
	// Resume continues the run in Dir; Force discards it and starts over.
	// Without either, a Dir that already holds a run is an error.
	Resume, Force bool
	// Loader reads datasets (nil: LoadData); a runner passes a cache.
	Loader Loader
}

// Loader reads a dataset spec at a size, as LoadData does.
type Loader func(spec string, size int) (*imageset.Dataset, error)

// DataCache opens each dataset (a spec at a size) once, with LoadData, and
// hands out the same one after; its Load is a Loader. The local runner
// keeps one per run, a work queue's worker one per site (mapping the
// plan's specs to the site's copies first). It is safe for concurrent use.
type DataCache struct {
	// Opened, when set, is called with each spec as it is opened (not
	// when it is found in the cache).
	Opened func(spec string)

	mu   sync.Mutex
	sets map[string]*imageset.Dataset
}

// Load returns dataset spec at size, opening it on the first call.
func (c *DataCache) Load(spec string, size int) (*imageset.Dataset, error) {
	key := fmt.Sprintf("%s@%d", spec, size)
	c.mu.Lock()
	defer c.mu.Unlock()
	if ds, ok := c.sets[key]; ok {
		return ds, nil
	}
	if c.Opened != nil {
		c.Opened(spec)
	}
	ds, err := LoadData(spec, size)
	if err != nil {
		return nil, err
	}
	if c.sets == nil {
		c.sets = map[string]*imageset.Dataset{}
	}
	c.sets[key] = ds
	return ds, nil
}

// FineTuneSpec continues training a network on other data (DESIGN.md 7.1,
// docs/evaluation.md): the base learning rate is the original one times
// LRFactor, and over the first WarmupEpochs epochs the rate moves linearly
// from the original run's last non-zero rate to the new poly schedule.
type FineTuneSpec struct {
	From         string // checkpoint of the network to fine-tune
	LRFactor     float64
	WarmupEpochs int
}

// TrainEvent reports a training job's progress to the caller.
type TrainEvent struct {
	// Kind is "start" (Info set), "step" (Progress set) or "epoch"
	// (Epoch and Best set).
	Kind     string
	Info     *TrainInfo
	Progress unet.Progress
	Epoch    unet.EpochLog
	Best     bool
}

// TrainInfo describes a training job as it starts.
type TrainInfo struct {
	Data                  string
	Train, Val            int // images
	Shape                 [3]int
	Epochs                int
	Stages                int
	Features              []int
	Parameters            int
	Backend               string
	ResumedEpoch, Resumed int // epoch and step resumed at (Resumed = 1 when resuming)
	FromCheckpoint        string
	LR, WarmupFrom        float32
}

// TrainResult is what a finished training job left.
type TrainResult struct {
	Last, Best string // checkpoint paths (Best "" without validation)
	State      unet.State
	// Stopped is unet.ErrBudget when the time budget ended training early.
	Stopped error
}

// ErrRunExists is what the error of a training whose output already holds
// a run matches (errors.Is) when neither Resume nor Force is set.
var ErrRunExists = errors.New("the output already holds a run")

type runExists struct{ msg string }

func (e runExists) Error() string        { return e.msg }
func (e runExists) Is(target error) bool { return target == ErrRunExists }

// runFiles are the files a training run writes into its folder.
var runFiles = []string{"last.ckpt", "best.ckpt", "log.csv"}

// claimRunDir locks dir and applies the resume/force rule: a folder that
// already holds a run is refused unless resume (continue it) or force
// (discard it) is set.
func claimRunDir(dir, what, marker string, resume, force bool) (*Lock, bool, error) {
	if resume && force {
		return nil, false, fmt.Errorf("resume and force exclude each other")
	}
	lock, err := LockDir(dir, what)
	if err != nil {
		return nil, false, err
	}
	_, statErr := os.Stat(filepath.Join(dir, marker))
	exists := statErr == nil
	switch {
	case resume && !exists:
		lock.Unlock()
		return nil, false, fmt.Errorf("resume: %s holds no run to continue (no %s)", dir, marker)
	case exists && !resume && !force:
		lock.Unlock()
		return nil, false, runExists{fmt.Sprintf("%s already holds a run (%s)", dir, marker)}
	case exists && force:
		for _, f := range append(runFiles, "fed.ckpt") {
			if err := os.Remove(filepath.Join(dir, f)); err != nil && !os.IsNotExist(err) {
				lock.Unlock()
				return nil, false, err
			}
		}
	}
	return lock, resume, nil
}

// LoadFold loads every dataset spec, splits each as the paper does and
// joins the parts of fold k (one spec: just its parts).
func LoadFold(load Loader, specs []string, size int, splitSeed uint64, fold int) (*Partition, error) {
	if len(specs) == 0 {
		return nil, fmt.Errorf("no dataset given")
	}
	if load == nil {
		load = LoadData
	}
	var all *Partition
	for _, spec := range specs {
		ds, err := load(spec, size)
		if err != nil {
			return nil, err
		}
		p, err := Split(ds, splitSeed, fold)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
		if all == nil {
			all = p
			continue
		}
		all.Train = append(all.Train, p.Train...)
		all.Val = append(all.Val, p.Val...)
		all.Test = append(all.Test, p.Test...)
	}
	return all, nil
}

// planFor plans the U-Net for the training images (the pooled data's
// images all have one size: the combined fingerprint is that size) and
// applies features when given.
func planFor(part *Partition, classes int, features []int) (*unet.Config, error) {
	img := part.Train[0].Image
	for _, s := range part.Train {
		if !s.Image.Shape.Equal(img.Shape) {
			return nil, fmt.Errorf("sample %q: image %v differs from %v; pooled datasets must share one image size", s.Name, s.Image.Shape, img.Shape)
		}
	}
	return planShape([3]int{img.Shape[0], img.Shape[1], img.Shape[2]}, classes, features)
}

// planShape plans the U-Net for images of shape (C, H, W) and applies
// features when given.
func planShape(shape [3]int, classes int, features []int) (*unet.Config, error) {
	cfg, err := unet.Plan(shape[1], shape[2], shape[0], classes)
	if err != nil {
		return nil, err
	}
	if features != nil {
		if len(features) != cfg.NStages {
			return nil, fmt.Errorf("%d features given, the planner gives %d stages for %dx%d images", len(features), cfg.NStages, shape[1], shape[2])
		}
		cfg.FeaturesPerStage = append([]int(nil), features...)
	}
	return cfg, nil
}

func classesOf(part *Partition) int {
	k := 0
	for _, s := range part.Train {
		for _, v := range s.Mask.Data {
			k = max(k, int(v))
		}
	}
	return max(k+1, 2)
}

// Train runs a U-Net training job (a new network, a fine-tuning, or
// training on pooled data) and writes its run folder. ev, when not nil,
// receives progress. Cancelling ctx saves last.ckpt and returns an error
// wrapping ctx.Err() that says where training stopped.
func Train(ctx context.Context, b kernels.Backend, spec TrainSpec, ev func(TrainEvent)) (*TrainResult, error) {
	emit := func(e TrainEvent) {
		if ev != nil {
			ev(e)
		}
	}
	if !spec.Resume && (spec.Opts.Epochs < 1 || spec.Opts.BatchSize < 1) {
		return nil, fmt.Errorf("epochs (%d) and batch size (%d) must be >= 1", spec.Opts.Epochs, spec.Opts.BatchSize)
	}
	lock, resume, err := claimRunDir(spec.Dir, "suture train", "last.ckpt", spec.Resume, spec.Force)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	run := ckpt.RunInfo{Data: strings.Join(spec.Data, "+"), Fold: spec.Fold, SplitSeed: spec.SplitSeed, Seed: spec.Seed}
	last := filepath.Join(spec.Dir, "last.ckpt")
	opts := spec.Opts
	opts.Seed = spec.Seed
	var loaded *unet.Loaded
	if resume {
		if loaded, run, opts, err = resumeTrain(b, spec, last, run, opts); err != nil {
			return nil, err
		}
	}
	data := spec.Data
	if resume && len(data) == 0 {
		data = strings.Split(run.Data, "+")
	}
	part, err := LoadFold(spec.Loader, data, spec.Size, run.SplitSeed, run.Fold)
	if err != nil {
		return nil, err
	}
	info := &TrainInfo{Data: run.Data, Train: len(part.Train), Val: len(part.Val), Backend: b.Name()}
	m, err := trainModel(b, spec, part, loaded, &opts, info)
	if err != nil {
		return nil, err
	}
	tr, err := startTrainer(b, m, &opts, loaded)
	if err != nil {
		return nil, err
	}
	img := part.Train[0].Image
	info.Shape = [3]int{img.Shape[0], img.Shape[1], img.Shape[2]}
	info.Epochs, info.Stages, info.Features, info.Parameters = opts.Epochs, m.Config.NStages, m.Config.FeaturesPerStage, m.Params.Trainable
	info.LR, info.WarmupFrom = opts.LR, opts.WarmupFrom
	emit(TrainEvent{Kind: "start", Info: info})
	return fitTrain(ctx, spec, part, m, tr, run, last, emit)
}

// resumeTrain loads the checkpoint last of a run to resume, and returns it
// with the run's settings: every setting of a resumed run comes from its
// checkpoint; the spec (run, opts) may leave them zero, and may not
// contradict them.
func resumeTrain(b kernels.Backend, spec TrainSpec, last string, run ckpt.RunInfo, opts unet.TrainOptions) (*unet.Loaded, ckpt.RunInfo, unet.TrainOptions, error) {
	loaded, err := unet.Load(last, b)
	if err != nil {
		return nil, run, opts, fmt.Errorf("resume: %w", err)
	}
	var conflict error
	run = resumeRunInfo(&conflict, run, loaded.Meta.Run)
	opts = resumeUNetOptions(&conflict, opts, loaded.Meta.Train, spec.FineTune != nil)
	opts.Seed = run.Seed
	if fs := loaded.Model.Config.FeaturesPerStage; spec.Features != nil && !slices.Equal(spec.Features, fs) && conflict == nil {
		conflict = fmt.Errorf("features %v contradict the run's %v (a resumed run keeps the settings of its checkpoint)", spec.Features, fs)
	}
	if conflict != nil {
		return nil, run, opts, fmt.Errorf("resume %s: %w", last, conflict)
	}
	return loaded, run, opts, nil
}

// trainModel returns the network a Train job starts from: the resumed
// checkpoint's (loaded, when not nil), the fine-tuned checkpoint's (whose
// learning-rate schedule it continues in opts), or a new network planned
// for part. It notes where the network came from in info.
func trainModel(b kernels.Backend, spec TrainSpec, part *Partition, loaded *unet.Loaded, opts *unet.TrainOptions, info *TrainInfo) (*unet.Model, error) {
	switch {
	case loaded != nil:
		info.ResumedEpoch, info.Resumed = loaded.Meta.State.Epoch, 1
		return loaded.Model, nil
	case spec.FineTune != nil:
		ft := spec.FineTune
		from, err := unet.Load(ft.From, b)
		if err != nil {
			return nil, fmt.Errorf("fine-tune: %w", err)
		}
		orig := from.Meta.Train
		if orig.LR <= 0 || orig.Epochs < 1 {
			return nil, fmt.Errorf("fine-tune: %s records no learning-rate schedule to continue from", ft.From)
		}
		if ft.LRFactor <= 0 || ft.WarmupEpochs < 0 {
			return nil, fmt.Errorf("fine-tune: learning-rate factor %g must be > 0 and warm-up %d epochs >= 0", ft.LRFactor, ft.WarmupEpochs)
		}
		opts.LR = float32(float64(orig.LR) * ft.LRFactor)
		opts.WarmupEpochs, opts.WarmupFrom = ft.WarmupEpochs, orig.LastLR()
		info.FromCheckpoint = ft.From
		return from.Model, nil
	default:
		cfg, err := planFor(part, classesOf(part), spec.Features)
		if err != nil {
			return nil, err
		}
		return unet.NewModel(b, cfg, spec.Seed)
	}
}

// fitTrain trains m with tr on part's training images (validating on its
// validation images when spec.Validate) and returns the result. After
// every epoch it writes best.ckpt (when the epoch is the best), log.csv
// and last.ckpt; when ctx is cancelled it saves last.ckpt and returns an
// error that says where training stopped. A spent budget ends training
// without an error (TrainResult.Stopped).
func fitTrain(ctx context.Context, spec TrainSpec, part *Partition, m *unet.Model, tr *unet.Trainer, run ckpt.RunInfo, last string, emit func(TrainEvent)) (*TrainResult, error) {
	res := &TrainResult{Last: last}
	tr.Progress = func(p unet.Progress) { emit(TrainEvent{Kind: "step", Progress: p}) }
	tr.OnEpoch = func(tr *unet.Trainer, isBest bool) error {
		if isBest {
			res.Best = filepath.Join(spec.Dir, "best.ckpt")
			if err := unet.Save(res.Best, m, tr, run); err != nil {
				return err
			}
		}
		if err := WriteTrainLog(filepath.Join(spec.Dir, "log.csv"), tr.State.Log); err != nil {
			return err
		}
		if err := unet.Save(last, m, tr, run); err != nil {
			return err
		}
		emit(TrainEvent{Kind: "epoch", Epoch: tr.State.Log[len(tr.State.Log)-1], Best: isBest})
		return nil
	}
	var val []unet.Input
	if spec.Validate {
		val = part.Val
	}
	err := tr.Fit(ctx, part.Train, val)
	res.State = tr.State
	switch {
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		if serr := unet.Save(last, m, tr, run); serr != nil {
			return nil, fmt.Errorf("interrupted, and saving failed: %w", serr)
		}
		return nil, fmt.Errorf("%w at epoch %d, step %d; saved %s, where a resumed run continues", err, tr.State.Epoch+1, tr.State.Iter, last)
	case errors.Is(err, unet.ErrBudget):
		res.Stopped = err
	case err != nil:
		return nil, err
	}
	if tr.State.BestEpoch >= 0 && spec.Validate {
		res.Best = filepath.Join(spec.Dir, "best.ckpt")
	}
	return res, nil
}

// startTrainer makes m's trainer with opts, its precision set on b and
// recorded as stored ("" for FP32), and restores the training state of
// loaded, the checkpoint being resumed (nil for a new run).
func startTrainer(b kernels.Backend, m *unet.Model, opts *unet.TrainOptions, loaded *unet.Loaded) (*unet.Trainer, error) {
	opts.Precision = opts.Precision.Stored()
	if err := kernels.UsePrecision(b, opts.Precision); err != nil {
		return nil, err
	}
	tr, err := unet.NewTrainer(m, *opts)
	if err != nil {
		return nil, err
	}
	if loaded != nil {
		if err := loaded.Resume(tr); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
	}
	return tr, nil
}
