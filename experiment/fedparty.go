package experiment

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"path/filepath"

	"suture/io/ckpt"
	"suture/kernels"
	"suture/tensor"
	"suture/unet"
)

// FedPartyInfo describes one party's data to the other party of federated
// averaging: what planning the shared network and weighting the average
// need, and nothing about the images themselves.
type FedPartyInfo struct {
	Shape   [3]int `json:"shape"`   // (C, H, W) of every training image
	Classes int    `json:"classes"` // classes in its masks (at least 2)
	Train   int    `json:"train"`   // training images
}

// FedRound is what a party sends after its local epoch of a round.
type FedRound struct {
	// Weights are its parameters after the epoch, in the network's
	// parameter order (host tensors).
	Weights []*tensor.Tensor
	// Log is its training log, one row per round so far.
	Log []unet.EpochLog
	// Base is the SHA-256 of the weights the round started from: the
	// shared initialisation in the first round, the previous average after
	// it. Both parties must send the same Base; otherwise they have
	// diverged, and the round fails instead of averaging.
	Base string
}

// FedExchange links one party of federated averaging to the other. Calls
// block until the other party has answered (or ctx ends).
type FedExchange interface {
	// Setup publishes this party's data description and returns both
	// parties' (index 0: party a).
	Setup(ctx context.Context, mine FedPartyInfo) ([2]FedPartyInfo, error)
	// Round publishes this party's round r (0-based) and returns the other
	// party's.
	Round(ctx context.Context, r int, mine FedRound) (FedRound, error)
	// Saved is called once this party's state after round r is in the
	// checkpoint path (to keep it safe elsewhere before the next round).
	Saved(ctx context.Context, r int, path string) error
}

// FedPartyCheckpoint is the file, in a party's folder, holding the party's
// state after its last complete round (the averaged weights and its own
// optimizer state): an interrupted party resumes from it.
const FedPartyCheckpoint = "party.ckpt"

// FedAvgParty runs party p's side (0: a, 1: b) of the federated averaging
// spec describes, on party p's data only (spec.Loader need only open
// spec.Data[p]); the other party runs its side elsewhere and ex carries
// the weights between them once per round. Both sides compute the average
// w_a*a + w_b*b in float64 in that order, so they hold the same weights
// after every round, and the result is bit for bit FedAvg's. spec.Dir
// receives party.ckpt (resumed from when spec.Resume), log.csv and, after
// the last round, last.ckpt as FedAvg writes it.
func FedAvgParty(ctx context.Context, b kernels.Backend, spec FedSpec, p int, ex FedExchange, ev func(TrainEvent)) (*TrainResult, error) {
	emit := func(e TrainEvent) {
		if ev != nil {
			ev(e)
		}
	}
	if p != 0 && p != 1 {
		return nil, fmt.Errorf("federated averaging: party index %d, want 0 (a) or 1 (b)", p)
	}
	if spec.Opts.Epochs < 1 || spec.Opts.BatchSize < 1 {
		return nil, fmt.Errorf("rounds (%d) and batch size (%d) must be >= 1", spec.Opts.Epochs, spec.Opts.BatchSize)
	}
	lock, resume, err := claimRunDir(spec.Dir, "suture fedavg party "+string("ab"[p]), FedPartyCheckpoint, spec.Resume, spec.Force)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	part, shape, weights, cfg, err := planFedParty(ctx, spec, p, ex)
	if err != nil {
		return nil, err
	}
	fp := &fedParty{spec: spec, p: p, ex: ex, part: part, weights: weights, emit: emit,
		run:       ckpt.RunInfo{Data: spec.Data[0] + "||" + spec.Data[1], Fold: spec.Fold, SplitSeed: spec.SplitSeed, Seed: spec.Seed},
		statePath: filepath.Join(spec.Dir, FedPartyCheckpoint)}
	last := filepath.Join(spec.Dir, "last.ckpt")
	opts := spec.Opts
	opts.Seed = spec.Seeds[p]
	if fp.m, fp.tr, err = fp.newModel(b, cfg, opts, resume); err != nil {
		return nil, err
	}
	info := &TrainInfo{Data: spec.Data[p], Train: len(part.Train), Backend: b.Name(), Epochs: opts.Epochs, Shape: shape,
		Stages: cfg.NStages, Features: cfg.FeaturesPerStage, Parameters: fp.m.Params.Trainable, LR: opts.LR}
	if resume {
		info.ResumedEpoch, info.Resumed = fp.tr.State.Epoch, 1
	}
	emit(TrainEvent{Kind: "start", Info: info})
	fp.tr.Progress = func(pr unet.Progress) { emit(TrainEvent{Kind: "step", Progress: pr}) }
	host, err := fp.m.Params.Host()
	if err != nil {
		return nil, err
	}
	fp.base = weightsDigest(host)
	for r := fp.tr.State.Epoch; r < opts.Epochs; r++ {
		if err := fp.round(ctx, r); err != nil {
			return nil, err
		}
	}
	if err := unet.Save(last, fp.m, nil, fp.run); err != nil {
		return nil, err
	}
	return &TrainResult{Last: last, State: fp.tr.State}, nil
}

// planFedParty loads party p's fold, exchanges the data descriptions with
// the other party, and returns what both sides then agree on: the shared
// training image shape, the weights of the average (a's, b's) and the
// network, planned as FedAvg plans it from both parties' images (their
// shared shape, and the classes of both).
func planFedParty(ctx context.Context, spec FedSpec, p int, ex FedExchange) (part *Partition, shape [3]int, weights [2]float64, cfg *unet.Config, err error) {
	part, err = LoadFold(spec.Loader, []string{spec.Data[p]}, spec.Size, spec.SplitSeed, spec.Fold)
	if err != nil {
		return nil, shape, weights, nil, err
	}
	if shape, err = trainShape(part); err != nil {
		return nil, shape, weights, nil, err
	}
	infos, err := ex.Setup(ctx, FedPartyInfo{Shape: shape, Classes: classesOf(part), Train: len(part.Train)})
	if err != nil {
		return nil, shape, weights, nil, fmt.Errorf("party %c, setup: %w", "ab"[p], err)
	}
	if infos[0].Shape != infos[1].Shape {
		return nil, shape, weights, nil, fmt.Errorf("federated averaging needs one image size: party a's training images are %v, party b's %v (C, H, W)", infos[0].Shape, infos[1].Shape)
	}
	if weights, err = fedWeights(spec.Weighting, infos[0].Train, infos[1].Train); err != nil {
		return nil, shape, weights, nil, err
	}
	if cfg, err = planShape(shape, max(infos[0].Classes, infos[1].Classes), spec.Features); err != nil {
		return nil, shape, weights, nil, err
	}
	return part, shape, weights, cfg, nil
}

// fedParty is FedAvgParty's state from one round to the next.
type fedParty struct {
	spec      FedSpec
	p         int // 0: a, 1: b
	ex        FedExchange
	part      *Partition
	weights   [2]float64 // of a's and b's weights in the average
	m         *unet.Model
	tr        *unet.Trainer
	run       ckpt.RunInfo // what the checkpoints record of the run
	statePath string       // party.ckpt
	base      string       // weightsDigest of the weights the round starts from
	emit      func(TrainEvent)
}

// newModel returns the party's network and trainer: resumed from
// party.ckpt, which must record this run, or else a new network from
// spec.Seed (both parties start from the same weights).
func (fp *fedParty) newModel(b kernels.Backend, cfg *unet.Config, opts unet.TrainOptions, resume bool) (*unet.Model, *unet.Trainer, error) {
	var m *unet.Model
	var loaded *unet.Loaded
	var err error
	if resume {
		if loaded, err = unet.Load(fp.statePath, b); err != nil {
			return nil, nil, fmt.Errorf("resume: %w", err)
		}
		if loaded.Meta.Run != fp.run {
			return nil, nil, fmt.Errorf("resume: %s was trained with %+v, this run asks for %+v", fp.statePath, loaded.Meta.Run, fp.run)
		}
		m = loaded.Model
	} else if m, err = unet.NewModel(b, cfg, fp.spec.Seed); err != nil {
		return nil, nil, err
	}
	if err := kernels.UsePrecision(b, opts.Precision); err != nil {
		return nil, nil, err
	}
	tr, err := unet.NewTrainer(m, opts)
	if err != nil {
		return nil, nil, err
	}
	if loaded != nil {
		if err := loaded.Resume(tr); err != nil {
			return nil, nil, fmt.Errorf("resume: %w", err)
		}
	}
	return m, tr, nil
}

// round runs round r (0-based): the local epoch, the exchange of weights
// with the other party, the average, which becomes the network's weights,
// then party.ckpt (reported to ex.Saved) and log.csv.
func (fp *fedParty) round(ctx context.Context, r int) error {
	p := fp.p
	if err := fp.tr.FitUntil(ctx, fp.part.Train, nil, r+1); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w in round %d (party %c); %s holds the last complete round", err, r+1, "ab"[p], fp.statePath)
		}
		return fmt.Errorf("party %c, round %d: %w", "ab"[p], r+1, err)
	}
	got, err := fp.average(ctx, r)
	if err != nil {
		return err
	}
	if err := unet.Save(fp.statePath, fp.m, fp.tr, fp.run); err != nil {
		return err
	}
	if err := fp.ex.Saved(ctx, r, fp.statePath); err != nil {
		return fmt.Errorf("party %c, round %d: %w", "ab"[p], r+1, err)
	}
	logs := [2][]unet.EpochLog{fp.tr.State.Log, got.Log}
	if p == 1 {
		logs = [2][]unet.EpochLog{got.Log, fp.tr.State.Log}
	}
	log := fedLogOf(logs[0], logs[1], fp.weights)
	if err := WriteTrainLog(filepath.Join(fp.spec.Dir, "log.csv"), log); err != nil {
		return err
	}
	fp.emit(TrainEvent{Kind: "epoch", Epoch: log[len(log)-1]})
	return nil
}

// average sends the party's weights after round r's epoch and receives the
// other party's, which must have started from the same weights (fp.base)
// and come with a log of every round; it sets the network's weights to
// their average, a's first, and fp.base to its digest. It returns the
// other party's round.
func (fp *fedParty) average(ctx context.Context, r int) (FedRound, error) {
	p := fp.p
	mine, err := fp.m.Params.Host()
	if err != nil {
		return FedRound{}, err
	}
	got, err := fp.ex.Round(ctx, r, FedRound{Weights: mine, Log: fp.tr.State.Log, Base: fp.base})
	if err != nil {
		return FedRound{}, fmt.Errorf("party %c, round %d: %w", "ab"[p], r+1, err)
	}
	if got.Base != fp.base {
		return FedRound{}, fmt.Errorf("round %d: party %c started the round from other weights than party %c (%.12s against %.12s): the parties have diverged; not averaging",
			r+1, "ab"[1-p], "ab"[p], got.Base, fp.base)
	}
	if len(got.Log) < r+1 {
		return FedRound{}, fmt.Errorf("round %d: party %c sent a log of %d rounds", r+1, "ab"[1-p], len(got.Log))
	}
	pair := [2][]*tensor.Tensor{mine, got.Weights}
	if p == 1 {
		pair = [2][]*tensor.Tensor{got.Weights, mine}
	}
	avg, err := averageHost(fp.m, pair, fp.weights)
	if err != nil {
		return FedRound{}, fmt.Errorf("round %d: %w", r+1, err)
	}
	fp.base = weightsDigest(avg)
	return got, nil
}

// trainShape is the (C, H, W) shared by every training image of part.
func trainShape(part *Partition) ([3]int, error) {
	if len(part.Train) == 0 {
		return [3]int{}, fmt.Errorf("no training images")
	}
	img := part.Train[0].Image
	for _, s := range part.Train {
		if !s.Image.Shape.Equal(img.Shape) {
			return [3]int{}, fmt.Errorf("sample %q: image %v differs from %v; a party's images must share one size", s.Name, s.Image.Shape, img.Shape)
		}
	}
	return [3]int{img.Shape[0], img.Shape[1], img.Shape[2]}, nil
}

// averageHost sets m's parameters to w[0]*h[0] + w[1]*h[1], summed in
// float64 (as averageWeights does), and returns the average.
func averageHost(m *unet.Model, h [2][]*tensor.Tensor, w [2]float64) ([]*tensor.Tensor, error) {
	ps := m.Params.Params
	if len(h[0]) != len(ps) || len(h[1]) != len(ps) {
		return nil, fmt.Errorf("the parties send %d and %d parameter tensors, the network has %d", len(h[0]), len(h[1]), len(ps))
	}
	values := make(map[string]*tensor.Tensor, len(ps))
	out := make([]*tensor.Tensor, len(ps))
	for i, p := range ps {
		a, bb := h[0][i], h[1][i]
		if !a.Shape.Equal(bb.Shape) || len(a.Data) != len(bb.Data) {
			return nil, fmt.Errorf("parameter %s: the parties send shapes %v and %v", p.Name, a.Shape, bb.Shape)
		}
		t := tensor.New(a.Shape...)
		for j := range t.Data {
			t.Data[j] = float32(w[0]*float64(a.Data[j]) + w[1]*float64(bb.Data[j]))
		}
		values[p.Name], out[i] = t, t
	}
	if err := m.Params.Load(values); err != nil {
		return nil, err
	}
	return out, nil
}

// weightsDigest is the SHA-256 of host tensors' shapes and values.
func weightsDigest(ts []*tensor.Tensor) string {
	h := sha256.New()
	var buf [8]byte
	for _, t := range ts {
		for _, d := range t.Shape {
			binary.LittleEndian.PutUint64(buf[:], uint64(d))
			h.Write(buf[:])
		}
		for _, v := range t.Data {
			binary.LittleEndian.PutUint32(buf[:4], math.Float32bits(v))
			h.Write(buf[:4])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
