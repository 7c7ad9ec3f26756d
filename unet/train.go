package unet

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"suture/autograd"
	"suture/kernels"
	"suture/nn"
	"suture/tensor"
)

// Input is one image as the network takes it, for training, scoring or
// prediction: its name, the image and, when known, its mask (the target).
// A dataset's record (imageset.Sample) holds more: the sample's group,
// which splits keep together; unet does not read datasets.
type Input struct {
	Name  string
	Image *tensor.Tensor // Image: (C, H, W), raw intensities (normalised by the model)
	Mask  *tensor.Tensor // Mask: (1, H, W) class indices; nil when unknown
}

// TrainOptions are nnU-Net's training defaults unless set otherwise.
type TrainOptions struct {
	Epochs int // number of epochs (poly schedule length)
	// ItersPerEpoch is the number of batches per epoch; 0 means one pass
	// over the training data (ceil(n / BatchSize)).
	ItersPerEpoch int
	BatchSize     int
	LR            float32 // initial learning rate (1e-2)
	Momentum      float32 // SGD Nesterov momentum (0.99)
	WeightDecay   float32 // (3e-5)
	ClipNorm      float64 // gradient-norm clipping (12)
	Seed          uint64
	// Augment is applied to every training sample unless NoAugment.
	Augment   Augment
	NoAugment bool
	// Patch is the training crop (H, W); zero means the whole image. With
	// crops, a third of the samples are centred on foreground.
	Patch [2]int
	// Budget stops training after the first whole epoch that ends past it (0: none).
	Budget time.Duration
	// WarmupEpochs > 0 adds a warm-up for fine-tuning: over the first
	// WarmupEpochs epochs the learning rate moves linearly from WarmupFrom
	// (the last non-zero learning rate of the original run) to the poly
	// schedule's own value (LRAt).
	WarmupEpochs int     `json:",omitempty"`
	WarmupFrom   float32 `json:",omitempty"`
	// Precision of the convolutions and GEMMs (kernels.Precision; "" is
	// FP32). Weights, optimizer state, norms and the loss stay float32.
	Precision kernels.Precision `json:",omitempty"`
}

// LRAt is the learning rate of epoch e (from 0): nnU-Net's poly schedule
// LR*(1-e/Epochs)^0.9, and during a warm-up (e < WarmupEpochs)
// (1-f)*WarmupFrom + f*poly(e) with f = e/WarmupEpochs, so epoch 0 runs at
// WarmupFrom and the schedule is the plain poly one from WarmupEpochs on.
func (o TrainOptions) LRAt(e int) float32 {
	lr := nn.Poly(o.LR, 0.9)(e, o.Epochs)
	if e < o.WarmupEpochs {
		f := float64(e) / float64(o.WarmupEpochs)
		lr = float32((1-f)*float64(o.WarmupFrom) + f*float64(lr))
	}
	return lr
}

// LastLR is the last non-zero learning rate of a run with options o: the
// poly schedule's value in its final epoch.
func (o TrainOptions) LastLR() float32 { return o.LRAt(o.Epochs - 1) }

// DefaultTrainOptions returns nnU-Net's defaults for a small 2D dataset.
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{Epochs: 50, BatchSize: 8, LR: 1e-2, Momentum: 0.99, WeightDecay: 3e-5,
		ClipNorm: 12, Augment: DefaultAugment()}
}

// EpochLog is one row of the training log.
type EpochLog struct {
	Epoch     int     `json:"epoch"`
	TrainLoss float64 `json:"train_loss"`
	ValDice   float64 `json:"val_dice"` // mean per-sample foreground Dice on validation (0 without validation data)
	LR        float64 `json:"lr"`
	Seconds   float64 `json:"seconds"`
}

// State is where training stands; saved with checkpoints so a resumed run
// continues exactly (every random choice derives from the seed, the epoch
// and the iteration).
type State struct {
	Epoch     int        `json:"epoch"` // epochs completed
	Iter      int        `json:"iter"`  // iterations completed in the current epoch
	LossSum   float64    `json:"loss_sum"`
	BestDice  float64    `json:"best_dice"`
	BestEpoch int        `json:"best_epoch"`
	Log       []EpochLog `json:"log"`
	Seconds   float64    `json:"seconds"` // training time so far
}

// Progress reports training progress to the caller.
type Progress struct {
	Epoch, Epochs int
	Iter, Iters   int
	Loss          float64
	Phase         string // "train" or "validate"
}

// Model is a U-Net bound to a backend.
type Model struct {
	Config  *Config
	Graph   *nn.Graph
	Params  *nn.ParamSet
	Backend kernels.Backend
	// Inference says how to prepare images and read the output (patch,
	// normalisation, labels); nil for a model that has not been trained or
	// imported yet, and in checkpoints written before it was recorded.
	Inference *Inference
}

// NewModel builds cfg with weights from seed on backend b.
func NewModel(b kernels.Backend, cfg *Config, seed uint64) (*Model, error) {
	g, err := Build(cfg, seed)
	if err != nil {
		return nil, err
	}
	set, err := nn.NewParamSet(b, g.Params())
	if err != nil {
		return nil, err
	}
	// The model keeps its own copy: a caller editing cfg afterwards (to
	// build a second network) must not change this one's recorded config.
	return &Model{Config: cfg.Clone(), Graph: g, Params: set, Backend: b}, nil
}

// Trainer runs nnU-Net-style training of a Model.
type Trainer struct {
	M     *Model
	Opts  TrainOptions
	Opt   *nn.SGD
	State State
	// Progress, when set, is called after every iteration and validation.
	Progress func(Progress)
	// OnEpoch, when set, is called after each epoch's validation (isBest when
	// the validation Dice improved); the CLI saves checkpoints here.
	OnEpoch func(tr *Trainer, isBest bool) error
	// Loss, when set, replaces the deep-supervised Dice + CE loss (a
	// distillation adds a teacher's term here). It gets the batch as the
	// network saw it (normalised, cropped, augmented), the network's
	// outputs (highest resolution first), the targets of matching sizes,
	// and the index in the training samples of each batch row.
	Loss LossFunc

	tape    *autograd.Tape
	batch   *batcher
	weights []float32
}

// LossFunc computes a training step's loss on tape t: x (B, C, H, W) is
// the batch on the backend, outs and targets as for DeepSupervisedDiceCE,
// rows[i] the training sample of batch row i.
type LossFunc func(t *autograd.Tape, x *tensor.Tensor, outs []*autograd.Var, targets []*tensor.Tensor, rows []int) (*autograd.Var, error)

// NewTrainer prepares training of m.
func NewTrainer(m *Model, opts TrainOptions) (*Trainer, error) {
	if opts.Epochs < 1 || opts.BatchSize < 1 {
		return nil, fmt.Errorf("train: epochs %d and batch size %d must be >= 1", opts.Epochs, opts.BatchSize)
	}
	opt, err := nn.NewSGD(m.Params, opts.Momentum, opts.WeightDecay)
	if err != nil {
		return nil, err
	}
	nOut := len(m.Graph.Outputs)
	return &Trainer{M: m, Opts: opts, Opt: opt, tape: autograd.NewTape(m.Backend), weights: nn.DeepSupervisionWeights(nOut)}, nil
}

// ErrBudget is returned by Fit when the time budget ended training early.
var ErrBudget = errors.New("training stopped at the time budget")

// Fit trains until Opts.Epochs epochs are done, the budget is spent
// (ErrBudget, after a whole epoch) or ctx is cancelled (ctx.Err(), mid-epoch;
// State says where, so Fit can resume from it exactly).
func (tr *Trainer) Fit(ctx context.Context, train, val []Input) error {
	return tr.FitUntil(ctx, train, val, tr.Opts.Epochs)
}

// FitUntil is Fit that stops once stop epochs (at most Opts.Epochs) are
// complete; the schedule still spans Opts.Epochs. Federated averaging runs
// it one epoch at a time.
func (tr *Trainer) FitUntil(ctx context.Context, train, val []Input, stop int) error {
	stop = min(stop, tr.Opts.Epochs)
	if len(train) == 0 {
		return fmt.Errorf("train: no training samples")
	}
	if err := tr.prepare(train); err != nil {
		return err
	}
	start := time.Now()
	base := tr.State.Seconds
	for tr.State.Epoch < stop {
		epochStart := time.Now()
		iters := tr.itersPerEpoch(len(train))
		lr := tr.Opts.LRAt(tr.State.Epoch)
		tr.M.Graph.SetTraining(true)
		for tr.State.Iter < iters {
			if err := ctx.Err(); err != nil {
				tr.State.Seconds = base + time.Since(start).Seconds()
				return err
			}
			loss, err := tr.step(train, lr)
			if err != nil {
				return fmt.Errorf("epoch %d iteration %d: %w", tr.State.Epoch, tr.State.Iter, err)
			}
			tr.State.LossSum += loss
			tr.State.Iter++
			tr.report(Progress{Epoch: tr.State.Epoch, Epochs: tr.Opts.Epochs, Iter: tr.State.Iter, Iters: iters, Loss: loss, Phase: "train"})
		}
		dice := 0.0 // no validation data: 0, and no epoch counts as best
		if len(val) > 0 {
			tr.report(Progress{Epoch: tr.State.Epoch, Epochs: tr.Opts.Epochs, Phase: "validate"})
			var err error
			if dice, err = tr.validate(val); err != nil {
				return fmt.Errorf("epoch %d validation: %w", tr.State.Epoch, err)
			}
		}
		row := EpochLog{Epoch: tr.State.Epoch, TrainLoss: tr.State.LossSum / float64(iters), ValDice: dice, LR: float64(lr), Seconds: time.Since(epochStart).Seconds()}
		tr.State.Log = append(tr.State.Log, row)
		isBest := len(val) > 0 && (dice > tr.State.BestDice || tr.State.Epoch == 0)
		if isBest {
			tr.State.BestDice, tr.State.BestEpoch = dice, tr.State.Epoch
		}
		tr.State.Epoch++
		tr.State.Iter, tr.State.LossSum = 0, 0
		tr.State.Seconds = base + time.Since(start).Seconds()
		if tr.OnEpoch != nil {
			if err := tr.OnEpoch(tr, isBest); err != nil {
				return err
			}
		}
		if tr.Opts.Budget > 0 && time.Since(start) >= tr.Opts.Budget && tr.State.Epoch < stop {
			return ErrBudget
		}
	}
	return nil
}

func (tr *Trainer) report(p Progress) {
	if tr.Progress != nil {
		tr.Progress(p)
	}
}

func (tr *Trainer) itersPerEpoch(n int) int {
	if tr.Opts.ItersPerEpoch > 0 {
		return tr.Opts.ItersPerEpoch
	}
	return (n + tr.Opts.BatchSize - 1) / tr.Opts.BatchSize
}

// iterRNG derives the random stream of one iteration from the seed, so that
// any iteration can be replayed without the ones before it.
func (tr *Trainer) iterRNG(epoch, iter int) *tensor.RNG {
	h := tr.Opts.Seed*0x9e3779b97f4a7c15 ^ uint64(epoch)*0xbf58476d1ce4e5b9 ^ uint64(iter)*0x94d049bb133111eb
	return tensor.NewRNG(h)
}

func (tr *Trainer) prepare(train []Input) error {
	c, h, w, err := checkSamples(train, true)
	if err != nil {
		return err
	}
	ph, pw := h, w
	if tr.Opts.Patch != [2]int{} {
		ph, pw = tr.Opts.Patch[0], tr.Opts.Patch[1]
		if ph > h || pw > w || ph < 1 || pw < 1 {
			return fmt.Errorf("train: patch %dx%d does not fit images of %dx%d", ph, pw, h, w)
		}
	}
	if err := tr.M.Config.CheckInput(c, ph, pw); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if tr.M.Inference == nil { // record the training size for prediction
		tr.M.Inference = NativeInference(tr.M.Config, h, w)
		tr.M.Inference.PatchSize = [2]int{ph, pw}
	}
	tr.batch, err = newBatcher(tr.M, train, tr.Opts.BatchSize, ph, pw)
	return err
}

// step runs one training iteration and returns its loss. With a profiling
// backend it is one profiler step, in phases input, optimizer (zeroing the
// gradients), forward (the loss in vertex "loss"), backward and optimizer.
func (tr *Trainer) step(train []Input, lr float32) (float64, error) {
	t := tr.tape
	prof := t.Profiler()
	if prof != nil {
		prof.BeginStep()
		defer prof.EndStep()
		kernels.SetPhase(prof, kernels.PhaseInput)
	}
	g := tr.iterRNG(tr.State.Epoch, tr.State.Iter)
	var aug *Augment
	if !tr.Opts.NoAugment {
		aug = &tr.Opts.Augment
	}
	x, targets, err := tr.batch.fill(train, g, aug)
	if err != nil {
		return 0, err
	}
	defer t.Reset()
	if prof != nil {
		kernels.SetPhase(prof, kernels.PhaseOptimizer)
	}
	if err := tr.M.Params.ZeroGrad(); err != nil {
		return 0, err
	}
	if prof != nil {
		kernels.SetPhase(prof, kernels.PhaseForward)
	}
	vals, err := tr.M.Graph.Forward(t, autograd.Leaf(x, false))
	if err != nil {
		return 0, err
	}
	outs := make([]*autograd.Var, len(tr.M.Graph.Outputs))
	for i, o := range tr.M.Graph.Outputs {
		outs[i] = vals[o]
	}
	var prev kernels.Scope
	if prof != nil {
		prev = prof.Enter("loss")
	}
	var loss *autograd.Var
	if tr.Loss != nil {
		loss, err = tr.Loss(t, x, outs, targets, tr.batch.rows)
	} else {
		loss, err = nn.DeepSupervisedDiceCE(t, outs, targets, tr.weights)
	}
	if err != nil {
		return 0, err
	}
	v, err := t.Value(loss)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("loss is %v (not finite); lower the learning rate or check the data", v)
	}
	if err := t.Backward(loss); err != nil {
		return 0, err
	}
	if prof != nil {
		prof.Restore(prev)
		kernels.SetPhase(prof, kernels.PhaseOptimizer)
	}
	if _, err := nn.ClipGradNorm(tr.M.Params, tr.Opts.ClipNorm); err != nil {
		return 0, err
	}
	return v, tr.Opt.Step(lr)
}

// validate returns the mean per-sample foreground Dice of the model's
// predictions (an image where both masks are empty counts as 1).
func (tr *Trainer) validate(val []Input) (float64, error) {
	return MeanDice(tr.M, val, tr.Opts.BatchSize)
}

// MeanDice is the mean per-sample foreground Dice of m's predictions on
// val, batch images per forward pass (an image where both masks are empty
// counts as 1): the validation score of Fit. It changes nothing in m.
func MeanDice(m *Model, val []Input, batch int) (float64, error) {
	preds, err := m.Predict(val, batch)
	if err != nil {
		return 0, err
	}
	var sum float64
	for i, s := range val {
		if s.Mask == nil {
			return 0, fmt.Errorf("validation sample %q has no mask", s.Name)
		}
		sum += pooledDice(preds[i], s.Mask.Data)
	}
	return sum / float64(len(val)), nil
}

// pooledDice is 2TP/(2TP+FP+FN) over foreground (class > 0) pixels; 1 when
// both are empty.
func pooledDice(pred []uint8, ref []float32) float64 {
	var tp, fp, fn int
	for i, p := range pred {
		r := ref[i] > 0
		switch {
		case p > 0 && r:
			tp++
		case p > 0:
			fp++
		case r:
			fn++
		}
	}
	if tp+fp+fn == 0 {
		return 1
	}
	return 2 * float64(tp) / float64(2*tp+fp+fn)
}

// checkSamples verifies every sample has the same image size and channel
// count and, when needMask, a mask of that size; it names the offending sample.
func checkSamples(ss []Input, needMask bool) (c, h, w int, err error) {
	for i, s := range ss {
		if s.Image == nil || len(s.Image.Shape) != 3 {
			return 0, 0, 0, fmt.Errorf("sample %q: image must be (C, H, W), got %v", s.Name, tensor.ShapeOf(s.Image))
		}
		if i == 0 {
			c, h, w = s.Image.Shape[0], s.Image.Shape[1], s.Image.Shape[2]
		} else if !s.Image.Shape.Equal(tensor.Shape{c, h, w}) {
			return 0, 0, 0, fmt.Errorf("sample %q: image %v differs from the first sample's (%d,%d,%d)", s.Name, s.Image.Shape, c, h, w)
		}
		if needMask {
			if s.Mask == nil || !s.Mask.Shape.Equal(tensor.Shape{1, h, w}) {
				return 0, 0, 0, fmt.Errorf("sample %q: mask %v, want (1,%d,%d)", s.Name, tensor.ShapeOf(s.Mask), h, w)
			}
		}
	}
	if len(ss) == 0 {
		return 0, 0, 0, fmt.Errorf("no samples")
	}
	return c, h, w, nil
}
