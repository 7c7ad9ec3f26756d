package autograd

// Backward accumulates (+=) into the logits' gradient.

import (
	"fmt"
	"math"

	"suture/tensor"
)

// SoftTargetKL is the distillation loss of Hinton et al. (2015):
// T^2 times the mean over pixels (n, h, w) of
// KL(q || softmax(logits/T)) = sum_k q_k (log q_k - log p_k), with
// 0 log 0 = 0. logits: (N, K, H, W); q: (N, K, H, W) the teacher's
// probabilities at temperature T (on the backend; copied here, so the
// caller may reuse q's memory after the call). The T^2 factor keeps the
// gradient's size independent of T: d/d logits = T (p - q) / (N*H*W).
// The op is fused (one rule); it runs on the host, the two tensors being
// small (K is the number of classes).
func (t *Tape) SoftTargetKL(logits *Var, q *tensor.Tensor, temp float32) (*Var, error) {
	if err := needVars("soft-target-kl", logits); err != nil {
		return nil, err
	}
	if q == nil {
		return nil, fmt.Errorf("soft-target-kl: nil teacher probabilities")
	}
	s := logits.Value.Shape
	if len(s) != 4 || s[1] < 1 {
		return nil, fmt.Errorf("soft-target-kl: logits %v, want (N, K, H, W)", s)
	}
	if !q.Shape.Equal(s) {
		return nil, fmt.Errorf("soft-target-kl: teacher probabilities %v differ from the student's logits %v", q.Shape, s)
	}
	if !(temp > 0) || math.IsInf(float64(temp), 0) {
		return nil, fmt.Errorf("soft-target-kl: temperature %g must be a positive number", temp)
	}
	n, k, plane := s[0], s[1], s[2]*s[3]
	z := make([]float32, logits.Value.Numel())
	if err := t.Backend.Download(z, logits.Value); err != nil {
		return nil, err
	}
	qh := make([]float32, q.Numel())
	if err := t.Backend.Download(qh, q); err != nil {
		return nil, err
	}
	// p overwrites z: the student's probabilities at temperature T.
	invT := 1 / float64(temp)
	var kl float64
	lp := make([]float64, k)
	for i := 0; i < n; i++ {
		base := i * k * plane
		for px := 0; px < plane; px++ {
			mx := math.Inf(-1)
			for c := 0; c < k; c++ {
				mx = math.Max(mx, float64(z[base+c*plane+px])*invT)
			}
			var sum float64
			for c := 0; c < k; c++ {
				lp[c] = float64(z[base+c*plane+px])*invT - mx
				sum += math.Exp(lp[c])
			}
			lse := math.Log(sum)
			for c := 0; c < k; c++ {
				j := base + c*plane + px
				l := lp[c] - lse
				qv := float64(qh[j])
				if qv < 0 || qv > 1 || math.IsNaN(qv) {
					return nil, fmt.Errorf("soft-target-kl: teacher probability %g at element %d is not in [0, 1]", qv, j)
				}
				if qv > 0 {
					kl += qv * (math.Log(qv) - l)
				}
				z[j] = float32(math.Exp(l))
			}
		}
	}
	pixels := float64(n * plane)
	tt := float64(temp) * float64(temp)
	out, err := t.scalarVar(tt * kl / pixels)
	if err != nil {
		return nil, err
	}
	if !t.tracks(logits) {
		return out, nil
	}
	p := z
	t.record("soft-target-kl", out, func(g *tensor.Tensor) error {
		sc, err := t.scalar(g)
		if err != nil {
			return err
		}
		f := float32(float64(sc) * float64(temp) / pixels)
		host := make([]float32, len(p))
		for i := range host {
			host[i] = f * (p[i] - qh[i])
		}
		gt, err := t.arena.Get(s...)
		if err != nil {
			return err
		}
		if err := t.Backend.Upload(gt, host); err != nil {
			return err
		}
		dx, err := t.grad(logits)
		if err != nil {
			return err
		}
		return t.Backend.Axpy(dx, gt, 1)
	})
	return out, nil
}

// Rows gathers samples of x (N, ...) into y (len(idx), ...): y[i] = x[idx[i]].
// The gradient of y[i] is added to x[idx[i]].
func (t *Tape) Rows(x *Var, idx []int) (*Var, error) {
	if err := needVars("rows", x); err != nil {
		return nil, err
	}
	s := x.Value.Shape
	if len(s) == 0 || len(idx) == 0 {
		return nil, fmt.Errorf("rows: %d rows of %v", len(idx), s)
	}
	for _, i := range idx {
		if i < 0 || i >= s[0] {
			return nil, fmt.Errorf("rows: row %d outside %v", i, s)
		}
	}
	idx = append([]int(nil), idx...)
	shape := append(tensor.Shape{len(idx)}, s[1:]...)
	y, err := t.newOut(shape...)
	if err != nil {
		return nil, err
	}
	per := s.Numel() / s[0]
	if err := t.CopyRows(y.Value, x.Value, idx); err != nil {
		return nil, err
	}
	if !t.tracks(x) {
		return y, nil
	}
	t.record("rows", y, func(g *tensor.Tensor) error {
		dx, err := t.grad(x)
		if err != nil {
			return err
		}
		for i, r := range idx {
			dst, err := dx.View(r*per, per)
			if err != nil {
				return err
			}
			src, err := g.View(i*per, per)
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

// CopyRows copies rows idx of x (N, ...) into dst (len(idx), ...) on the
// tape's backend, without recording: dst[i] = x[idx[i]].
func (t *Tape) CopyRows(dst, x *tensor.Tensor, idx []int) error {
	if x == nil || dst == nil || len(x.Shape) == 0 || len(dst.Shape) == 0 || x.Shape[0] == 0 ||
		dst.Shape[0] != len(idx) || dst.Numel()*x.Shape[0] != x.Numel()*len(idx) {
		return fmt.Errorf("copy-rows: %d rows of %v into %v", len(idx), tensor.ShapeOf(x), tensor.ShapeOf(dst))
	}
	per := x.Numel() / x.Shape[0]
	for i, r := range idx {
		d, err := dst.View(i*per, per)
		if err != nil {
			return err
		}
		src, err := x.View(r*per, per)
		if err != nil {
			return err
		}
		if err := t.Backend.Copy(d, src); err != nil {
			return err
		}
	}
	return nil
}
