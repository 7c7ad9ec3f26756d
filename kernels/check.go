package kernels

import (
	"fmt"

	"suture/tensor"
)

// The Check* functions validate the arguments of one op and return an error
// that names the op and the offending shapes. Every backend calls them before
// computing, so all backends reject the same inputs with the same messages.

// need reports the first nil among named tensors.
func need(op string, names []string, ts ...*tensor.Tensor) error {
	for i, t := range ts {
		if t == nil {
			return fmt.Errorf("%s: %s is nil", op, names[i])
		}
	}
	return nil
}

func rank(op, name string, t *tensor.Tensor, r int) error {
	if len(t.Shape) != r {
		return fmt.Errorf("%s: %s %v has rank %d, want %d", op, name, t.Shape, len(t.Shape), r)
	}
	if t.Dev == nil && len(t.Data) != t.Shape.Numel() {
		return fmt.Errorf("%s: %s %v holds %d values, want %d", op, name, t.Shape, len(t.Data), t.Shape.Numel())
	}
	return nil
}

func same(op, an string, a *tensor.Tensor, bn string, b *tensor.Tensor) error {
	if !a.Shape.Equal(b.Shape) {
		return fmt.Errorf("%s: %s %v and %s %v differ", op, an, a.Shape, bn, b.Shape)
	}
	return nil
}

func consistent(op string, t *tensor.Tensor) error {
	if t.Dev == nil && len(t.Data) != t.Shape.Numel() {
		return fmt.Errorf("%s: tensor %v holds %d values, want %d", op, t.Shape, len(t.Data), t.Shape.Numel())
	}
	return nil
}

func vec(op, name string, t *tensor.Tensor, n int) error {
	if t == nil {
		return nil
	}
	if len(t.Shape) != 1 || t.Shape[0] != n {
		return fmt.Errorf("%s: %s %v, want (%d)", op, name, t.Shape, n)
	}
	return consistent(op, t)
}

// ConvOutSize is the output length of a convolution along one axis; it is
// < 1 when the kernel does not fit.
func ConvOutSize(in, k, stride, pad int) int {
	// Go's division truncates toward zero, so (in+2*pad-k)/stride + 1 would
	// be 1, not 0, for a kernel up to stride-1 larger than the padded input.
	if stride < 1 || in+2*pad < k {
		return 0
	}
	return (in+2*pad-k)/stride + 1
}

// Conv2dOutShape returns y's shape for x (N, Ci, H, W) and w (Co, Ci, KH, KW).
func Conv2dOutShape(x, w tensor.Shape, p ConvParams) (tensor.Shape, error) {
	const op = "conv2d"
	if len(x) != 4 || len(w) != 4 {
		return nil, fmt.Errorf("%s: input %v and weight %v must both be rank 4", op, x, w)
	}
	if p.StrideH < 1 || p.StrideW < 1 || p.PadH < 0 || p.PadW < 0 {
		return nil, fmt.Errorf("%s: stride (%d,%d) and padding (%d,%d) must be >= 1 and >= 0", op, p.StrideH, p.StrideW, p.PadH, p.PadW)
	}
	if x[1] != w[1] {
		return nil, fmt.Errorf("%s: input %v has %d channels, weight %v expects %d", op, x, x[1], w, w[1])
	}
	if w[0] < 1 || w[2] < 1 || w[3] < 1 {
		return nil, fmt.Errorf("%s: weight %v has an empty dimension", op, w)
	}
	if x[0] < 1 || x[1] < 1 || x[2] < 1 || x[3] < 1 {
		return nil, fmt.Errorf("%s: input %v is empty", op, x)
	}
	ho := ConvOutSize(x[2], w[2], p.StrideH, p.PadH)
	wo := ConvOutSize(x[3], w[3], p.StrideW, p.PadW)
	if ho < 1 || wo < 1 {
		return nil, fmt.Errorf("%s: kernel %dx%d does not fit input %v with padding (%d,%d)", op, w[2], w[3], x, p.PadH, p.PadW)
	}
	return tensor.Shape{x[0], w[0], ho, wo}, nil
}

// CheckConv2d validates Conv2d's arguments.
func CheckConv2d(y, x, w, b *tensor.Tensor, p ConvParams) error {
	const op = "conv2d"
	if err := need(op, []string{"output", "input", "weight"}, y, x, w); err != nil {
		return err
	}
	ys, err := Conv2dOutShape(x.Shape, w.Shape, p)
	if err != nil {
		return err
	}
	if !y.Shape.Equal(ys) {
		return fmt.Errorf("%s: output %v, want %v for input %v and weight %v", op, y.Shape, ys, x.Shape, w.Shape)
	}
	for _, t := range []*tensor.Tensor{y, x, w} {
		if err := consistent(op, t); err != nil {
			return err
		}
	}
	return vec(op, "bias", b, w.Shape[0])
}

// CheckConv2dBackwardData validates Conv2dBackwardData's arguments.
func CheckConv2dBackwardData(dx, dy, w *tensor.Tensor, p ConvParams) error {
	const op = "conv2d backward-data"
	if err := need(op, []string{"dx", "dy", "weight"}, dx, dy, w); err != nil {
		return err
	}
	ys, err := Conv2dOutShape(dx.Shape, w.Shape, p)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if !dy.Shape.Equal(ys) {
		return fmt.Errorf("%s: dy %v, want %v for dx %v and weight %v", op, dy.Shape, ys, dx.Shape, w.Shape)
	}
	for _, t := range []*tensor.Tensor{dx, dy, w} {
		if err := consistent(op, t); err != nil {
			return err
		}
	}
	return nil
}

// CheckConv2dBackwardFilter validates Conv2dBackwardFilter's arguments.
func CheckConv2dBackwardFilter(dw, db, dy, x *tensor.Tensor, p ConvParams) error {
	const op = "conv2d backward-filter"
	if err := need(op, []string{"dw", "dy", "input"}, dw, dy, x); err != nil {
		return err
	}
	ys, err := Conv2dOutShape(x.Shape, dw.Shape, p)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if !dy.Shape.Equal(ys) {
		return fmt.Errorf("%s: dy %v, want %v for input %v and dw %v", op, dy.Shape, ys, x.Shape, dw.Shape)
	}
	for _, t := range []*tensor.Tensor{dw, dy, x} {
		if err := consistent(op, t); err != nil {
			return err
		}
	}
	return vec(op, "db", db, dw.Shape[0])
}

// CheckConvTranspose2d validates the arguments of the three conv-transpose
// ops: y/dy (N, Co, H*KH, W*KW), x/dx (N, Ci, H, W), w/dw (Ci, Co, KH, KW).
func CheckConvTranspose2d(op string, y, x, w, b *tensor.Tensor) error {
	if err := need(op, []string{"output", "input", "weight"}, y, x, w); err != nil {
		return err
	}
	if err := rank(op, "input", x, 4); err != nil {
		return err
	}
	if err := rank(op, "weight", w, 4); err != nil {
		return err
	}
	if err := rank(op, "output", y, 4); err != nil {
		return err
	}
	if x.Shape[1] != w.Shape[0] {
		return fmt.Errorf("%s: input %v has %d channels, weight %v expects %d", op, x.Shape, x.Shape[1], w.Shape, w.Shape[0])
	}
	if x.Numel() == 0 || w.Numel() == 0 {
		return fmt.Errorf("%s: input %v or weight %v is empty", op, x.Shape, w.Shape)
	}
	want := tensor.Shape{x.Shape[0], w.Shape[1], x.Shape[2] * w.Shape[2], x.Shape[3] * w.Shape[3]}
	if !y.Shape.Equal(want) {
		return fmt.Errorf("%s: output %v, want %v for input %v and weight %v", op, y.Shape, want, x.Shape, w.Shape)
	}
	return vec(op, "bias", b, w.Shape[1])
}

// CheckBias validates BiasAdd and BiasGrad: y (N, C, ...) and b (C).
func CheckBias(op string, y, b *tensor.Tensor) error {
	if err := need(op, []string{"tensor", "bias"}, y, b); err != nil {
		return err
	}
	if len(y.Shape) < 2 {
		return fmt.Errorf("%s: tensor %v needs rank >= 2", op, y.Shape)
	}
	if err := consistent(op, y); err != nil {
		return err
	}
	return vec(op, "bias", b, y.Shape[1])
}

// CheckNorm validates the normalisation ops: y, x (N, C, H, W); stats of
// statShape; gamma and beta (C) or nil.
func CheckNorm(op string, y, x *tensor.Tensor, stats []*tensor.Tensor, statShape tensor.Shape, gamma, beta *tensor.Tensor) error {
	if err := need(op, []string{"output", "input"}, y, x); err != nil {
		return err
	}
	if err := rank(op, "input", x, 4); err != nil {
		return err
	}
	if err := same(op, "output", y, "input", x); err != nil {
		return err
	}
	if err := consistent(op, y); err != nil {
		return err
	}
	for _, s := range stats {
		if s == nil {
			return fmt.Errorf("%s: statistics tensor is nil", op)
		}
		if !s.Shape.Equal(statShape) {
			return fmt.Errorf("%s: statistics %v, want %v for input %v", op, s.Shape, statShape, x.Shape)
		}
		if err := consistent(op, s); err != nil {
			return err
		}
	}
	if x.Shape[2]*x.Shape[3] == 0 || x.Shape[0] == 0 {
		return fmt.Errorf("%s: input %v is empty", op, x.Shape)
	}
	if err := vec(op, "gamma", gamma, x.Shape[1]); err != nil {
		return err
	}
	return vec(op, "beta", beta, x.Shape[1])
}

// CheckSame validates an element-wise op: all tensors non-nil with one shape.
func CheckSame(op string, ts ...*tensor.Tensor) error {
	for i, t := range ts {
		if t == nil {
			return fmt.Errorf("%s: argument %d is nil", op, i)
		}
		if err := consistent(op, t); err != nil {
			return err
		}
		if i > 0 && !t.Shape.Equal(ts[0].Shape) {
			return fmt.Errorf("%s: argument %d %v differs from argument 0 %v", op, i, t.Shape, ts[0].Shape)
		}
	}
	return nil
}

// CheckSameLen is CheckSame for ops that only need equal element counts.
func CheckSameLen(op string, ts ...*tensor.Tensor) error {
	for i, t := range ts {
		if t == nil {
			return fmt.Errorf("%s: argument %d is nil", op, i)
		}
		if err := consistent(op, t); err != nil {
			return err
		}
		if i > 0 && t.Numel() != ts[0].Numel() {
			return fmt.Errorf("%s: argument %d %v has %d elements, argument 0 %v has %d", op, i, t.Shape, t.Numel(), ts[0].Shape, ts[0].Numel())
		}
	}
	return nil
}

// CheckConcat validates Concat/ConcatBackward: y (N, sum Ci, H, W), xs[i] (N, Ci, H, W).
func CheckConcat(op string, y *tensor.Tensor, xs []*tensor.Tensor) error {
	if y == nil {
		return fmt.Errorf("%s: concatenated tensor is nil", op)
	}
	if err := rank(op, "concatenated tensor", y, 4); err != nil {
		return err
	}
	if len(xs) == 0 {
		return fmt.Errorf("%s: no parts", op)
	}
	c := 0
	for i, x := range xs {
		if x == nil {
			return fmt.Errorf("%s: part %d is nil", op, i)
		}
		if err := rank(op, fmt.Sprintf("part %d", i), x, 4); err != nil {
			return err
		}
		if x.Shape[0] != y.Shape[0] || x.Shape[2] != y.Shape[2] || x.Shape[3] != y.Shape[3] {
			return fmt.Errorf("%s: part %d %v does not match %v outside the channel dimension", op, i, x.Shape, y.Shape)
		}
		c += x.Shape[1]
	}
	if c != y.Shape[1] {
		return fmt.Errorf("%s: parts have %d channels in all, concatenated tensor %v has %d", op, c, y.Shape, y.Shape[1])
	}
	return nil
}

// CheckClassTarget validates a probability/logit tensor p (N, K, H, W) and a
// target (N, 1, H, W).
func CheckClassTarget(op string, p, target *tensor.Tensor) error {
	if err := need(op, []string{"scores", "target"}, p, target); err != nil {
		return err
	}
	if err := rank(op, "scores", p, 4); err != nil {
		return err
	}
	if err := rank(op, "target", target, 4); err != nil {
		return err
	}
	s, t := p.Shape, target.Shape
	if t[0] != s[0] || t[1] != 1 || t[2] != s[2] || t[3] != s[3] {
		return fmt.Errorf("%s: target %v, want (%d,1,%d,%d) for scores %v", op, t, s[0], s[2], s[3], s)
	}
	if p.Numel() == 0 {
		return fmt.Errorf("%s: scores %v are empty", op, s)
	}
	return nil
}

// CheckGemm validates Gemm's arguments and returns M, N, K.
func CheckGemm(c, a, b *tensor.Tensor, transA, transB bool) (m, n, k int, err error) {
	const op = "gemm"
	if err := need(op, []string{"c", "a", "b"}, c, a, b); err != nil {
		return 0, 0, 0, err
	}
	for _, x := range []struct {
		n string
		t *tensor.Tensor
	}{{"c", c}, {"a", a}, {"b", b}} {
		if err := rank(op, x.n, x.t, 2); err != nil {
			return 0, 0, 0, err
		}
	}
	m, k = a.Shape[0], a.Shape[1]
	if transA {
		m, k = k, m
	}
	kb, n := b.Shape[0], b.Shape[1]
	if transB {
		kb, n = n, kb
	}
	if k != kb {
		return 0, 0, 0, fmt.Errorf("%s: op(a) is (%d,%d) but op(b) is (%d,%d)", op, m, k, kb, n)
	}
	if c.Shape[0] != m || c.Shape[1] != n {
		return 0, 0, 0, fmt.Errorf("%s: c %v, want (%d,%d)", op, c.Shape, m, n)
	}
	return m, n, k, nil
}

// CheckOptimizer validates the optimizer ops: every buffer the same length.
func CheckOptimizer(op string, ts ...*tensor.Tensor) error { return CheckSameLen(op, ts...) }

// ShapeOf is the shape of t, or nil for a nil tensor; for error messages.
func ShapeOf(t *tensor.Tensor) tensor.Shape { return tensor.ShapeOf(t) }
