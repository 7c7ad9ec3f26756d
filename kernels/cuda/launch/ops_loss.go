package launch

import (
	"fmt"
	"math"
	"unsafe"

	"suture/kernels"
	"suture/tensor"
)

// Softmax over the class dimension, cross-entropy and soft-Dice sums.
// Scores are (N, K, H, W), targets (N, 1, H, W) class indices stored as
// floats; every op that reads a target as an index validates it first.

func classDims(p *tensor.Tensor) (n, k, s int) { return p.Shape[0], p.Shape[1], spatial(p) }

// checkTargets returns an error naming the first target that is not an
// integer class index in [0, k).
func (b *Backend) checkTargets(op string, target Ptr, k, n int, tensors []operand) error {
	flag, err := b.scratch(op, 4)
	if err != nil {
		return err
	}
	defer b.pool.put(flag)
	first := int32(math.MaxInt32)
	if err := b.drv.CopyHtoD(flag.ptr, unsafe.Pointer(&first), 4); err != nil {
		return fmt.Errorf("%s: %s: %w", b.name, op, err)
	}
	var a Args
	a.Ptr(flag.ptr).Ptr(target).Int(k).Int(n)
	grid, block := b.grid1D(n)
	if err := b.launch(op, kCheckTargets, grid, block, &a, tensors); err != nil {
		return err
	}
	if err := b.drv.CopyDtoH(unsafe.Pointer(&first), flag.ptr, 4); err != nil {
		return b.asyncError(fmt.Errorf("%s: reading the target check: %w", op, err))
	}
	if first == math.MaxInt32 {
		return nil
	}
	var v float32
	if err := b.drv.CopyDtoH(unsafe.Pointer(&v), target+Ptr(4*first), 4); err != nil {
		return b.asyncError(fmt.Errorf("%s: reading a target: %w", op, err))
	}
	return fmt.Errorf("%s: target value %g at index %d is not a class index in [0,%d)", op, v, first, k)
}

// Softmax implements kernels.Backend.
func (b *Backend) Softmax(p, x *tensor.Tensor) error {
	const op = "softmax"
	if err := kernels.CheckSame(op, p, x); err != nil {
		return err
	}
	if len(x.Shape) < 2 {
		return fmt.Errorf("%s: input %v needs rank >= 2", op, x.Shape)
	}
	n, k, s := classDims(x)
	npix := n * s
	return b.elementwise(op, kSoftmax, npix*min(k, 1), []operand{in("output", p), in("input", x)},
		func(a *Args) { a.Int(k).Int(s).Int(npix) })
}

// SoftmaxBackward implements kernels.Backend.
func (b *Backend) SoftmaxBackward(dx, dp, p *tensor.Tensor) error {
	const op = "softmax backward"
	if err := kernels.CheckSame(op, dx, dp, p); err != nil {
		return err
	}
	if len(p.Shape) < 2 {
		return fmt.Errorf("%s: input %v needs rank >= 2", op, p.Shape)
	}
	n, k, s := classDims(p)
	npix := n * s
	return b.elementwise(op, kSoftmaxBackward, npix*min(k, 1), []operand{in("dx", dx), in("dp", dp), in("p", p)},
		func(a *Args) { a.Int(k).Int(s).Int(npix) })
}

// SoftmaxCrossEntropy implements kernels.Backend.
func (b *Backend) SoftmaxCrossEntropy(p, x, target *tensor.Tensor) (float64, error) {
	const op = "cross-entropy"
	if err := kernels.CheckClassTarget(op, x, target); err != nil {
		return 0, err
	}
	if err := kernels.CheckSame(op, p, x); err != nil {
		return 0, err
	}
	if err := checkSize(b.name, op, x); err != nil {
		return 0, err
	}
	tensors := []operand{in("probabilities", p), in("logits", x), in("target", target)}
	ps, err := b.ptrs(op, tensors...)
	if err != nil {
		return 0, err
	}
	n, k, s := classDims(x)
	npix := n * s
	if err := b.checkTargets(op, ps[2], k, npix, tensors); err != nil {
		return 0, err
	}
	blocks := b.reduceGrid(npix)
	part, err := b.scratch(op, int64(8*blocks))
	if err != nil {
		return 0, err
	}
	defer b.pool.put(part)
	var a Args
	a.Ptr(ps[0]).Ptr(part.ptr).Ptr(ps[1]).Ptr(ps[2]).Int(k).Int(s).Int(npix)
	if err := b.launch(op, kCrossEntropy, Dim3{blocks, 1, 1}, Dim3{b.opt.ReduceBlock, 1, 1}, &a, tensors); err != nil {
		return 0, err
	}
	out, err := b.scratch(op, 8)
	if err != nil {
		return 0, err
	}
	defer b.pool.put(out)
	var f Args
	f.Ptr(out.ptr).Ptr(part.ptr).Int(blocks)
	if err := b.launch(op, kSumFinalize, Dim3{1, 1, 1}, Dim3{b.opt.ReduceBlock, 1, 1}, &f, tensors); err != nil {
		return 0, err
	}
	var loss float64
	if err := b.drv.CopyDtoH(unsafe.Pointer(&loss), out.ptr, 8); err != nil {
		return 0, b.asyncError(fmt.Errorf("%s: reading the loss: %w", op, err))
	}
	return loss / float64(npix), nil
}

// SoftmaxCrossEntropyBackward implements kernels.Backend.
func (b *Backend) SoftmaxCrossEntropyBackward(dx, p, target *tensor.Tensor, scale float32) error {
	const op = "cross-entropy backward"
	if err := kernels.CheckClassTarget(op, p, target); err != nil {
		return err
	}
	if err := kernels.CheckSame(op, dx, p); err != nil {
		return err
	}
	tensors := []operand{in("dx", dx), in("probabilities", p), in("target", target)}
	ps, err := b.ptrs(op, tensors...)
	if err != nil {
		return err
	}
	n, k, s := classDims(p)
	if err := b.checkTargets(op, ps[2], k, n*s, tensors); err != nil {
		return err
	}
	f := scale / float32(n*s)
	total := p.Numel()
	return b.elementwise(op, kCrossEntropyBackward, total, tensors, func(a *Args) { a.Float(f).Int(k).Int(s).Int(total) })
}

func checkClassVectors(op, what string, k int, p *tensor.Tensor, vs ...*tensor.Tensor) error {
	for _, v := range vs {
		if v == nil || len(v.Shape) != 1 || v.Shape[0] != k {
			return fmt.Errorf("%s: %s %v, want (%d) for scores %v", op, what, kernels.ShapeOf(v), k, p.Shape)
		}
	}
	return nil
}

// DiceSums implements kernels.Backend.
func (b *Backend) DiceSums(tp, ps, ts, p, target *tensor.Tensor) error {
	const op = "dice sums"
	if err := kernels.CheckClassTarget(op, p, target); err != nil {
		return err
	}
	n, k, s := classDims(p)
	if err := checkClassVectors(op, "sums tensor", k, p, tp, ps, ts); err != nil {
		return err
	}
	if err := checkSize(b.name, op, p); err != nil {
		return err
	}
	tensors := []operand{in("tp", tp), in("ps", ps), in("ts", ts), in("scores", p), in("target", target)}
	ptr, err := b.ptrs(op, tensors...)
	if err != nil {
		return err
	}
	npix := n * s
	if err := b.checkTargets(op, ptr[4], k, npix, tensors); err != nil {
		return err
	}
	chunks := b.pickChunks(k, npix)
	part, err := b.scratch(op, int64(24*k*chunks))
	if err != nil {
		return err
	}
	defer b.pool.put(part)
	var a Args
	a.Ptr(part.ptr).Ptr(ptr[3]).Ptr(ptr[4]).Int(k).Int(s).Int(npix)
	if err := b.launch(op, kDicePartial, Dim3{k, chunks, 1}, Dim3{b.opt.ReduceBlock, 1, 1}, &a, tensors); err != nil {
		return err
	}
	var f Args
	f.Ptr(ptr[0]).Ptr(ptr[1]).Ptr(ptr[2]).Ptr(part.ptr).Int(k).Int(chunks)
	grid, block := b.grid1D(k)
	return b.launch(op, kDiceFinalize, grid, block, &f, tensors)
}

// DiceSumsBackward implements kernels.Backend.
func (b *Backend) DiceSumsBackward(dp, target, dtp, dps *tensor.Tensor) error {
	const op = "dice sums backward"
	if err := kernels.CheckClassTarget(op, dp, target); err != nil {
		return err
	}
	n, k, s := classDims(dp)
	if err := checkClassVectors(op, "sums gradient", k, dp, dtp, dps); err != nil {
		return err
	}
	tensors := []operand{in("dp", dp), in("target", target), in("dtp", dtp), in("dps", dps)}
	ps, err := b.ptrs(op, tensors...)
	if err != nil {
		return err
	}
	if err := b.checkTargets(op, ps[1], k, n*s, tensors); err != nil {
		return err
	}
	total := dp.Numel()
	return b.elementwise(op, kDiceBackward, total, tensors, func(a *Args) { a.Int(k).Int(s).Int(total) })
}
