package unet

import (
	"fmt"

	"suture/autograd"
	"suture/tensor"
)

// Probabilities runs the model in evaluation mode without gradients and
// returns the softmax of the main output for every sample, (K, H, W) each,
// on the whole image at its own size. Images are normalised as the model's
// Inference says (for Suture's own models: per-image z-score, as in
// training). batch bounds the images per forward.
func (m *Model) Probabilities(samples []Input, batch int) ([]*tensor.Tensor, error) {
	c, h, w, err := checkSamples(samples, false)
	if err != nil {
		return nil, err
	}
	if err := m.Config.CheckInput(c, h, w); err != nil {
		return nil, err
	}
	batch = max(batch, 1)
	m.Graph.SetTraining(false)
	defer m.Graph.SetTraining(true)
	tape := autograd.NewTape(m.Backend)
	tape.Recording = false
	defer tape.Arena().Drop()
	k := m.Config.NumClasses
	inf := m.InferenceFor()
	out := make([]*tensor.Tensor, 0, len(samples))
	for lo := 0; lo < len(samples); lo += batch {
		hi := min(lo+batch, len(samples))
		host := make([]float32, (hi-lo)*c*h*w)
		for i := lo; i < hi; i++ {
			img := host[(i-lo)*c*h*w:][:c*h*w]
			copy(img, samples[i].Image.Data)
			if err := inf.Normalize(img, c, nil); err != nil {
				return nil, fmt.Errorf("sample %q: %w", samples[i].Name, err)
			}
		}
		x, err := tape.Arena().Get(hi-lo, c, h, w)
		if err != nil {
			return nil, err
		}
		if err := m.Backend.Upload(x, host); err != nil {
			return nil, err
		}
		vals, err := m.Graph.Forward(tape, autograd.Leaf(x, false))
		if err != nil {
			return nil, err
		}
		p, err := tape.Softmax(vals[m.Graph.Outputs[0]])
		if err != nil {
			return nil, err
		}
		all := make([]float32, p.Value.Numel())
		if err := m.Backend.Download(all, p.Value); err != nil {
			return nil, err
		}
		for i := lo; i < hi; i++ {
			pt, _ := tensor.FromData(all[(i-lo)*k*h*w:][:k*h*w:k*h*w], k, h, w)
			out = append(out, pt)
		}
		tape.Reset()
	}
	return out, nil
}

// Predict returns the arg-max class of every pixel, (H*W) per sample.
func (m *Model) Predict(samples []Input, batch int) ([][]uint8, error) {
	probs, err := m.Probabilities(samples, batch)
	if err != nil {
		return nil, err
	}
	out := make([][]uint8, len(probs))
	for i, p := range probs {
		if out[i], err = ArgMax(p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ArgMax returns the class with the highest probability at each pixel of
// p (K, H, W), host memory; ties go to the lower class.
func ArgMax(p *tensor.Tensor) ([]uint8, error) {
	if p == nil || len(p.Shape) != 3 || p.Shape[0] < 1 || p.Shape[0] > 256 || len(p.Data) != p.Numel() {
		return nil, fmt.Errorf("argmax: probabilities %v, want (K, H, W) in host memory with 1 <= K <= 256", tensor.ShapeOf(p))
	}
	k, hw := p.Shape[0], p.Shape[1]*p.Shape[2]
	out := make([]uint8, hw)
	for i := 0; i < hw; i++ {
		best, bv := 0, p.Data[i]
		for c := 1; c < k; c++ {
			if v := p.Data[c*hw+i]; v > bv {
				best, bv = c, v
			}
		}
		out[i] = uint8(best)
	}
	return out, nil
}

// Forward runs the network in evaluation mode, without gradients, on x
// (N, C, H, W), host memory, already normalised, and returns its raw
// outputs (logits) in host memory: the main output (N, K, H, W) first, then
// the deep-supervision heads from high to low resolution when the network
// has them. H and W must be multiples of the network's stride. Memory: the
// input, the outputs and the live activations (each vertex's value is
// recycled after its last reader), not every layer's value.
func (m *Model) Forward(x *tensor.Tensor) ([]*tensor.Tensor, error) {
	return m.forward(x, m.Graph.Outputs)
}

// ForwardMain is Forward for the main output alone: the deep-supervision
// heads are not computed.
func (m *Model) ForwardMain(x *tensor.Tensor) (*tensor.Tensor, error) {
	outs, err := m.forward(x, m.Graph.Outputs[:1])
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

func (m *Model) forward(x *tensor.Tensor, want []int) ([]*tensor.Tensor, error) {
	if x == nil || len(x.Shape) != 4 || len(x.Data) != x.Numel() {
		return nil, fmt.Errorf("forward: input %v, want (N, C, H, W) in host memory", tensor.ShapeOf(x))
	}
	if x.Shape[0] < 1 {
		return nil, fmt.Errorf("forward: empty batch")
	}
	if err := m.Config.CheckInput(x.Shape[1], x.Shape[2], x.Shape[3]); err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	m.Graph.SetTraining(false)
	defer m.Graph.SetTraining(true)
	tape := autograd.NewTape(m.Backend)
	tape.Recording = false
	defer tape.Arena().Drop()
	xd, err := tape.Arena().Get(x.Shape...)
	if err != nil {
		return nil, err
	}
	if err := m.Backend.Upload(xd, x.Data); err != nil {
		return nil, err
	}
	vals, err := m.Graph.Run(tape, want, autograd.Leaf(xd, false))
	if err != nil {
		return nil, err
	}
	out := make([]*tensor.Tensor, len(vals))
	for i, v := range vals {
		h := tensor.New(v.Value.Shape...)
		if err := m.Backend.Download(h.Data, v.Value); err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}
