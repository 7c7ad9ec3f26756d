package experiment

import (
	"context"
	"errors"
	"fmt"
	"os"

	"suture/io/ckpt"
	"suture/kernels"
	"suture/stitch"
	"suture/unet"
)

// StitchSpec describes a stitch-training job: networks A and B are joined
// at every matched pair and the stitches are trained on one party's images
// (labels unused). Out receives the stitched checkpoint after every epoch.
type StitchSpec struct {
	Out       string
	A, B      string // base U-Net checkpoints
	Data      string
	Size      int
	Fold      int
	SplitSeed uint64
	Split     string // which part to train on: train (the default), val, test or all
	Points    string // stitch candidates: all, stage or every:K (stitch.CheckPoints)
	Opts      stitch.TrainOptions
	// Resume continues the stitches in Out; Force overwrites Out. Without
	// either, an existing Out is an error.
	Resume, Force bool
	Loader        Loader // nil: LoadData
}

// StitchEvent reports a stitch job's progress.
type StitchEvent struct {
	Kind     string // "start" (Info), "step" (Progress), "epoch" (Epoch)
	Info     *StitchInfo
	Progress stitch.Progress
	Epoch    stitch.EpochLog
}

// StitchInfo describes a stitch job as it starts.
type StitchInfo struct {
	Pairs, Parameters, Images, Epochs int
	Mode                              stitch.TrainMode
	Resumed                           bool
}

// StitchTrain runs a stitch-training job. Cancelling ctx saves Out and
// returns an error wrapping ctx.Err().
func StitchTrain(ctx context.Context, b kernels.Backend, spec StitchSpec, ev func(StitchEvent)) (*Stitched, error) {
	emit := func(e StitchEvent) {
		if ev != nil {
			ev(e)
		}
	}
	if spec.Resume && spec.Force {
		return nil, fmt.Errorf("resume and force exclude each other")
	}
	lock, err := LockFile(spec.Out+".lock", spec.Out, "suture stitch")
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	defer os.Remove(spec.Out + ".lock")
	if _, err := os.Stat(spec.Out); err == nil && !spec.Resume && !spec.Force {
		return nil, runExists{fmt.Sprintf("%s already exists", spec.Out)}
	} else if err != nil && spec.Resume {
		return nil, fmt.Errorf("resume: %w", err)
	}
	var prev *Stitched
	if spec.Resume {
		// Every setting of a resumed run comes from its checkpoint; the
		// spec may leave them zero, and may not contradict them.
		if prev, err = stitch.Load(spec.Out, b, unet.LoadBase); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		var conflict error
		r := resumeRunInfo(&conflict, ckpt.RunInfo{Data: spec.Data, Fold: spec.Fold, SplitSeed: spec.SplitSeed, Seed: spec.Opts.Seed}, prev.Meta.Run)
		spec.Opts = resumeStitchOptions(&conflict, spec.Opts, prev.Meta.Train)
		spec.Points = keep(&conflict, "stitch points", spec.Points, prev.Meta.Points)
		if conflict != nil {
			return nil, fmt.Errorf("resume %s: %w", spec.Out, conflict)
		}
		spec.Data, spec.Fold, spec.SplitSeed = r.Data, r.Fold, r.SplitSeed
	}
	la, err := unet.Load(spec.A, b)
	if err != nil {
		return nil, err
	}
	lb, err := unet.Load(spec.B, b)
	if err != nil {
		return nil, err
	}
	part, err := LoadFold(spec.Loader, []string{spec.Data}, spec.Size, spec.SplitSeed, spec.Fold)
	if err != nil {
		return nil, err
	}
	split := spec.Split
	if split == "" {
		split = "train"
	}
	samples, err := part.Subset(split)
	if err != nil {
		return nil, err
	}
	x, err := Stack(samples)
	if err != nil {
		return nil, err
	}
	var s *Stitched
	if spec.Resume {
		s = prev
		if err := s.CheckBases(la.Model, lb.Model); err != nil {
			return nil, fmt.Errorf("resume %s: %w", spec.Out, err)
		}
	} else {
		sh := x.Shape
		if s, err = stitch.Join(b, la.Model, lb.Model, sh[1], sh[2], sh[3], spec.Points, stitch.DefaultMatchOptions(), spec.Opts.Seed); err != nil {
			return nil, err
		}
	}
	s.Meta.Run = ckpt.RunInfo{Data: spec.Data, Fold: spec.Fold, SplitSeed: spec.SplitSeed, Seed: spec.Opts.Seed}
	spec.Opts.Precision = spec.Opts.Precision.Stored()
	if err := kernels.UsePrecision(b, spec.Opts.Precision); err != nil {
		return nil, err
	}
	tr, err := stitch.NewTrainer(s.M, spec.Opts)
	if err != nil {
		return nil, err
	}
	if spec.Resume {
		if err := s.Resume(tr); err != nil {
			return nil, err
		}
	}
	emit(StitchEvent{Kind: "start", Info: &StitchInfo{Pairs: s.M.Pairs(), Parameters: s.M.Params.Trainable, Images: x.Shape[0],
		Epochs: tr.Opts.Epochs, Mode: tr.Opts.Mode, Resumed: spec.Resume}})
	tr.Progress = func(p stitch.Progress) { emit(StitchEvent{Kind: "step", Progress: p}) }
	tr.OnEpoch = func(tr *stitch.Trainer) error {
		if err := s.Save(spec.Out, tr); err != nil {
			return err
		}
		emit(StitchEvent{Kind: "epoch", Epoch: tr.State.Log[len(tr.State.Log)-1]})
		return nil
	}
	err = tr.Fit(ctx, x)
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		if serr := s.Save(spec.Out, tr); serr != nil {
			return nil, fmt.Errorf("interrupted, and saving failed: %w", serr)
		}
		return nil, fmt.Errorf("%w at epoch %d, step %d; saved %s, where a resumed run continues", err, tr.State.Epoch+1, tr.State.Iter, spec.Out)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}
