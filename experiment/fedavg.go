package experiment

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"suture/io/ckpt"
	"suture/kernels"
	"suture/tensor"
	"suture/unet"
)

// FedSpec describes federated averaging in lock-step ("a || b"): one shared
// initialisation; every round each party trains one epoch on its own data
// only (its own optimizer state, batches and augmentation), then the
// weights are averaged, weighted by the parties' training-set sizes, and
// both continue from the average. Opts.Epochs is the number of rounds, and
// the poly schedule spans them. The network is planned from both parties'
// data together (their shared image size). Dir receives last.ckpt (the
// averaged network, a plain U-Net checkpoint), fed.ckpt (both parties'
// training state after the last complete round, for resuming) and log.csv.
type FedSpec struct {
	Dir       string
	Data      [2]string
	Size      int
	Fold      int
	SplitSeed uint64
	Seed      uint64    // the shared initial weights
	Seeds     [2]uint64 // each party's batches and augmentation
	Opts      unet.TrainOptions
	Features  []int
	// Weighting is "samples" (weights n_a/(n_a+n_b), n_b/(n_a+n_b): FedAvg)
	// or "equal" (1/2 each).
	Weighting string
	// Validate scores the averaged network after every round on both
	// parties' validation parts together (log.csv's val_dice); without it
	// no validation data is touched. It changes no weight.
	Validate      bool
	Resume, Force bool
	Loader        Loader // nil: LoadData
}

// FedAvg runs federated averaging and writes its run folder. ev receives
// the rounds as "epoch" events (ValDice 0 unless Validate) and the parties'
// steps as "step" events.
func FedAvg(ctx context.Context, b kernels.Backend, spec FedSpec, ev func(TrainEvent)) (*TrainResult, error) {
	emit := func(e TrainEvent) {
		if ev != nil {
			ev(e)
		}
	}
	if spec.Opts.Epochs < 1 || spec.Opts.BatchSize < 1 {
		return nil, fmt.Errorf("rounds (%d) and batch size (%d) must be >= 1", spec.Opts.Epochs, spec.Opts.BatchSize)
	}
	lock, resume, err := claimRunDir(spec.Dir, "suture fedavg", "fed.ckpt", spec.Resume, spec.Force)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	var parts [2]*Partition
	for i, d := range spec.Data {
		if parts[i], err = LoadFold(spec.Loader, []string{d}, spec.Size, spec.SplitSeed, spec.Fold); err != nil {
			return nil, err
		}
	}
	weights, err := fedWeights(spec.Weighting, len(parts[0].Train), len(parts[1].Train))
	if err != nil {
		return nil, err
	}
	both := &Partition{Train: append(append([]unet.Input(nil), parts[0].Train...), parts[1].Train...)}
	var val []unet.Input
	if spec.Validate {
		val = append(append(val, parts[0].Val...), parts[1].Val...)
	}
	cfg, err := planFor(both, classesOf(both), spec.Features)
	if err != nil {
		return nil, err
	}
	run := ckpt.RunInfo{Data: spec.Data[0] + "||" + spec.Data[1], Fold: spec.Fold, SplitSeed: spec.SplitSeed, Seed: spec.Seed}
	var models [2]*unet.Model
	var trainers [2]*unet.Trainer
	if err := kernels.UsePrecision(b, spec.Opts.Precision); err != nil {
		return nil, err
	}
	for i := range models {
		// Both parties start from the same weights (seed spec.Seed).
		if models[i], err = unet.NewModel(b, cfg, spec.Seed); err != nil {
			return nil, err
		}
		o := spec.Opts
		o.Seed = spec.Seeds[i]
		if trainers[i], err = unet.NewTrainer(models[i], o); err != nil {
			return nil, err
		}
	}
	fedPath, last := filepath.Join(spec.Dir, "fed.ckpt"), filepath.Join(spec.Dir, "last.ckpt")
	info := &TrainInfo{Data: run.Data, Train: len(both.Train), Backend: b.Name(), Epochs: spec.Opts.Epochs,
		Stages: cfg.NStages, Features: cfg.FeaturesPerStage, Parameters: models[0].Params.Trainable, LR: spec.Opts.LR}
	if resume {
		if err := loadFed(fedPath, models, trainers, run); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		info.ResumedEpoch, info.Resumed = trainers[0].State.Epoch, 1
	}
	img := both.Train[0].Image
	info.Shape = [3]int{img.Shape[0], img.Shape[1], img.Shape[2]}
	emit(TrainEvent{Kind: "start", Info: info})
	for p := range trainers {
		trainers[p].Progress = func(pr unet.Progress) { emit(TrainEvent{Kind: "step", Progress: pr}) }
	}
	for r := trainers[0].State.Epoch; r < spec.Opts.Epochs; r++ {
		for p, tr := range trainers {
			// A party interrupted mid-round restarts the round from the
			// last average (fed.ckpt): rounds are the unit of resumption.
			if err := tr.FitUntil(ctx, parts[p].Train, nil, r+1); err != nil {
				if ctx.Err() != nil {
					return nil, fmt.Errorf("%w in round %d (party %c); %s holds the last complete round, where the job resumes", err, r+1, "ab"[p], fedPath)
				}
				return nil, fmt.Errorf("party %c, round %d: %w", "ab"[p], r+1, err)
			}
		}
		if err := averageWeights(models, weights); err != nil {
			return nil, err
		}
		if spec.Validate {
			// Kept in both parties' logs, which fed.ckpt saves, so that a
			// resumed run's log.csv still has every round's score.
			dice, err := unet.MeanDice(models[0], val, spec.Opts.BatchSize)
			if err != nil {
				return nil, fmt.Errorf("round %d validation: %w", r+1, err)
			}
			for _, tr := range trainers {
				tr.State.Log[len(tr.State.Log)-1].ValDice = dice
			}
		}
		if err := saveFed(fedPath, models, trainers, run); err != nil {
			return nil, err
		}
		log := fedLog(trainers, weights)
		if err := WriteTrainLog(filepath.Join(spec.Dir, "log.csv"), log); err != nil {
			return nil, err
		}
		emit(TrainEvent{Kind: "epoch", Epoch: log[len(log)-1]})
	}
	if err := unet.Save(last, models[0], nil, run); err != nil {
		return nil, err
	}
	return &TrainResult{Last: last, State: trainers[0].State}, nil
}

// fedLog is one row per round: the parties' training losses weighted as
// their weights are, and the seconds both spent.
func fedLog(trainers [2]*unet.Trainer, w [2]float64) []unet.EpochLog {
	return fedLogOf(trainers[0].State.Log, trainers[1].State.Log, w)
}

// fedLogOf is fedLog of the parties' logs la and lb.
func fedLogOf(la, lb []unet.EpochLog, w [2]float64) []unet.EpochLog {
	out := make([]unet.EpochLog, min(len(la), len(lb)))
	for r := range out {
		out[r] = unet.EpochLog{Epoch: r, TrainLoss: w[0]*la[r].TrainLoss + w[1]*lb[r].TrainLoss, ValDice: la[r].ValDice, LR: la[r].LR, Seconds: la[r].Seconds + lb[r].Seconds}
	}
	return out
}

func fedWeights(how string, na, nb int) ([2]float64, error) {
	switch how {
	case "", "samples":
		n := float64(na + nb)
		return [2]float64{float64(na) / n, float64(nb) / n}, nil
	case "equal":
		return [2]float64{0.5, 0.5}, nil
	}
	return [2]float64{}, fmt.Errorf("federated weighting %q, want samples or equal", how)
}

// averageWeights sets both models' parameters to w[0]*a + w[1]*b, summed
// in float64. With both models equal and w = (1/2, 1/2) every value is
// returned unchanged (halving and doubling are exact).
func averageWeights(models [2]*unet.Model, w [2]float64) error {
	ha, err := models[0].Params.Host()
	if err != nil {
		return err
	}
	hb, err := models[1].Params.Host()
	if err != nil {
		return err
	}
	values := make(map[string]*tensor.Tensor, len(ha))
	for i, p := range models[0].Params.Params {
		a, bb := ha[i].Data, hb[i].Data
		for j := range a {
			a[j] = float32(w[0]*float64(a[j]) + w[1]*float64(bb[j]))
		}
		values[p.Name] = ha[i]
	}
	for _, m := range models {
		if err := m.Params.Load(values); err != nil {
			return err
		}
	}
	return nil
}

// fedMeta is the metadata of fed.ckpt.
type fedMeta struct {
	Config   *unet.Config         `json:"config"`
	Train    [2]unet.TrainOptions `json:"train"`
	State    [2]unet.State        `json:"state"`
	OptSteps [2]int               `json:"opt_steps"`
	Run      ckpt.RunInfo         `json:"run"`
}

// saveFed writes the averaged weights (once: both parties hold them) and
// each party's optimizer state atomically.
func saveFed(path string, models [2]*unet.Model, trainers [2]*unet.Trainer, run ckpt.RunInfo) error {
	c := &ckpt.Checkpoint{}
	ts, err := ckpt.ParamTensors(models[0].Params, "")
	if err != nil {
		return err
	}
	c.Tensors = ts
	meta := fedMeta{Config: models[0].Config, Run: run}
	for p, tr := range trainers {
		meta.Train[p], meta.State[p] = tr.Opts, tr.State
		bufs, step := tr.Opt.State()
		meta.OptSteps[p] = step
		v := tensor.New(bufs[0].Numel())
		if err := models[p].Backend.Download(v.Data, bufs[0]); err != nil {
			return err
		}
		c.Tensors = append(c.Tensors, ckpt.Named{Name: fmt.Sprintf("optim/momentum%c", "ab"[p]), T: v})
	}
	if err := c.SetMeta("kind", "fedavg"); err != nil {
		return err
	}
	if err := c.SetMeta("fed", meta); err != nil {
		return err
	}
	return ckpt.Write(path, c)
}

func loadFed(path string, models [2]*unet.Model, trainers [2]*unet.Trainer, run ckpt.RunInfo) error {
	c, err := ckpt.Read(path)
	if err != nil {
		return err
	}
	kind, err := c.Kind()
	if err != nil {
		return err
	}
	if kind != "fedavg" {
		return fmt.Errorf("%s: a %s checkpoint, not federated training state", path, kind)
	}
	var meta fedMeta
	if err := c.GetMeta("fed", &meta); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if meta.Run != run {
		return fmt.Errorf("%s was trained with %+v, this run asks for %+v", path, meta.Run, run)
	}
	values := map[string]*tensor.Tensor{}
	mom := map[string]*tensor.Tensor{}
	for _, nt := range c.Tensors {
		if len(nt.Name) > 6 && nt.Name[:6] == "optim/" {
			mom[nt.Name] = nt.T
			continue
		}
		values[nt.Name] = nt.T
	}
	for p, m := range models {
		if err := m.Params.Load(values); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		v, ok := mom[fmt.Sprintf("optim/momentum%c", "ab"[p])]
		if !ok {
			return errors.New(path + ": party state missing")
		}
		trainers[p].State = meta.State[p]
		if err := trainers[p].Opt.SetState([]*tensor.Tensor{v}, meta.OptSteps[p]); err != nil {
			return err
		}
	}
	return nil
}
