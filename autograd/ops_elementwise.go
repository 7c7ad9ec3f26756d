package autograd

import (
	"fmt"

	"suture/tensor"
)

// LeakyReLU: y = x if x > 0 else slope*x. Shapes of x and y are equal.
func (t *Tape) LeakyReLU(x *Var, slope float32) (*Var, error) {
	if err := needVars("leaky-relu", x); err != nil {
		return nil, err
	}
	y, err := t.newOut(x.Value.Shape...)
	if err != nil {
		return nil, err
	}
	if err := t.Backend.LeakyReLU(y.Value, x.Value, slope); err != nil {
		return nil, err
	}
	if !t.tracks(x) {
		return y, nil
	}
	t.record("leaky-relu", y, func(g *tensor.Tensor) error {
		dx, err := t.grad(x)
		if err != nil {
			return err
		}
		return t.Backend.LeakyReLUBackward(dx, g, y.Value, slope)
	})
	return y, nil
}

// Concat joins along channels: xs[i]: (N, Ci, H, W); y: (N, sum Ci, H, W).
func (t *Tape) Concat(xs ...*Var) (*Var, error) {
	if len(xs) == 0 {
		return nil, fmt.Errorf("concat: no inputs")
	}
	if err := needVars("concat", xs...); err != nil {
		return nil, err
	}
	xs = append([]*Var(nil), xs...) // the backward rule keeps them; callers reuse slices
	vals := make([]*tensor.Tensor, len(xs))
	c := 0
	for i, x := range xs {
		vals[i] = x.Value
		if len(x.Value.Shape) != 4 {
			return nil, fmt.Errorf("concat: input %d %v, want (N, C, H, W)", i, x.Value.Shape)
		}
		c += x.Value.Shape[1]
	}
	s := xs[0].Value.Shape
	y, err := t.newOut(s[0], c, s[2], s[3])
	if err != nil {
		return nil, err
	}
	if err := t.Backend.Concat(y.Value, vals); err != nil {
		return nil, err
	}
	if !t.tracks(xs...) {
		return y, nil
	}
	t.record("concat", y, func(g *tensor.Tensor) error {
		// Parts that take no gradient get a scratch buffer: the kernel needs
		// every part's shape, and the scratch is dropped on Reset.
		dxs := make([]*tensor.Tensor, len(xs))
		for i, x := range xs {
			d, err := t.grad(x)
			if err != nil {
				return err
			}
			if d == nil {
				if d, err = t.arena.Zeros(x.Value.Shape...); err != nil {
					return err
				}
			}
			dxs[i] = d
		}
		return t.Backend.ConcatBackward(dxs, g)
	})
	return y, nil
}

// Add: y = a + b (same shapes).
func (t *Tape) Add(a, b *Var) (*Var, error) {
	if err := needVars("add", a, b); err != nil {
		return nil, err
	}
	y, err := t.newOut(a.Value.Shape...)
	if err != nil {
		return nil, err
	}
	if err := t.Backend.Add(y.Value, a.Value, b.Value); err != nil {
		return nil, err
	}
	if !t.tracks(a, b) {
		return y, nil
	}
	t.record("add", y, func(g *tensor.Tensor) error {
		for _, v := range []*Var{a, b} {
			d, err := t.grad(v)
			if err != nil {
				return err
			}
			if d != nil {
				if err := t.Backend.Axpy(d, g, 1); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return y, nil
}

// Scale: y = s*x.
func (t *Tape) Scale(x *Var, s float32) (*Var, error) {
	if err := needVars("scale", x); err != nil {
		return nil, err
	}
	y, err := t.newOut(x.Value.Shape...)
	if err != nil {
		return nil, err
	}
	if err := t.Backend.Scale(y.Value, x.Value, s); err != nil {
		return nil, err
	}
	if !t.tracks(x) {
		return y, nil
	}
	t.record("scale", y, func(g *tensor.Tensor) error {
		dx, err := t.grad(x)
		if err != nil {
			return err
		}
		return t.Backend.Axpy(dx, g, s)
	})
	return y, nil
}

// Mean averages Vars of one shape: (x0 + x1 + ...)/len(xs). Composite of Add and Scale.
func (t *Tape) Mean(xs ...*Var) (*Var, error) {
	if len(xs) == 0 {
		return nil, fmt.Errorf("mean: no inputs")
	}
	acc := xs[0]
	var err error
	for _, x := range xs[1:] {
		if acc, err = t.Add(acc, x); err != nil {
			return nil, err
		}
	}
	if len(xs) == 1 {
		return acc, nil
	}
	return t.Scale(acc, 1/float32(len(xs)))
}

// SelectSamples builds y with y[n] = cands[choice[n]][n]: a per-sample choice
// among candidates of one shape (N, ...). The gradient of sample n flows to
// the chosen candidate only.
func (t *Tape) SelectSamples(cands []*Var, choice []int) (*Var, error) {
	if len(cands) == 0 {
		return nil, fmt.Errorf("select-samples: no candidates")
	}
	if err := needVars("select-samples", cands...); err != nil {
		return nil, err
	}
	cands = append([]*Var(nil), cands...) // kept by the backward rule
	choice = append([]int(nil), choice...)
	s := cands[0].Value.Shape
	if len(s) == 0 || len(choice) != s[0] {
		return nil, fmt.Errorf("select-samples: %d choices for candidates %v", len(choice), s)
	}
	for i, c := range cands {
		if !c.Value.Shape.Equal(s) {
			return nil, fmt.Errorf("select-samples: candidate %d %v differs from candidate 0 %v", i, c.Value.Shape, s)
		}
	}
	for n, k := range choice {
		if k < 0 || k >= len(cands) {
			return nil, fmt.Errorf("select-samples: choice %d for sample %d, have %d candidates", k, n, len(cands))
		}
	}
	y, err := t.newOut(s...)
	if err != nil {
		return nil, err
	}
	per := s.Numel() / s[0]
	rows := func(x *tensor.Tensor, n int) (*tensor.Tensor, error) { return x.View(n*per, per) }
	for n, k := range choice {
		dst, err := rows(y.Value, n)
		if err != nil {
			return nil, err
		}
		src, err := rows(cands[k].Value, n)
		if err != nil {
			return nil, err
		}
		if err := t.Backend.Copy(dst, src); err != nil {
			return nil, err
		}
	}
	if !t.tracks(cands...) {
		return y, nil
	}
	t.record("select-samples", y, func(g *tensor.Tensor) error {
		for n, k := range choice {
			d, err := t.grad(cands[k])
			if err != nil {
				return err
			}
			if d == nil {
				continue
			}
			dst, err := rows(d, n)
			if err != nil {
				return err
			}
			src, err := rows(g, n)
			if err != nil {
				return err
			}
			if err := t.Backend.Axpy(dst, src, 1); err != nil {
				return err
			}
		}
		return nil
	})
	return y, nil
}
