package autograd

import "suture/tensor"

// Var is a value in a computation, with its gradient once Backward has run.
type Var struct {
	// Value holds the data. For results of ops it belongs to the tape's arena.
	Value *tensor.Tensor
	// Grad has Value's shape; nil until a gradient flows into the Var. For
	// leaves whose Grad is set by the caller (parameters in a flat gradient
	// buffer) the tape accumulates into it.
	Grad *tensor.Tensor

	requiresGrad bool
	fromArena    bool // Grad was allocated by the tape and returns on Reset
}

// Leaf wraps a tensor as an input of the computation.
func Leaf(t *tensor.Tensor, requiresGrad bool) *Var {
	return &Var{Value: t, requiresGrad: requiresGrad}
}

// Param wraps a parameter tensor and its gradient buffer (accumulated into by
// Backward); grad nil means frozen.
func Param(value, grad *tensor.Tensor) *Var {
	return &Var{Value: value, Grad: grad, requiresGrad: grad != nil}
}

// RequiresGrad reports whether gradients flow into v.
func (v *Var) RequiresGrad() bool { return v != nil && v.requiresGrad }

// SetRequiresGrad freezes (false) or unfreezes a leaf.
func (v *Var) SetRequiresGrad(r bool) { v.requiresGrad = r }

// Detach returns a Var with the same value that no gradient flows through.
func (v *Var) Detach() *Var { return &Var{Value: v.Value} }

// Shape is the value's shape.
func (v *Var) Shape() tensor.Shape { return v.Value.Shape }
