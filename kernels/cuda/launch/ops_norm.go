package launch

import (
	"fmt"

	"suture/kernels"
	"suture/tensor"
)

// Instance norm (statistics per (n, c) plane) and batch norm in training
// mode (per channel): statistics by a two-pass grouped reduction with warp
// shuffles (reduce.cu), then one element-wise kernel. Backward: the sums of
// dy and dy*xhat per group by the same scheme, then dx and the affine
// parameters' gradients, all accumulated.

func normGroups(x *tensor.Tensor, perSample bool) groupGeom {
	n, c, s := x.Shape[0], x.Shape[1], spatial(x)
	if perSample {
		return perPlane(n, c, s)
	}
	return perChannel(n, c, s)
}

func statShape(x *tensor.Tensor, perSample bool) tensor.Shape {
	if x == nil || len(x.Shape) < 2 {
		return nil
	}
	if perSample {
		return tensor.Shape{x.Shape[0], x.Shape[1]}
	}
	return tensor.Shape{x.Shape[1]}
}

func (b *Backend) normForward(op string, y, mean, rstd, x, gamma, beta *tensor.Tensor, eps float32, perSample bool) error {
	if err := kernels.CheckNorm(op, y, x, []*tensor.Tensor{mean, rstd}, statShape(x, perSample), gamma, beta); err != nil {
		return err
	}
	if err := checkSize(b.name, op, x); err != nil {
		return err
	}
	tensors := []operand{in("output", y), in("mean", mean), in("rstd", rstd), in("input", x), opt("gamma", gamma), opt("beta", beta)}
	ps, err := b.ptrs(op, tensors...)
	if err != nil {
		return err
	}
	g := normGroups(x, perSample)
	part, chunks, err := b.groupPartials(op, kGroupSumsPartial, g,
		func(a *Args) { a.Ptr(ps[3]) }, func(a *Args) { a.Int(1) }, tensors)
	if err != nil {
		return err
	}
	defer b.pool.put(part)
	var f Args
	f.Ptr(ps[1]).Ptr(ps[2]).Ptr(part.ptr).Ptr(ps[3]).Int(g.groups).Int(chunks).Int(g.count()).Int(g.groupStride).Float(eps)
	grid, block := b.grid1D(g.groups)
	if err := b.launch(op, kNormStatsFinalize, grid, block, &f, tensors); err != nil {
		return err
	}
	n := x.Numel()
	var a Args
	a.Ptr(ps[0]).Ptr(ps[3]).Ptr(ps[1]).Ptr(ps[2]).Ptr(ps[4]).Ptr(ps[5]).Int(x.Shape[1]).Int(spatial(x)).Bool(perSample).Int(n)
	grid, block = b.grid1D(n)
	return b.launch(op, kNormApply, grid, block, &a, tensors)
}

func checkNormGrads(op string, dx, dgamma, dbeta, x *tensor.Tensor) error {
	if dx != nil {
		if err := kernels.CheckSame(op, dx, x); err != nil {
			return err
		}
	}
	for _, g := range []*tensor.Tensor{dgamma, dbeta} {
		if g != nil && (len(g.Shape) != 1 || g.Shape[0] != x.Shape[1]) {
			return fmt.Errorf("%s: parameter gradient %v, want (%d)", op, g.Shape, x.Shape[1])
		}
	}
	return nil
}

func (b *Backend) normBackward(op string, dx, dgamma, dbeta, dy, x, mean, rstd, gamma *tensor.Tensor, perSample bool) error {
	if err := kernels.CheckNorm(op, dy, x, []*tensor.Tensor{mean, rstd}, statShape(x, perSample), gamma, nil); err != nil {
		return err
	}
	if err := checkNormGrads(op, dx, dgamma, dbeta, x); err != nil {
		return err
	}
	if err := checkSize(b.name, op, x); err != nil {
		return err
	}
	tensors := []operand{opt("dx", dx), opt("dgamma", dgamma), opt("dbeta", dbeta), in("dy", dy), in("input", x),
		in("mean", mean), in("rstd", rstd), opt("gamma", gamma)}
	ps, err := b.ptrs(op, tensors...)
	if err != nil {
		return err
	}
	if dx == nil && dgamma == nil && dbeta == nil {
		return nil
	}
	g := normGroups(x, perSample)
	part, chunks, err := b.groupPartials(op, kNormBackwardPartial, g,
		func(a *Args) { a.Ptr(ps[3]).Ptr(ps[4]).Ptr(ps[5]).Ptr(ps[6]) }, nil, tensors)
	if err != nil {
		return err
	}
	defer b.pool.put(part)
	sums, err := b.scratch(op, int64(16*g.groups))
	if err != nil {
		return err
	}
	defer b.pool.put(sums)
	var f Args
	f.Ptr(sums.ptr).Ptr(part.ptr).Int(g.groups).Int(chunks)
	grid, block := b.grid1D(g.groups)
	if err := b.launch(op, kNormBackwardFinalize, grid, block, &f, tensors); err != nil {
		return err
	}
	c, s := x.Shape[1], spatial(x)
	if dx != nil {
		n := x.Numel()
		var a Args
		a.Ptr(ps[0]).Ptr(ps[3]).Ptr(ps[4]).Ptr(ps[5]).Ptr(ps[6]).Ptr(ps[7]).Ptr(sums.ptr).
			Int(c).Int(s).Int(g.count()).Bool(perSample).Int(n)
		grid, block := b.grid1D(n)
		if err := b.launch(op, kNormBackwardApply, grid, block, &a, tensors); err != nil {
			return err
		}
	}
	if dgamma == nil && dbeta == nil {
		return nil
	}
	var pg Args
	pg.Ptr(ps[1]).Ptr(ps[2]).Ptr(sums.ptr).Int(x.Shape[0]).Int(c).Bool(perSample)
	grid, block = b.grid1D(c)
	return b.launch(op, kNormParamGrads, grid, block, &pg, tensors)
}

// InstanceNorm implements kernels.Backend.
func (b *Backend) InstanceNorm(y, mean, rstd, x, gamma, beta *tensor.Tensor, eps float32) error {
	return b.normForward("instance-norm", y, mean, rstd, x, gamma, beta, eps, true)
}

// InstanceNormBackward implements kernels.Backend.
func (b *Backend) InstanceNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *tensor.Tensor) error {
	return b.normBackward("instance-norm backward", dx, dgamma, dbeta, dy, x, mean, rstd, gamma, true)
}

// BatchNormTrain implements kernels.Backend.
func (b *Backend) BatchNormTrain(y, mean, rstd, x, gamma, beta *tensor.Tensor, eps float32) error {
	return b.normForward("batch-norm", y, mean, rstd, x, gamma, beta, eps, false)
}

// BatchNormTrainBackward implements kernels.Backend.
func (b *Backend) BatchNormTrainBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *tensor.Tensor) error {
	return b.normBackward("batch-norm backward", dx, dgamma, dbeta, dy, x, mean, rstd, gamma, false)
}
