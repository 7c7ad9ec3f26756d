package launch

import (
	"fmt"
	"unsafe"

	"suture/kernels"
	"suture/tensor"
)

// Reductions: every one runs in two passes (per-block partials in float64,
// then a finalize kernel adding them in a fixed order), so results are
// reproducible bit for bit for a given geometry.

// sum modes of sum_partial.
const (
	sumPlain   = 0 // sum of a
	sumSquares = 1 // sum of a^2
	sumSqDiff  = 2 // sum of (a-b)^2
)

// sumReduce returns the sum over n elements selected by mode.
func (b *Backend) sumReduce(op string, x, y Ptr, mode, n int, tensors []operand) (float64, error) {
	if n == 0 {
		return 0, nil
	}
	blocks := b.reduceGrid(n)
	part, err := b.scratch(op, int64(8*blocks))
	if err != nil {
		return 0, err
	}
	defer b.pool.put(part)
	out, err := b.scratch(op, 8)
	if err != nil {
		return 0, err
	}
	defer b.pool.put(out)
	block := Dim3{b.opt.ReduceBlock, 1, 1}
	var a Args
	a.Ptr(part.ptr).Ptr(x).Ptr(y).Int(mode).Int(n)
	if err := b.launch(op, kSumPartial, Dim3{blocks, 1, 1}, block, &a, tensors); err != nil {
		return 0, err
	}
	var f Args
	f.Ptr(out.ptr).Ptr(part.ptr).Int(blocks)
	if err := b.launch(op, kSumFinalize, Dim3{1, 1, 1}, block, &f, tensors); err != nil {
		return 0, err
	}
	var s float64
	if err := b.drv.CopyDtoH(unsafe.Pointer(&s), out.ptr, 8); err != nil {
		return 0, b.asyncError(fmt.Errorf("%s: reading the result: %w", op, err))
	}
	return s, nil
}

// Sum implements kernels.Backend.
func (b *Backend) Sum(x *tensor.Tensor) (float64, error) {
	const op = "sum"
	if err := kernels.CheckSameLen(op, x); err != nil {
		return 0, err
	}
	p, err := b.ptr(op, "input", x)
	if err != nil {
		return 0, err
	}
	return b.sumReduce(op, p, 0, sumPlain, x.Numel(), []operand{in("input", x)})
}

// SumSquares implements kernels.Backend.
func (b *Backend) SumSquares(x *tensor.Tensor) (float64, error) {
	const op = "sum of squares"
	if err := kernels.CheckSameLen(op, x); err != nil {
		return 0, err
	}
	p, err := b.ptr(op, "input", x)
	if err != nil {
		return 0, err
	}
	return b.sumReduce(op, p, 0, sumSquares, x.Numel(), []operand{in("input", x)})
}

// MSE implements kernels.Backend.
func (b *Backend) MSE(x, y *tensor.Tensor) (float64, error) {
	const op = "mse"
	if err := kernels.CheckSame(op, x, y); err != nil {
		return 0, err
	}
	if x.Numel() == 0 {
		return 0, fmt.Errorf("%s: empty tensor %v", op, x.Shape)
	}
	tensors := []operand{in("a", x), in("b", y)}
	ps, err := b.ptrs(op, tensors...)
	if err != nil {
		return 0, err
	}
	s, err := b.sumReduce(op, ps[0], ps[1], sumSqDiff, x.Numel(), tensors)
	return s / float64(x.Numel()), err
}

// groupGeom describes the groups of a grouped reduction (see reduce.cu): a
// group is segs segments of segLen contiguous elements, segStride apart;
// group g starts at g*groupStride.
type groupGeom struct {
	groups, segLen, segs, segStride, groupStride int
}

func (g groupGeom) count() int { return g.segLen * g.segs }

// perChannel groups (N, C, S) by channel: batch norm, bias gradients.
func perChannel(n, c, s int) groupGeom { return groupGeom{c, s, n, c * s, s} }

// perPlane groups (N, C, S) by (n, c) plane: instance norm.
func perPlane(n, c, s int) groupGeom { return groupGeom{n * c, s, 1, c * s, s} }

// groupPartials launches kernel (group_sums_partial or norm_backward_partial)
// over g and returns its (groups, chunks, 2) float64 workspace; the caller
// returns it to the pool.
func (b *Backend) groupPartials(op, kernel string, g groupGeom, head func(*Args), tail func(*Args), tensors []operand) (*allocation, int, error) {
	chunks := b.pickChunks(g.groups, g.count())
	part, err := b.scratch(op, int64(16*g.groups*chunks))
	if err != nil {
		return nil, 0, err
	}
	var a Args
	a.Ptr(part.ptr)
	head(&a)
	a.Int(g.segLen).Int(g.segs).Int(g.segStride).Int(g.groupStride)
	if tail != nil {
		tail(&a)
	}
	if err := b.launch(op, kernel, Dim3{g.groups, chunks, 1}, Dim3{b.opt.ReduceBlock, 1, 1}, &a, tensors); err != nil {
		b.pool.put(part)
		return nil, 0, err
	}
	return part, chunks, nil
}

// biasGrad adds to db (c) the sums of dy (nimg, c, s) over images and pixels.
func (b *Backend) biasGrad(op string, db, dy Ptr, nimg, c, s int, tensors []operand) error {
	g := perChannel(nimg, c, s)
	if g.groups == 0 {
		return nil
	}
	part, chunks, err := b.groupPartials(op, kGroupSumsPartial, g,
		func(a *Args) { a.Ptr(dy) }, func(a *Args) { a.Int(0) }, tensors)
	if err != nil {
		return err
	}
	defer b.pool.put(part)
	var a Args
	a.Ptr(db).Ptr(part.ptr).Int(c).Int(chunks)
	grid, block := b.grid1D(c)
	return b.launch(op, kBiasGradFinalize, grid, block, &a, tensors)
}

// BiasGrad implements kernels.Backend.
func (b *Backend) BiasGrad(db, dy *tensor.Tensor) error {
	const op = "bias-grad"
	if err := kernels.CheckBias(op, dy, db); err != nil {
		return err
	}
	if err := checkSize(b.name, op, dy); err != nil {
		return err
	}
	tensors := []operand{in("db", db), in("dy", dy)}
	ps, err := b.ptrs(op, tensors...)
	if err != nil {
		return err
	}
	if dy.Numel() == 0 {
		return nil
	}
	return b.biasGrad(op, ps[0], ps[1], dy.Shape[0], dy.Shape[1], spatial(dy), tensors)
}
