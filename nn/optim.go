package nn

import (
	"fmt"
	"math"

	"suture/tensor"
)

// SGD is stochastic gradient descent with Nesterov momentum and L2 weight
// decay (PyTorch semantics; nnU-Net: momentum 0.99, weight decay 3e-5).
type SGD struct {
	Set                   *ParamSet
	Momentum, WeightDecay float32
	v                     *tensor.Tensor // (Trainable) momentum buffer
	steps                 int
}

// NewSGD allocates the momentum buffer.
func NewSGD(s *ParamSet, momentum, weightDecay float32) (*SGD, error) {
	v, err := s.Backend.Alloc(max(s.Trainable, 1))
	if err != nil {
		return nil, err
	}
	v, _ = v.View(0, s.Trainable)
	return &SGD{Set: s, Momentum: momentum, WeightDecay: weightDecay, v: v}, nil
}

// Step applies one update with learning rate lr.
func (o *SGD) Step(lr float32) error {
	if o.Set.Trainable == 0 {
		return nil
	}
	o.steps++
	return o.Set.Backend.SGDNesterov(o.Set.Train, o.v, o.Set.Grad, lr, o.Momentum, o.WeightDecay)
}

// State returns the optimizer's buffers and step count for checkpoints.
func (o *SGD) State() ([]*tensor.Tensor, int) { return []*tensor.Tensor{o.v}, o.steps }

// SetState restores what State returned.
func (o *SGD) SetState(bufs []*tensor.Tensor, step int) error {
	if len(bufs) != 1 || bufs[0].Numel() != o.v.Numel() {
		return fmt.Errorf("sgd: optimizer state does not match the model (%d parameters)", o.Set.Trainable)
	}
	o.steps = step
	return o.Set.Backend.Upload(o.v, bufs[0].Data)
}

// AdamW is Adam with decoupled weight decay (PyTorch semantics).
type AdamW struct {
	Set                            *ParamSet
	Beta1, Beta2, Eps, WeightDecay float32
	m, v                           *tensor.Tensor // (Trainable) moments
	step                           int
}

// NewAdamW uses PyTorch's defaults for the betas and eps.
func NewAdamW(s *ParamSet, weightDecay float32) (*AdamW, error) {
	m, err := s.Backend.Alloc(max(s.Trainable, 1))
	if err != nil {
		return nil, err
	}
	v, err := s.Backend.Alloc(max(s.Trainable, 1))
	if err != nil {
		return nil, err
	}
	m, _ = m.View(0, s.Trainable)
	v, _ = v.View(0, s.Trainable)
	return &AdamW{Set: s, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay, m: m, v: v}, nil
}

// Step applies one update with learning rate lr.
func (o *AdamW) Step(lr float32) error {
	if o.Set.Trainable == 0 {
		return nil
	}
	o.step++
	return o.Set.Backend.AdamW(o.Set.Train, o.m, o.v, o.Set.Grad, lr, o.Beta1, o.Beta2, o.Eps, o.WeightDecay, o.step)
}

// State returns the optimizer's buffers and step count for checkpoints.
func (o *AdamW) State() ([]*tensor.Tensor, int) { return []*tensor.Tensor{o.m, o.v}, o.step }

// SetState restores what State returned.
func (o *AdamW) SetState(bufs []*tensor.Tensor, step int) error {
	if len(bufs) != 2 || bufs[0].Numel() != o.m.Numel() || bufs[1].Numel() != o.v.Numel() {
		return fmt.Errorf("adamw: optimizer state does not match the model (%d parameters)", o.Set.Trainable)
	}
	o.step = step
	if err := o.Set.Backend.Upload(o.m, bufs[0].Data); err != nil {
		return err
	}
	return o.Set.Backend.Upload(o.v, bufs[1].Data)
}

// ClipGradNorm scales the flat gradient so its L2 norm is at most maxNorm and
// returns the norm before clipping (torch.nn.utils.clip_grad_norm_). A
// non-finite norm is an error.
func ClipGradNorm(s *ParamSet, maxNorm float64) (float64, error) {
	if s.Trainable == 0 {
		return 0, nil
	}
	sq, err := s.Backend.SumSquares(s.Grad)
	if err != nil {
		return 0, err
	}
	norm := math.Sqrt(sq)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm, fmt.Errorf("gradient norm is %v", norm)
	}
	if norm > maxNorm {
		if err := s.Backend.Scale(s.Grad, s.Grad, float32(maxNorm/(norm+1e-6))); err != nil {
			return norm, err
		}
	}
	return norm, nil
}
