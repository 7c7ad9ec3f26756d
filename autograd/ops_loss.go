package autograd

import (
	"fmt"

	"suture/tensor"
)

// Softmax over channels: x, p: (N, K, H, W).
func (t *Tape) Softmax(x *Var) (*Var, error) {
	if err := needVars("softmax", x); err != nil {
		return nil, err
	}
	p, err := t.newOut(x.Value.Shape...)
	if err != nil {
		return nil, err
	}
	if err := t.Backend.Softmax(p.Value, x.Value); err != nil {
		return nil, err
	}
	if !t.tracks(x) {
		return p, nil
	}
	t.record("softmax", p, func(g *tensor.Tensor) error {
		dx, err := t.grad(x)
		if err != nil {
			return err
		}
		return t.Backend.SoftmaxBackward(dx, g, p.Value)
	})
	return p, nil
}

// CrossEntropy is the mean over pixels of -log softmax(logits)[target].
// logits: (N, K, H, W); target: (N, 1, H, W) class indices. Returns a
// one-element Var.
func (t *Tape) CrossEntropy(logits *Var, target *tensor.Tensor) (*Var, error) {
	if err := needVars("cross-entropy", logits); err != nil {
		return nil, err
	}
	if target == nil {
		return nil, fmt.Errorf("cross-entropy: nil target")
	}
	p, err := t.arena.Get(logits.Value.Shape...)
	if err != nil {
		return nil, err
	}
	v, err := t.Backend.SoftmaxCrossEntropy(p, logits.Value, target)
	if err != nil {
		return nil, err
	}
	out, err := t.scalarVar(v)
	if err != nil {
		return nil, err
	}
	if !t.tracks(logits) {
		return out, nil
	}
	t.record("cross-entropy", out, func(g *tensor.Tensor) error {
		s, err := t.scalar(g)
		if err != nil {
			return err
		}
		dx, err := t.grad(logits)
		if err != nil {
			return err
		}
		return t.Backend.SoftmaxCrossEntropyBackward(dx, p, target, s)
	})
	return out, nil
}

// SoftDice is nnU-Net's batch soft-Dice loss on probabilities p (N, K, H, W)
// against target (N, 1, H, W): 1 - mean over foreground classes k >= 1 of
// (2*tp_k + smooth) / max(ps_k + ts_k + smooth, 1e-8), sums over the whole
// batch. (nnU-Net reports -Dice; 1 - Dice has the same gradient and stays
// positive.) Background is excluded, so K must be >= 2.
func (t *Tape) SoftDice(p *Var, target *tensor.Tensor, smooth float32) (*Var, error) {
	if err := needVars("soft-dice", p); err != nil {
		return nil, err
	}
	if target == nil {
		return nil, fmt.Errorf("soft-dice: nil target")
	}
	if len(p.Value.Shape) != 4 || p.Value.Shape[1] < 2 {
		return nil, fmt.Errorf("soft-dice: probabilities %v, want (N, K>=2, H, W)", p.Value.Shape)
	}
	k := p.Value.Shape[1]
	var sums [3]*tensor.Tensor
	for i := range sums {
		s, err := t.arena.Get(k)
		if err != nil {
			return nil, err
		}
		sums[i] = s
	}
	if err := t.Backend.DiceSums(sums[0], sums[1], sums[2], p.Value, target); err != nil {
		return nil, err
	}
	host := make([][]float32, 3)
	for i, s := range sums {
		host[i] = make([]float32, k)
		if err := t.Backend.Download(host[i], s); err != nil {
			return nil, err
		}
	}
	tp, ps, ts := host[0], host[1], host[2]
	fg := float64(k - 1)
	var dice float64
	dtp, dps := make([]float32, k), make([]float32, k)
	for c := 1; c < k; c++ {
		num := 2*float64(tp[c]) + float64(smooth)
		den := max(float64(ps[c])+float64(ts[c])+float64(smooth), 1e-8)
		dice += num / den
		// d(1 - mean dice)/d tp and /d ps for this class.
		dtp[c] = float32(-2 / den / fg)
		dps[c] = float32(num / (den * den) / fg)
	}
	out, err := t.scalarVar(1 - dice/fg)
	if err != nil {
		return nil, err
	}
	if !t.tracks(p) {
		return out, nil
	}
	t.record("soft-dice", out, func(g *tensor.Tensor) error {
		s, err := t.scalar(g)
		if err != nil {
			return err
		}
		gt, err := t.arena.Get(k)
		if err != nil {
			return err
		}
		gp, err := t.arena.Get(k)
		if err != nil {
			return err
		}
		for c := range dtp {
			dtp[c] *= s
			dps[c] *= s
		}
		if err := t.Backend.Upload(gt, dtp); err != nil {
			return err
		}
		if err := t.Backend.Upload(gp, dps); err != nil {
			return err
		}
		dp, err := t.grad(p)
		if err != nil {
			return err
		}
		return t.Backend.DiceSumsBackward(dp, target, gt, gp)
	})
	return out, nil
}

// MSE is mean((a-b)^2). Gradients flow to whichever of a and b requires them.
func (t *Tape) MSE(a, b *Var) (*Var, error) {
	if err := needVars("mse", a, b); err != nil {
		return nil, err
	}
	v, err := t.Backend.MSE(a.Value, b.Value)
	if err != nil {
		return nil, err
	}
	out, err := t.scalarVar(v)
	if err != nil {
		return nil, err
	}
	if !t.tracks(a, b) {
		return out, nil
	}
	t.record("mse", out, func(g *tensor.Tensor) error {
		s, err := t.scalar(g)
		if err != nil {
			return err
		}
		da, err := t.grad(a)
		if err != nil {
			return err
		}
		db, err := t.grad(b)
		if err != nil {
			return err
		}
		return t.Backend.MSEBackward(da, db, a.Value, b.Value, s)
	})
	return out, nil
}

// WeightedSum adds one-element losses with weights: sum_i w[i]*xs[i]. Terms whose
// weight is 0 are skipped entirely.
func (t *Tape) WeightedSum(xs []*Var, w []float32) (*Var, error) {
	if len(xs) != len(w) || len(xs) == 0 {
		return nil, fmt.Errorf("weighted-sum: %d terms and %d weights", len(xs), len(w))
	}
	var acc *Var
	for i, x := range xs {
		if w[i] == 0 {
			continue
		}
		s, err := t.Scale(x, w[i])
		if err != nil {
			return nil, err
		}
		if acc == nil {
			acc = s
		} else if acc, err = t.Add(acc, s); err != nil {
			return nil, err
		}
	}
	if acc == nil {
		return nil, fmt.Errorf("weighted-sum: every weight is 0")
	}
	return acc, nil
}

// Value reads a one-element Var as float64.
func (t *Tape) Value(v *Var) (float64, error) {
	if v == nil || v.Value == nil || v.Value.Numel() != 1 {
		return 0, fmt.Errorf("value: want a one-element Var")
	}
	s, err := t.scalar(v.Value)
	return float64(s), err
}
