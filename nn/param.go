package nn

import (
	"fmt"

	"suture/autograd"
	"suture/kernels"
	"suture/tensor"
)

// Param is a named tensor of a model: a trainable weight, or a buffer (state
// such as batch-norm running statistics that is saved but never trained).
type Param struct {
	Name string
	// Value: the data; after NewParamSet a view of the set's flat buffer.
	Value *tensor.Tensor
	// Grad: a view of the set's flat gradient buffer; nil for buffers and
	// before NewParamSet.
	Grad *tensor.Tensor
	// Buffer marks non-trainable state.
	Buffer bool

	frozen bool
	v      *autograd.Var
}

// NewParam makes a trainable parameter holding t (host memory until it joins a ParamSet).
func NewParam(name string, t *tensor.Tensor) *Param { return &Param{Name: name, Value: t} }

// NewBuffer makes a non-trainable state tensor.
func NewBuffer(name string, t *tensor.Tensor) *Param {
	return &Param{Name: name, Value: t, Buffer: true}
}

// Var is the parameter as an autograd leaf; it takes gradients unless the
// parameter is a buffer or frozen.
func (p *Param) Var() *autograd.Var {
	if p.v == nil || p.v.Value != p.Value {
		var g *tensor.Tensor
		if !p.Buffer && !p.frozen {
			g = p.Grad
		}
		p.v = autograd.Param(p.Value, g)
	}
	return p.v
}

// ParamSet holds a model's parameters in one flat buffer on a backend:
// trainable parameters first (Value[0:Trainable], with the matching flat
// Grad), then buffers. Optimizers update the trainable prefix in one call.
type ParamSet struct {
	Backend kernels.Backend
	Params  []*Param
	// Value: (Total) all parameters back to back, in Params order with buffers last.
	Value *tensor.Tensor
	// Grad: (Trainable) gradients of the trainable prefix.
	Grad *tensor.Tensor
	// Train: view of Value's trainable prefix, (Trainable).
	Train *tensor.Tensor
	// Trainable: number of trainable elements.
	Trainable int
}

// NewParamSet moves params (host tensors) into one flat buffer on b and
// repoints each Param at its view. Names must be unique.
func NewParamSet(b kernels.Backend, params []*Param) (*ParamSet, error) {
	seen := map[string]bool{}
	var order []*Param
	total, train := 0, 0
	for pass := 0; pass < 2; pass++ { // trainable first, buffers second
		for _, p := range params {
			if p == nil || p.Value == nil {
				return nil, fmt.Errorf("param set: nil parameter")
			}
			if p.Buffer != (pass == 1) {
				continue
			}
			if seen[p.Name] {
				return nil, fmt.Errorf("param set: duplicate parameter name %q", p.Name)
			}
			seen[p.Name] = true
			order = append(order, p)
			total += p.Value.Numel()
			if !p.Buffer {
				train += p.Value.Numel()
			}
		}
	}
	flat, err := b.Alloc(total)
	if err != nil {
		return nil, fmt.Errorf("param set: %w", err)
	}
	grad, err := b.Alloc(max(train, 1))
	if err != nil {
		return nil, fmt.Errorf("param set: %w", err)
	}
	if train == 0 {
		grad, _ = grad.View(0, 0)
	}
	host := make([]float32, total)
	off := 0
	for _, p := range order {
		n := p.Value.Numel()
		if p.Value.Dev != nil {
			if err := b.Download(host[off:off+n], p.Value); err != nil {
				return nil, fmt.Errorf("param set: %s: %w", p.Name, err)
			}
		} else {
			copy(host[off:off+n], p.Value.Data)
		}
		off += n
	}
	if err := b.Upload(flat, host); err != nil {
		return nil, fmt.Errorf("param set: %w", err)
	}
	off = 0
	for _, p := range order {
		n := p.Value.Numel()
		shape := p.Value.Shape.Clone()
		if p.Value, err = flat.View(off, shape...); err != nil {
			return nil, err
		}
		p.Grad = nil
		if !p.Buffer {
			if p.Grad, err = grad.View(off, shape...); err != nil {
				return nil, err
			}
		}
		p.v = nil
		off += n
	}
	trainView, err := flat.View(0, train)
	if err != nil {
		return nil, err
	}
	return &ParamSet{Backend: b, Params: order, Value: flat, Grad: grad, Train: trainView, Trainable: train}, nil
}

// ZeroGrad clears the flat gradient buffer.
func (s *ParamSet) ZeroGrad() error {
	if s.Trainable == 0 {
		return nil
	}
	return s.Backend.Fill(s.Grad, 0)
}

// Freeze stops gradients to every parameter (frozen base networks).
func (s *ParamSet) Freeze(frozen bool) {
	for _, p := range s.Params {
		p.frozen = frozen
		p.v = nil
	}
}

// ByName finds a parameter.
func (s *ParamSet) ByName(name string) *Param {
	for _, p := range s.Params {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Host returns copies of every parameter in host memory, in set order.
func (s *ParamSet) Host() ([]*tensor.Tensor, error) {
	out := make([]*tensor.Tensor, len(s.Params))
	for i, p := range s.Params {
		h := tensor.New(p.Value.Shape...)
		if err := s.Backend.Download(h.Data, p.Value); err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		out[i] = h
	}
	return out, nil
}

// Load copies values into the parameters by name. Every parameter must be
// present with its exact shape; extra names are an error too, so a
// checkpoint of another architecture is refused.
func (s *ParamSet) Load(values map[string]*tensor.Tensor) error {
	for _, p := range s.Params {
		v, ok := values[p.Name]
		if !ok {
			return fmt.Errorf("parameter %q %v is missing", p.Name, p.Value.Shape)
		}
		if !v.Shape.Equal(p.Value.Shape) {
			return fmt.Errorf("parameter %q has shape %v, the model expects %v", p.Name, v.Shape, p.Value.Shape)
		}
	}
	if len(values) != len(s.Params) {
		for name := range values {
			if s.ByName(name) == nil {
				return fmt.Errorf("parameter %q is not part of this model", name)
			}
		}
	}
	for _, p := range s.Params {
		if err := s.Backend.Upload(p.Value, values[p.Name].Data); err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	return nil
}
