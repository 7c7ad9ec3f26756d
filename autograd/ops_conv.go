package autograd

import (
	"suture/kernels"
	"suture/tensor"
)

// Conv2d: y = conv(x, w) + b with b optional (nil).
// x: (N, Ci, H, W), w: (Co, Ci, KH, KW), b: (Co); y: (N, Co, Ho, Wo).
func (t *Tape) Conv2d(x, w, b *Var, p kernels.ConvParams) (*Var, error) {
	if err := needVars("conv2d", x, w); err != nil {
		return nil, err
	}
	ys, err := kernels.Conv2dOutShape(x.Value.Shape, w.Value.Shape, p)
	if err != nil {
		return nil, err
	}
	y, err := t.newOut(ys...)
	if err != nil {
		return nil, err
	}
	var bv *tensor.Tensor
	if b != nil {
		bv = b.Value
	}
	if err := t.Backend.Conv2d(y.Value, x.Value, w.Value, bv, p); err != nil {
		return nil, err
	}
	if !t.tracks(x, w, b) {
		return y, nil
	}
	t.record("conv2d", y, func(g *tensor.Tensor) error {
		if x.RequiresGrad() {
			dx, err := t.grad(x)
			if err != nil {
				return err
			}
			if err := t.Backend.Conv2dBackwardData(dx, g, w.Value, p); err != nil {
				return err
			}
		}
		dw, err := t.grad(w)
		if err != nil {
			return err
		}
		db, err := t.grad(b)
		if err != nil {
			return err
		}
		switch {
		case dw != nil:
			return t.Backend.Conv2dBackwardFilter(dw, db, g, x.Value, p)
		case db != nil:
			return t.Backend.BiasGrad(db, g)
		}
		return nil
	})
	return y, nil
}

// ConvTranspose2d with kernel == stride.
// x: (N, Ci, H, W), w: (Ci, Co, KH, KW), b: (Co) or nil; y: (N, Co, H*KH, W*KW).
func (t *Tape) ConvTranspose2d(x, w, b *Var) (*Var, error) {
	if err := needVars("conv-transpose2d", x, w); err != nil {
		return nil, err
	}
	xs, ws := x.Value.Shape, w.Value.Shape
	if len(xs) != 4 || len(ws) != 4 {
		return nil, kernels.CheckConvTranspose2d("conv-transpose2d", x.Value, x.Value, w.Value, nil)
	}
	y, err := t.newOut(xs[0], ws[1], xs[2]*ws[2], xs[3]*ws[3])
	if err != nil {
		return nil, err
	}
	var bv *tensor.Tensor
	if b != nil {
		bv = b.Value
	}
	if err := t.Backend.ConvTranspose2d(y.Value, x.Value, w.Value, bv); err != nil {
		return nil, err
	}
	if !t.tracks(x, w, b) {
		return y, nil
	}
	t.record("conv-transpose2d", y, func(g *tensor.Tensor) error {
		if x.RequiresGrad() {
			dx, err := t.grad(x)
			if err != nil {
				return err
			}
			if err := t.Backend.ConvTranspose2dBackwardData(dx, g, w.Value); err != nil {
				return err
			}
		}
		dw, err := t.grad(w)
		if err != nil {
			return err
		}
		db, err := t.grad(b)
		if err != nil {
			return err
		}
		switch {
		case dw != nil:
			return t.Backend.ConvTranspose2dBackwardFilter(dw, db, g, x.Value)
		case db != nil:
			return t.Backend.BiasGrad(db, g)
		}
		return nil
	})
	return y, nil
}
