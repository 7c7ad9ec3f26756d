package launch

import (
	"fmt"

	"suture/kernels"
	"suture/tensor"
)

// GEMM-shaped ops: the dense Gemm, convolution forward/backward-data/
// backward-filter as implicit GEMMs (1x1 stride-1 unpadded convolutions, the
// stitches, as plain per-image GEMMs), and conv-transpose with kernel ==
// stride. Each problem is launched with one of three tile configurations
// (pickTile); weight gradients may split their long reduction over K into
// slices (pickSplits) summed afterwards in a fixed order by splitk_reduce.

// gemmLaunch launches problem over an m x n output reduced over k.
func (b *Backend) gemmLaunch(op, problem string, m, n, splits int, t tileConfig, a *Args, tensors []operand) error {
	if m == 0 || n == 0 {
		return nil
	}
	grid := t.grid(m, n, splits)
	if grid.Y > 65535 || grid.Z > 65535 {
		return fmt.Errorf("%s: %s: output of %d rows needs %d row tiles, more than CUDA's 65535", b.name, op, m, grid.Y)
	}
	return b.launch(op, problem+"_"+t.suffix, grid, Dim3{gemmThreads, 1, 1}, a, tensors)
}

func checkSize(name, op string, ts ...*tensor.Tensor) error {
	for _, t := range ts {
		if t != nil && t.Numel() > MaxElements {
			return fmt.Errorf("%s: %s: tensor %v has %d elements; the CUDA kernels take at most %d", name, op, t.Shape, t.Numel(), MaxElements)
		}
	}
	return nil
}

// Gemm implements kernels.Backend.
func (b *Backend) Gemm(c, a, bm *tensor.Tensor, transA, transB bool, alpha, beta float32) error {
	const op = "gemm"
	m, n, k, err := kernels.CheckGemm(c, a, bm, transA, transB)
	if err != nil {
		return err
	}
	if err := checkSize(b.name, op, c, a, bm); err != nil {
		return err
	}
	tensors := []operand{in("c", c), in("a", a), in("b", bm)}
	ps, err := b.ptrs(op, tensors...)
	if err != nil {
		return err
	}
	problem := gSgemmNN
	switch {
	case transA && transB:
		problem = gSgemmTT
	case transA:
		problem = gSgemmTN
	case transB:
		problem = gSgemmNT
	}
	var args Args
	args.Ptr(ps[0]).Ptr(ps[1]).Ptr(ps[2]).Int(m).Int(n).Int(k).Int(a.Shape[1]).Int(bm.Shape[1]).Int(n).Float(alpha).Float(beta)
	return b.gemmLaunch(op, problem, m, n, 1, b.pickTile(m, n), &args, tensors)
}

// convGeom mirrors ConvGeom of gemm_operands.cuh.
type convGeom struct {
	nimg, ci, h, w, co, kh, kw, ho, wo, sh, sw, ph, pw int
}

func makeConvGeom(x, w tensor.Shape, p kernels.ConvParams) convGeom {
	return convGeom{
		nimg: x[0], ci: x[1], h: x[2], w: x[3], co: w[0], kh: w[2], kw: w[3],
		ho: kernels.ConvOutSize(x[2], w[2], p.StrideH, p.PadH), wo: kernels.ConvOutSize(x[3], w[3], p.StrideW, p.PadW),
		sh: p.StrideH, sw: p.StrideW, ph: p.PadH, pw: p.PadW,
	}
}

// pointwise reports a 1x1 kernel with stride 1 and no padding.
func (g convGeom) pointwise() bool {
	return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0
}

func (g convGeom) addTo(a *Args) {
	a.Int(g.nimg).Int(g.ci).Int(g.h).Int(g.w).Int(g.co).Int(g.kh).Int(g.kw).Int(g.ho).Int(g.wo).
		Int(g.sh).Int(g.sw).Int(g.ph).Int(g.pw)
}

// Conv2d implements kernels.Backend.
func (b *Backend) Conv2d(y, x, w, bias *tensor.Tensor, p kernels.ConvParams) error {
	const op = "conv2d"
	if err := kernels.CheckConv2d(y, x, w, bias, p); err != nil {
		return err
	}
	if err := checkSize(b.name, op, y, x, w); err != nil {
		return err
	}
	tensors := []operand{in("output", y), in("input", x), in("weight", w), opt("bias", bias)}
	ps, err := b.ptrs(op, tensors...)
	if err != nil {
		return err
	}
	g := makeConvGeom(x.Shape, w.Shape, p)
	m, n := g.co, g.nimg*g.ho*g.wo
	t := b.pickTile(m, n)
	var a Args
	a.Ptr(ps[0]).Ptr(ps[1]).Ptr(ps[2]).Ptr(ps[3])
	if g.pointwise() {
		a.Int(g.nimg).Int(g.ci).Int(g.co).Int(g.h * g.w)
		return b.gemmLaunch(op, gPointwiseForward, m, n, 1, t, &a, tensors)
	}
	g.addTo(&a)
	return b.gemmLaunch(op, gConvForward, m, n, 1, t, &a, tensors)
}

// Conv2dBackwardData implements kernels.Backend.
func (b *Backend) Conv2dBackwardData(dx, dy, w *tensor.Tensor, p kernels.ConvParams) error {
	const op = "conv2d backward-data"
	if err := kernels.CheckConv2dBackwardData(dx, dy, w, p); err != nil {
		return err
	}
	if err := checkSize(b.name, op, dx, dy, w); err != nil {
		return err
	}
	tensors := []operand{in("dx", dx), in("dy", dy), in("weight", w)}
	ps, err := b.ptrs(op, tensors...)
	if err != nil {
		return err
	}
	g := makeConvGeom(dx.Shape, w.Shape, p)
	m, n := g.ci, g.nimg*g.h*g.w
	t := b.pickTile(m, n)
	var a Args
	a.Ptr(ps[0]).Ptr(ps[1]).Ptr(ps[2])
	if g.pointwise() {
		a.Int(g.nimg).Int(g.ci).Int(g.co).Int(g.h * g.w)
		return b.gemmLaunch(op, gPointwiseBackwardData, m, n, 1, t, &a, tensors)
	}
	g.addTo(&a)
	return b.gemmLaunch(op, gConvBackwardData, m, n, 1, t, &a, tensors)
}

// Conv2dBackwardFilter implements kernels.Backend.
func (b *Backend) Conv2dBackwardFilter(dw, db, dy, x *tensor.Tensor, p kernels.ConvParams) error {
	const op = "conv2d backward-filter"
	if err := kernels.CheckConv2dBackwardFilter(dw, db, dy, x, p); err != nil {
		return err
	}
	if err := checkSize(b.name, op, dw, dy, x); err != nil {
		return err
	}
	tensors := []operand{in("dw", dw), opt("db", db), in("dy", dy), in("input", x)}
	ps, err := b.ptrs(op, tensors...)
	if err != nil {
		return err
	}
	g := makeConvGeom(x.Shape, dw.Shape, p)
	problem, tail := gConvBackwardFilter, g.addTo
	if g.pointwise() {
		problem = gPointwiseBackwardFilter
		tail = func(a *Args) { a.Int(g.nimg).Int(g.ci).Int(g.co).Int(g.h * g.w) }
	}
	err = b.weightGrad(op, problem, ps[0], ps[2], ps[3], g.co, g.ci*g.kh*g.kw, g.nimg*g.ho*g.wo, tail, tensors)
	if err != nil || db == nil {
		return err
	}
	return b.biasGrad(op, ps[1], ps[2], g.nimg, g.co, g.ho*g.wo, tensors)
}

// weightGrad runs a weight-gradient problem dw (m x n) += reduction over k,
// directly with one split or through a (splits, m, n) workspace.
func (b *Backend) weightGrad(op, problem string, dw, dy, x Ptr, m, n, k int, tail func(*Args), tensors []operand) error {
	t := b.pickTile(m, n)
	splits := b.pickSplits(m, n, k, t)
	out := dw
	var ws *allocation
	if splits > 1 {
		var err error
		if ws, err = b.scratch(op, int64(4*splits*m*n)); err != nil {
			return err
		}
		defer b.pool.put(ws)
		out = ws.ptr
	}
	var a Args
	a.Ptr(out).Ptr(dy).Ptr(x).Bool(splits == 1)
	tail(&a)
	if err := b.gemmLaunch(op, problem, m, n, splits, t, &a, tensors); err != nil {
		return err
	}
	if splits == 1 {
		return nil
	}
	var r Args
	r.Ptr(dw).Ptr(ws.ptr).Int(splits).Int(m * n)
	grid, block := b.grid1D(m * n)
	return b.launch(op, kSplitKReduce, grid, block, &r, tensors)
}

// convTGeom mirrors ConvTGeom of gemm_operands.cuh.
type convTGeom struct{ nimg, ci, h, w, co, kh, kw int }

func makeConvTGeom(x, w tensor.Shape) convTGeom {
	return convTGeom{nimg: x[0], ci: x[1], h: x[2], w: x[3], co: w[1], kh: w[2], kw: w[3]}
}

func (g convTGeom) addTo(a *Args) {
	a.Int(g.nimg).Int(g.ci).Int(g.h).Int(g.w).Int(g.co).Int(g.kh).Int(g.kw)
}

// ConvTranspose2d implements kernels.Backend.
func (b *Backend) ConvTranspose2d(y, x, w, bias *tensor.Tensor) error {
	const op = "conv-transpose2d"
	if err := kernels.CheckConvTranspose2d(op, y, x, w, bias); err != nil {
		return err
	}
	if err := checkSize(b.name, op, y, x, w); err != nil {
		return err
	}
	tensors := []operand{in("output", y), in("input", x), in("weight", w), opt("bias", bias)}
	ps, err := b.ptrs(op, tensors...)
	if err != nil {
		return err
	}
	g := makeConvTGeom(x.Shape, w.Shape)
	m, n := g.co*g.kh*g.kw, g.nimg*g.h*g.w
	var a Args
	a.Ptr(ps[0]).Ptr(ps[1]).Ptr(ps[2]).Ptr(ps[3])
	g.addTo(&a)
	return b.gemmLaunch(op, gConvTForward, m, n, 1, b.pickTile(m, n), &a, tensors)
}

// ConvTranspose2dBackwardData implements kernels.Backend.
func (b *Backend) ConvTranspose2dBackwardData(dx, dy, w *tensor.Tensor) error {
	const op = "conv-transpose2d backward-data"
	if err := kernels.CheckConvTranspose2d(op, dy, dx, w, nil); err != nil {
		return err
	}
	if err := checkSize(b.name, op, dx, dy, w); err != nil {
		return err
	}
	tensors := []operand{in("dx", dx), in("dy", dy), in("weight", w)}
	ps, err := b.ptrs(op, tensors...)
	if err != nil {
		return err
	}
	g := makeConvTGeom(dx.Shape, w.Shape)
	m, n := g.ci, g.nimg*g.h*g.w
	var a Args
	a.Ptr(ps[0]).Ptr(ps[1]).Ptr(ps[2])
	g.addTo(&a)
	return b.gemmLaunch(op, gConvTBackwardData, m, n, 1, b.pickTile(m, n), &a, tensors)
}

// ConvTranspose2dBackwardFilter implements kernels.Backend.
func (b *Backend) ConvTranspose2dBackwardFilter(dw, db, dy, x *tensor.Tensor) error {
	const op = "conv-transpose2d backward-filter"
	if err := kernels.CheckConvTranspose2d(op, dy, x, dw, db); err != nil {
		return err
	}
	if err := checkSize(b.name, op, dw, dy, x); err != nil {
		return err
	}
	tensors := []operand{in("dw", dw), opt("db", db), in("dy", dy), in("input", x)}
	ps, err := b.ptrs(op, tensors...)
	if err != nil {
		return err
	}
	g := makeConvTGeom(x.Shape, dw.Shape)
	err = b.weightGrad(op, gConvTBackwardFilter, ps[0], ps[2], ps[3], g.ci, g.co*g.kh*g.kw, g.nimg*g.h*g.w, g.addTo, tensors)
	if err != nil || db == nil {
		return err
	}
	return b.biasGrad(op, ps[1], ps[2], g.nimg, g.co, g.h*g.kh*g.w*g.kw, tensors)
}
