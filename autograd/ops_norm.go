package autograd

import (
	"fmt"

	"suture/tensor"
)

func optValue(v *Var) *tensor.Tensor {
	if v == nil {
		return nil
	}
	return v.Value
}

func check4(op string, x *Var) error {
	if len(x.Value.Shape) != 4 {
		return fmt.Errorf("%s: input %v, want (N, C, H, W)", op, x.Value.Shape)
	}
	return nil
}

// InstanceNorm normalises each (n, c) plane; gamma and beta ((C) or nil) are
// the affine parameters. x, y: (N, C, H, W).
func (t *Tape) InstanceNorm(x, gamma, beta *Var, eps float32) (*Var, error) {
	if err := needVars("instance-norm", x); err != nil {
		return nil, err
	}
	if err := check4("instance-norm", x); err != nil {
		return nil, err
	}
	s := x.Value.Shape
	y, err := t.newOut(s...)
	if err != nil {
		return nil, err
	}
	mean, err := t.arena.Get(s[0], s[1])
	if err != nil {
		return nil, err
	}
	rstd, err := t.arena.Get(s[0], s[1])
	if err != nil {
		return nil, err
	}
	if err := t.Backend.InstanceNorm(y.Value, mean, rstd, x.Value, optValue(gamma), optValue(beta), eps); err != nil {
		return nil, err
	}
	if !t.tracks(x, gamma, beta) {
		return y, nil
	}
	t.record("instance-norm", y, func(g *tensor.Tensor) error {
		dx, err := t.grad(x)
		if err != nil {
			return err
		}
		dg, err := t.grad(gamma)
		if err != nil {
			return err
		}
		db, err := t.grad(beta)
		if err != nil {
			return err
		}
		return t.Backend.InstanceNormBackward(dx, dg, db, g, x.Value, mean, rstd, optValue(gamma))
	})
	return y, nil
}

// BatchNormTrain normalises each channel with the batch statistics, which it
// also returns (mean, biased variance; host copies, (C)) so the caller can
// update running statistics.
func (t *Tape) BatchNormTrain(x, gamma, beta *Var, eps float32) (y *Var, mean, variance []float32, err error) {
	if err := needVars("batch-norm", x); err != nil {
		return nil, nil, nil, err
	}
	if err := check4("batch-norm", x); err != nil {
		return nil, nil, nil, err
	}
	s := x.Value.Shape
	if y, err = t.newOut(s...); err != nil {
		return nil, nil, nil, err
	}
	m, err := t.arena.Get(s[1])
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := t.arena.Get(s[1])
	if err != nil {
		return nil, nil, nil, err
	}
	if err := t.Backend.BatchNormTrain(y.Value, m, r, x.Value, optValue(gamma), optValue(beta), eps); err != nil {
		return nil, nil, nil, err
	}
	mean, variance = make([]float32, s[1]), make([]float32, s[1])
	if err := t.Backend.Download(mean, m); err != nil {
		return nil, nil, nil, err
	}
	if err := t.Backend.Download(variance, r); err != nil {
		return nil, nil, nil, err
	}
	for i, rs := range variance {
		variance[i] = 1/(rs*rs) - eps
	}
	if t.tracks(x, gamma, beta) {
		t.record("batch-norm", y, func(g *tensor.Tensor) error {
			dx, err := t.grad(x)
			if err != nil {
				return err
			}
			dg, err := t.grad(gamma)
			if err != nil {
				return err
			}
			db, err := t.grad(beta)
			if err != nil {
				return err
			}
			return t.Backend.BatchNormTrainBackward(dx, dg, db, g, x.Value, m, r, optValue(gamma))
		})
	}
	return y, mean, variance, nil
}

// BatchNormFrozen applies fixed running statistics (eval mode). Only the
// input gets a gradient: the statistics and the affine parameters of a
// frozen norm are constants.
func (t *Tape) BatchNormFrozen(x *Var, runMean, runVar, gamma, beta *tensor.Tensor, eps float32) (*Var, error) {
	if err := needVars("batch-norm (frozen)", x); err != nil {
		return nil, err
	}
	if err := check4("batch-norm (frozen)", x); err != nil {
		return nil, err
	}
	y, err := t.newOut(x.Value.Shape...)
	if err != nil {
		return nil, err
	}
	if err := t.Backend.BatchNormFrozen(y.Value, x.Value, runMean, runVar, gamma, beta, eps); err != nil {
		return nil, err
	}
	if !t.tracks(x) {
		return y, nil
	}
	t.record("batch-norm (frozen)", y, func(g *tensor.Tensor) error {
		dx, err := t.grad(x)
		if err != nil {
			return err
		}
		return t.Backend.BatchNormFrozenBackwardData(dx, g, runVar, gamma, eps)
	})
	return y, nil
}
