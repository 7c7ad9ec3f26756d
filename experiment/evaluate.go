package experiment

import (
	"fmt"
	"math"
	"sort"

	"suture/experiment/metrics"
	"suture/io/ckpt"
	"suture/io/imageset"
	"suture/kernels"
	"suture/segment"
	"suture/unet"
)

// DataPart names the part of a dataset a model is scored on: Data (a
// folder or a synth spec, LoadData) at Size, split six ways with SplitSeed,
// and Split ("test", "val", "train" or "all") of fold Fold. A Fold or
// SplitSeed below zero is the one the model's run recorded.
type DataPart struct {
	Data      string
	Size      int
	Split     string
	Fold      int
	SplitSeed int64
}

// Samples loads the part, with run (the model's) supplying a Fold or
// SplitSeed left below zero.
func (p DataPart) Samples(run ckpt.RunInfo) ([]unet.Input, error) {
	ds, err := LoadData(p.Data, p.Size)
	if err != nil {
		return nil, err
	}
	fold, seed := p.Fold, run.SplitSeed
	if fold < 0 {
		fold = run.Fold
	}
	if p.SplitSeed >= 0 {
		seed = uint64(p.SplitSeed)
	}
	part, err := Split(ds, seed, fold)
	if err != nil {
		return nil, err
	}
	return part.Subset(p.Split)
}

// EvalSpec is the evaluate job: a model checkpoint of any kind
// (segment.Open; Net picks a stitched checkpoint's network) scored on a
// part of a dataset, Batch images per forward pass.
type EvalSpec struct {
	Model, Net string
	Part       DataPart
	Batch      int
}

// Evaluation is the per-sample scores of a model or of predicted masks,
// and what was scored (Model, Net and Split are empty where they do not
// apply).
type Evaluation struct {
	Scores                  []metrics.Score
	Model, Net, Data, Split string
}

// Evaluate runs the evaluate job: it opens the model (a U-Net, a network
// of a stitched model, an extracted network), loads the samples (the fold
// and split seed default to the model's run's) and scores the model's
// predictions with Dice and HD95. A network chosen for a checkpoint that is
// one network is a *segment.OneNetworkError, a bad choice a
// *stitch.NetError.
func Evaluate(b kernels.Backend, spec EvalSpec) (*Evaluation, error) {
	o, err := segment.Open(spec.Model, b, spec.Net)
	if err != nil {
		return nil, err
	}
	samples, err := spec.Part.Samples(o.Run())
	if err != nil {
		return nil, err
	}
	ev := &Evaluation{Model: spec.Model, Net: o.Net, Data: spec.Part.Data, Split: spec.Part.Split}
	if o.UNet != nil {
		ev.Scores, err = EvalUNet(o.UNet.Model, samples, spec.Batch)
	} else {
		ev.Scores, err = EvalStitched(o.Stitched, o.Setting, samples, spec.Batch)
	}
	if err != nil {
		return nil, err
	}
	return ev, nil
}

// MaskFiles maps stems to the mask images in dir (imageset.ImagesByStem),
// and refuses a folder with none.
func MaskFiles(dir string) (map[string]string, error) {
	files, err := imageset.ImagesByStem(dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no mask images (png, tif, jpg)", dir)
	}
	return files, nil
}

// ScoreMasks runs the score job: every predicted mask in folder pred
// against the reference mask of the same stem in folder ref (each side
// must have a partner for every mask, of the same size), in the order of
// the stems. Foreground is any value above zero.
func ScoreMasks(pred, ref string) (*Evaluation, error) {
	pf, err := MaskFiles(pred)
	if err != nil {
		return nil, err
	}
	rf, err := MaskFiles(ref)
	if err != nil {
		return nil, err
	}
	stems := make([]string, 0, len(rf))
	for s := range rf {
		if _, ok := pf[s]; !ok {
			return nil, fmt.Errorf("no prediction for reference mask %s in %s", rf[s], pred)
		}
		stems = append(stems, s)
	}
	for s, f := range pf {
		if _, ok := rf[s]; !ok {
			return nil, fmt.Errorf("no reference mask for prediction %s in %s", f, ref)
		}
	}
	sort.Strings(stems)
	ev := &Evaluation{Scores: make([]metrics.Score, len(stems)), Data: ref}
	for i, s := range stems {
		if ev.Scores[i], err = scoreMask(s, pf[s], rf[s]); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

// scoreMask scores the predicted mask in file pred against the reference
// in file ref, as sample stem.
func scoreMask(stem, pred, ref string) (metrics.Score, error) {
	p, err := imageset.ReadMask(pred)
	if err != nil {
		return metrics.Score{}, err
	}
	r, err := imageset.ReadMask(ref)
	if err != nil {
		return metrics.Score{}, err
	}
	if !p.Shape.Equal(r.Shape) {
		return metrics.Score{}, fmt.Errorf("%s is %v, its reference %s is %v", pred, p.Shape, ref, r.Shape)
	}
	pm, _ := MaskOf(unet.Input{Name: stem, Mask: p})
	rm, _ := MaskOf(unet.Input{Name: stem, Mask: r})
	sc, err := metrics.Evaluate(stem, pm, rm, p.Shape[1], p.Shape[2], metrics.PixelSpacing)
	if err != nil {
		return metrics.Score{}, fmt.Errorf("%s: %w", stem, err)
	}
	return sc, nil
}

// EvalSummary is an Evaluation's summary as one JSON object (what the
// evaluate and score commands print): the means are null where undefined
// for every sample.
type EvalSummary struct {
	N        int      `json:"n"`
	DiceMean *float64 `json:"dice_mean"`
	HD95Mean *float64 `json:"hd95_mean"`
	DiceNaN  int      `json:"dice_nan"`
	HD95NaN  int      `json:"hd95_nan"`
	Model    string   `json:"model,omitempty"`
	Net      string   `json:"net,omitempty"`
	Data     string   `json:"data,omitempty"`
	Split    string   `json:"split,omitempty"`
}

// Summary summarises the scores (metrics.Summarize) with what was scored.
func (e *Evaluation) Summary() EvalSummary {
	s := metrics.Summarize(e.Scores)
	return EvalSummary{N: s.N, DiceMean: finite(s.DiceMean), HD95Mean: finite(s.HD95Mean), DiceNaN: s.DiceNaN, HD95NaN: s.HD95NaN,
		Model: e.Model, Net: e.Net, Data: e.Data, Split: e.Split}
}

// finite is v, or nil (JSON null) when v is NaN or infinite.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
