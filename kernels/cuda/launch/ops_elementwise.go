package launch

import (
	"fmt"

	"suture/kernels"
	"suture/tensor"
)

// Element-wise and layout ops: one grid-stride kernel each. Forward ops
// overwrite, backward ops accumulate (the kernels.Backend contract).

// elementwise launches kernel over n elements with the op's tensors first
// (in kernel parameter order) and then the scalars added by tail.
func (b *Backend) elementwise(op, kernel string, n int, tensors []operand, tail func(*Args)) error {
	ps, err := b.ptrs(op, tensors...)
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if n > MaxElements {
		return fmt.Errorf("%s: %s: %d elements; the CUDA kernels take at most %d", b.name, op, n, MaxElements)
	}
	var a Args
	for _, p := range ps {
		a.Ptr(p)
	}
	if tail != nil {
		tail(&a)
	}
	grid, block := b.grid1D(n)
	return b.launch(op, kernel, grid, block, &a, tensors)
}

// spatial is the product of the dimensions after the first two (1 for rank 2).
func spatial(t *tensor.Tensor) int {
	s := 1
	for _, d := range t.Shape[2:] {
		s *= d
	}
	return s
}

// Fill implements kernels.Backend.
func (b *Backend) Fill(y *tensor.Tensor, v float32) error {
	if err := kernels.CheckSameLen("fill", y); err != nil {
		return err
	}
	n := y.Numel()
	return b.elementwise("fill", kFill, n, []operand{in("y", y)}, func(a *Args) { a.Float(v).Int(n) })
}

// Copy implements kernels.Backend.
func (b *Backend) Copy(y, x *tensor.Tensor) error {
	if err := kernels.CheckSameLen("copy", y, x); err != nil {
		return err
	}
	ps, err := b.ptrs("copy", in("y", y), in("x", x))
	if err != nil {
		return err
	}
	if ps[0] == ps[1] || x.Numel() == 0 {
		return nil
	}
	if err := b.drv.CopyDtoD(ps[0], ps[1], int64(4*x.Numel())); err != nil {
		return fmt.Errorf("%s: copy %v to %v: %w", b.name, x.Shape, y.Shape, err)
	}
	return nil
}

// Add implements kernels.Backend.
func (b *Backend) Add(y, a, c *tensor.Tensor) error {
	if err := kernels.CheckSame("add", y, a, c); err != nil {
		return err
	}
	n := y.Numel()
	return b.elementwise("add", kAdd, n, []operand{in("y", y), in("a", a), in("b", c)}, func(a *Args) { a.Int(n) })
}

// Scale implements kernels.Backend.
func (b *Backend) Scale(y, x *tensor.Tensor, s float32) error {
	if err := kernels.CheckSameLen("scale", y, x); err != nil {
		return err
	}
	n := y.Numel()
	return b.elementwise("scale", kScale, n, []operand{in("y", y), in("x", x)}, func(a *Args) { a.Float(s).Int(n) })
}

// Axpy implements kernels.Backend.
func (b *Backend) Axpy(y, x *tensor.Tensor, alpha float32) error {
	if err := kernels.CheckSameLen("axpy", y, x); err != nil {
		return err
	}
	n := y.Numel()
	return b.elementwise("axpy", kAxpy, n, []operand{in("y", y), in("x", x)}, func(a *Args) { a.Float(alpha).Int(n) })
}

// LeakyReLU implements kernels.Backend.
func (b *Backend) LeakyReLU(y, x *tensor.Tensor, slope float32) error {
	if err := kernels.CheckSame("leaky-relu", y, x); err != nil {
		return err
	}
	n := y.Numel()
	return b.elementwise("leaky-relu", kLeakyReLU, n, []operand{in("y", y), in("x", x)},
		func(a *Args) { a.Float(slope).Int(n) })
}

// LeakyReLUBackward implements kernels.Backend.
func (b *Backend) LeakyReLUBackward(dx, dy, y *tensor.Tensor, slope float32) error {
	if err := kernels.CheckSame("leaky-relu backward", dx, dy, y); err != nil {
		return err
	}
	n := y.Numel()
	return b.elementwise("leaky-relu backward", kLeakyReLUBackward, n,
		[]operand{in("dx", dx), in("dy", dy), in("y", y)}, func(a *Args) { a.Float(slope).Int(n) })
}

// BiasAdd implements kernels.Backend.
func (b *Backend) BiasAdd(y, bias *tensor.Tensor) error {
	if err := kernels.CheckBias("bias-add", y, bias); err != nil {
		return err
	}
	n, c, s := y.Numel(), y.Shape[1], spatial(y)
	return b.elementwise("bias-add", kBiasAdd, n, []operand{in("y", y), in("bias", bias)},
		func(a *Args) { a.Int(c).Int(s).Int(n) })
}

// BatchNormFrozen implements kernels.Backend.
func (b *Backend) BatchNormFrozen(y, x, runMean, runVar, gamma, beta *tensor.Tensor, eps float32) error {
	const op = "batch-norm (frozen)"
	if err := kernels.CheckNorm(op, y, x, []*tensor.Tensor{runMean, runVar}, channelShape(x), gamma, beta); err != nil {
		return err
	}
	n, c, s := x.Numel(), x.Shape[1], spatial(x)
	return b.elementwise(op, kBNFrozen, n,
		[]operand{in("y", y), in("x", x), in("running mean", runMean), in("running variance", runVar),
			opt("gamma", gamma), opt("beta", beta)},
		func(a *Args) { a.Float(eps).Int(c).Int(s).Int(n) })
}

// BatchNormFrozenBackwardData implements kernels.Backend.
func (b *Backend) BatchNormFrozenBackwardData(dx, dy, runVar, gamma *tensor.Tensor, eps float32) error {
	const op = "batch-norm (frozen) backward-data"
	if err := kernels.CheckNorm(op, dx, dy, []*tensor.Tensor{runVar}, channelShape(dy), gamma, nil); err != nil {
		return err
	}
	n, c, s := dy.Numel(), dy.Shape[1], spatial(dy)
	return b.elementwise(op, kBNFrozenBackward, n,
		[]operand{in("dx", dx), in("dy", dy), in("running variance", runVar), opt("gamma", gamma)},
		func(a *Args) { a.Float(eps).Int(c).Int(s).Int(n) })
}

func channelShape(x *tensor.Tensor) tensor.Shape {
	if x == nil || len(x.Shape) < 2 {
		return nil
	}
	return tensor.Shape{x.Shape[1]}
}

// Concat implements kernels.Backend: one copy kernel per part.
func (b *Backend) Concat(y *tensor.Tensor, xs []*tensor.Tensor) error {
	const op = "concat"
	if err := kernels.CheckConcat(op, y, xs); err != nil {
		return err
	}
	if _, err := b.ptr(op, "output", y); err != nil {
		return err
	}
	cy, s, off := y.Shape[1], spatial(y), 0
	for i, x := range xs {
		cx, n := x.Shape[1], x.Numel()
		err := b.elementwise(op, kConcat, n, []operand{in("output", y), in(fmt.Sprintf("part %d", i), x)},
			func(a *Args) { a.Int(cy).Int(cx).Int(off).Int(s).Int(n) })
		if err != nil {
			return err
		}
		off += cx
	}
	return nil
}

// ConcatBackward implements kernels.Backend.
func (b *Backend) ConcatBackward(dxs []*tensor.Tensor, dy *tensor.Tensor) error {
	const op = "concat backward"
	if err := kernels.CheckConcat(op, dy, dxs); err != nil {
		return err
	}
	if _, err := b.ptr(op, "dy", dy); err != nil {
		return err
	}
	cy, s, off := dy.Shape[1], spatial(dy), 0
	for i, dx := range dxs {
		cx, n := dx.Shape[1], dx.Numel()
		err := b.elementwise(op, kConcatBackward, n, []operand{in(fmt.Sprintf("part %d", i), dx), in("dy", dy)},
			func(a *Args) { a.Int(cy).Int(cx).Int(off).Int(s).Int(n) })
		if err != nil {
			return err
		}
		off += cx
	}
	return nil
}

// MSEBackward implements kernels.Backend.
func (b *Backend) MSEBackward(da, db, x, y *tensor.Tensor, scale float32) error {
	const op = "mse backward"
	if err := kernels.CheckSame(op, x, y); err != nil {
		return err
	}
	for _, g := range []*tensor.Tensor{da, db} {
		if g != nil {
			if err := kernels.CheckSame(op, g, x); err != nil {
				return err
			}
		}
	}
	n := x.Numel()
	if n == 0 {
		return fmt.Errorf("%s: empty tensor %v", op, x.Shape)
	}
	if da == nil && db == nil {
		_, err := b.ptrs(op, in("a", x), in("b", y))
		return err
	}
	f := 2 * scale / float32(n)
	return b.elementwise(op, kMSEBackward, n, []operand{opt("da", da), opt("db", db), in("a", x), in("b", y)},
		func(a *Args) { a.Float(f).Int(n) })
}
