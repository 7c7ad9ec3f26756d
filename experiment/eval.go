package experiment

import (
	"fmt"

	"suture/experiment/metrics"
	"suture/stitch"
	"suture/tensor"
	"suture/unet"
)

// Foreground turns an arg-max class map into a binary mask (class > 0).
func Foreground(classes []uint8) []uint8 {
	out := make([]uint8, len(classes))
	for i, c := range classes {
		if c > 0 {
			out[i] = 1
		}
	}
	return out
}

// MaskOf returns a sample's reference mask as a binary foreground mask.
func MaskOf(s unet.Input) ([]uint8, error) {
	if s.Mask == nil {
		return nil, fmt.Errorf("sample %q has no mask", s.Name)
	}
	out := make([]uint8, len(s.Mask.Data))
	for i, v := range s.Mask.Data {
		if v > 0 {
			out[i] = 1
		}
	}
	return out, nil
}

// ScoreProbs scores per-sample probabilities (K, H, W) against the samples' masks.
func ScoreProbs(probs []*tensor.Tensor, samples []unet.Input) ([]metrics.Score, error) {
	if len(probs) != len(samples) {
		return nil, fmt.Errorf("%d predictions for %d samples", len(probs), len(samples))
	}
	out := make([]metrics.Score, len(samples))
	for i, s := range samples {
		ref, err := MaskOf(s)
		if err != nil {
			return nil, err
		}
		classes, err := unet.ArgMax(probs[i])
		if err != nil {
			return nil, fmt.Errorf("sample %q: %w", s.Name, err)
		}
		h, w := probs[i].Shape[1], probs[i].Shape[2]
		if out[i], err = metrics.Evaluate(s.Name, Foreground(classes), ref, h, w, metrics.PixelSpacing); err != nil {
			return nil, fmt.Errorf("sample %q: %w", s.Name, err)
		}
	}
	return out, nil
}

// EvalUNet predicts samples with m and scores them.
func EvalUNet(m *unet.Model, samples []unet.Input, batch int) ([]metrics.Score, error) {
	probs, err := m.Probabilities(samples, batch)
	if err != nil {
		return nil, err
	}
	return ScoreProbs(probs, samples)
}

// StitchedProbabilities returns per-sample probabilities (K, H, W) of the
// network that setting extracts.
func StitchedProbabilities(s *Stitched, setting stitch.Setting, samples []unet.Input, batch int) ([]*tensor.Tensor, error) {
	x, err := Stack(samples)
	if err != nil {
		return nil, err
	}
	if x.Shape[1] != s.Meta.Input[0] {
		return nil, fmt.Errorf("images have %d channels, the stitched model expects %d", x.Shape[1], s.Meta.Input[0])
	}
	p, err := s.M.Probabilities(setting, x, batch)
	if err != nil {
		return nil, err
	}
	per := p.Numel() / p.Shape[0]
	out := make([]*tensor.Tensor, p.Shape[0])
	for i := range out {
		out[i], _ = tensor.FromData(p.Data[i*per:(i+1)*per:(i+1)*per], p.Shape[1], p.Shape[2], p.Shape[3])
	}
	return out, nil
}

// EvalStitched scores the network that setting extracts on samples.
func EvalStitched(s *Stitched, setting stitch.Setting, samples []unet.Input, batch int) ([]metrics.Score, error) {
	probs, err := StitchedProbabilities(s, setting, samples, batch)
	if err != nil {
		return nil, err
	}
	return ScoreProbs(probs, samples)
}

// StitchedEvaluator adapts EvalStitched to stitch.Evaluator (mean Dice and HD95).
func StitchedEvaluator(s *Stitched, samples []unet.Input, batch int) stitch.Evaluator {
	return func(setting stitch.Setting) (stitch.Score, error) {
		res, err := EvalStitched(s, setting, samples, batch)
		if err != nil {
			return stitch.Score{}, err
		}
		sum := metrics.Summarize(res)
		return stitch.Score{Dice: sum.DiceMean, HD95: sum.HD95Mean}, nil
	}
}
