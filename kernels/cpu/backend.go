package cpu

import (
	"fmt"
	"math"
	"runtime"

	"suture/kernels"
	"suture/tensor"
)

func init() {
	kernels.Register("cpu", func() (kernels.Backend, error) {
		if isaEnvErr != nil {
			return nil, isaEnvErr
		}
		return New(0), nil
	})
	kernels.Register("cpu-ref", func() (kernels.Backend, error) { return NewReference(), nil })
	kernels.RegisterPartTracing(SetPartTracer)
}

// Backend runs ops on host tensors. The zero value is not usable; call New or
// NewReference.
type Backend struct {
	name    string
	fast    bool       // use the fast path where one exists
	threads int        // goroutines the fast path may use
	ws      *workspace // scratch buffers of the fast path
	bf16    bool       // GEMMs on bfloat16 operands (SetBF16)
}

// New returns the fast backend using threads goroutines (0: GOMAXPROCS).
func New(threads int) *Backend {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return &Backend{name: "cpu", fast: true, threads: threads, ws: new(workspace)}
}

// SetBF16 makes the backend's GEMMs and the convolutions' heavy sums
// round their operands to bfloat16 and sum the products in float32 with
// VDPBF16PS: the packed GEMMs (Sgemm, 1x1 convs per sample, backward-data
// of strided convs), Winograd's tile products (3x3 forward and
// backward-data) and the direct weight gradients. The direct forward
// kernels, the 1x1 strips, norms, element-wise ops and losses stay FP32.
// It is an error on a CPU without AVX512_BF16, when another path than
// avx512 is forced, and on the reference backend.
func (b *Backend) SetBF16(on bool) error {
	if on && !b.fast {
		return fmt.Errorf("bf16: the reference backend %s runs FP32 only", b.name)
	}
	if on && !HasBF16() {
		return fmt.Errorf("bf16: this CPU (%s) lacks AVX512_BF16", CPUModel())
	}
	if on && CurrentISA() != ISAAVX512 {
		return fmt.Errorf("bf16: needs the %s path, and this process runs %s (%s forces it)", ISAAVX512, CurrentISA(), ISAEnv)
	}
	b.bf16 = on
	return nil
}

// SetPrecision implements kernels.PrecisionSetter (see SetBF16).
func (b *Backend) SetPrecision(p kernels.Precision) error {
	switch p {
	case kernels.FP32:
		return b.SetBF16(false)
	case kernels.BF16:
		return b.SetBF16(true)
	}
	return fmt.Errorf("precision %q: backend %s runs %s or %s", p, b.name, kernels.FP32, kernels.BF16)
}

// Precision implements kernels.PrecisionSetter.
func (b *Backend) Precision() kernels.Precision {
	if b.bf16 {
		return kernels.BF16
	}
	return kernels.FP32
}

// NewReference returns the backend that runs only the plain references.
func NewReference() *Backend { return &Backend{name: "cpu-ref"} }

// Name implements kernels.Backend.
func (b *Backend) Name() string { return b.name }

// Threads is the number of goroutines the fast path uses (1 for the reference).
func (b *Backend) Threads() int {
	if !b.fast {
		return 1
	}
	return b.threads
}

func hostCheck(op string, ts ...*tensor.Tensor) error {
	for _, t := range ts {
		if t != nil && t.Dev != nil {
			return fmt.Errorf("%s: tensor %v lives on a device; the cpu backend needs host tensors", op, t.Shape)
		}
	}
	return nil
}

func data(t *tensor.Tensor) []float32 {
	if t == nil {
		return nil
	}
	return t.Data
}

// Alloc implements kernels.Backend.
func (b *Backend) Alloc(shape ...int) (*tensor.Tensor, error) { return tensor.NewChecked(shape...) }

// Free implements kernels.Backend; host memory is left to the garbage collector.
func (b *Backend) Free(t *tensor.Tensor) {}

// Upload implements kernels.Backend.
func (b *Backend) Upload(dst *tensor.Tensor, src []float32) error {
	if dst == nil || dst.Dev != nil || len(dst.Data) != len(src) {
		return fmt.Errorf("upload: %d values into tensor %v", len(src), kernels.ShapeOf(dst))
	}
	copy(dst.Data, src)
	return nil
}

// Download implements kernels.Backend.
func (b *Backend) Download(dst []float32, src *tensor.Tensor) error {
	if src == nil || src.Dev != nil || len(src.Data) != len(dst) {
		return fmt.Errorf("download: tensor %v into %d values", kernels.ShapeOf(src), len(dst))
	}
	copy(dst, src.Data)
	return nil
}

// Gemm implements kernels.Backend.
func (b *Backend) Gemm(c, a, bm *tensor.Tensor, transA, transB bool, alpha, beta float32) error {
	m, n, k, err := kernels.CheckGemm(c, a, bm, transA, transB)
	if err != nil {
		return err
	}
	if err := hostCheck("gemm", c, a, bm); err != nil {
		return err
	}
	lda, ldb := a.Shape[1], bm.Shape[1]
	if b.fast {
		b.sgemm(transA, transB, m, n, k, alpha, a.Data, lda, bm.Data, ldb, beta, c.Data, n)
	} else {
		gemmRef(transA, transB, m, n, k, alpha, a.Data, lda, bm.Data, ldb, beta, c.Data, n)
	}
	return nil
}

// Conv2d implements kernels.Backend.
func (b *Backend) Conv2d(y, x, w, bias *tensor.Tensor, p kernels.ConvParams) error {
	if err := kernels.CheckConv2d(y, x, w, bias, p); err != nil {
		return err
	}
	if err := hostCheck("conv2d", y, x, w, bias); err != nil {
		return err
	}
	d := makeConvDims(x.Shape, w.Shape, p)
	if b.fast {
		b.conv2dFast(y.Data, x.Data, w.Data, data(bias), d)
	} else {
		conv2dRef(y.Data, x.Data, w.Data, data(bias), d)
	}
	return nil
}

// Conv2dBackwardData implements kernels.Backend.
func (b *Backend) Conv2dBackwardData(dx, dy, w *tensor.Tensor, p kernels.ConvParams) error {
	if err := kernels.CheckConv2dBackwardData(dx, dy, w, p); err != nil {
		return err
	}
	if err := hostCheck("conv2d backward-data", dx, dy, w); err != nil {
		return err
	}
	d := makeConvDims(dx.Shape, w.Shape, p)
	if b.fast {
		b.conv2dBackwardDataFast(dx.Data, dy.Data, w.Data, d)
	} else {
		conv2dBackwardDataRef(dx.Data, dy.Data, w.Data, d)
	}
	return nil
}

// Conv2dBackwardFilter implements kernels.Backend.
func (b *Backend) Conv2dBackwardFilter(dw, db, dy, x *tensor.Tensor, p kernels.ConvParams) error {
	if err := kernels.CheckConv2dBackwardFilter(dw, db, dy, x, p); err != nil {
		return err
	}
	if err := hostCheck("conv2d backward-filter", dw, db, dy, x); err != nil {
		return err
	}
	d := makeConvDims(x.Shape, dw.Shape, p)
	if b.fast {
		b.conv2dBackwardFilterFast(dw.Data, data(db), dy.Data, x.Data, d)
	} else {
		conv2dBackwardFilterRef(dw.Data, data(db), dy.Data, x.Data, d)
	}
	return nil
}

// ConvTranspose2d implements kernels.Backend.
func (b *Backend) ConvTranspose2d(y, x, w, bias *tensor.Tensor) error {
	const op = "conv-transpose2d"
	if err := kernels.CheckConvTranspose2d(op, y, x, w, bias); err != nil {
		return err
	}
	if err := hostCheck(op, y, x, w, bias); err != nil {
		return err
	}
	d := makeConvTDims(x.Shape, w.Shape)
	if b.fast {
		b.convTranspose2dFast(y.Data, x.Data, w.Data, data(bias), d)
	} else {
		convTranspose2dRef(y.Data, x.Data, w.Data, data(bias), d)
	}
	return nil
}

// ConvTranspose2dBackwardData implements kernels.Backend.
func (b *Backend) ConvTranspose2dBackwardData(dx, dy, w *tensor.Tensor) error {
	const op = "conv-transpose2d backward-data"
	if err := kernels.CheckConvTranspose2d(op, dy, dx, w, nil); err != nil {
		return err
	}
	if err := hostCheck(op, dx, dy, w); err != nil {
		return err
	}
	d := makeConvTDims(dx.Shape, w.Shape)
	if b.fast {
		b.convTranspose2dBackwardDataFast(dx.Data, dy.Data, w.Data, d)
	} else {
		convTranspose2dBackwardDataRef(dx.Data, dy.Data, w.Data, d)
	}
	return nil
}

// ConvTranspose2dBackwardFilter implements kernels.Backend.
func (b *Backend) ConvTranspose2dBackwardFilter(dw, db, dy, x *tensor.Tensor) error {
	const op = "conv-transpose2d backward-filter"
	if err := kernels.CheckConvTranspose2d(op, dy, x, dw, db); err != nil {
		return err
	}
	if err := hostCheck(op, dw, db, dy, x); err != nil {
		return err
	}
	d := makeConvTDims(x.Shape, dw.Shape)
	if b.fast {
		b.convTranspose2dBackwardFilterFast(dw.Data, data(db), dy.Data, x.Data, d)
	} else {
		convTranspose2dBackwardFilterRef(dw.Data, data(db), dy.Data, x.Data, d)
	}
	return nil
}

// spatial is the product of the dimensions after the first two.
func spatial(t *tensor.Tensor) int {
	s := 1
	for _, d := range t.Shape[2:] {
		s *= d
	}
	return s
}

// BiasAdd implements kernels.Backend.
func (b *Backend) BiasAdd(y, bias *tensor.Tensor) error {
	if err := kernels.CheckBias("bias-add", y, bias); err != nil {
		return err
	}
	if err := hostCheck("bias-add", y, bias); err != nil {
		return err
	}
	if b.fast {
		b.biasAdd(y.Data, bias.Data, y.Shape[0], y.Shape[1], spatial(y))
	} else {
		biasAddRef(y.Data, bias.Data, y.Shape[0], y.Shape[1], spatial(y))
	}
	return nil
}

// BiasGrad implements kernels.Backend.
func (b *Backend) BiasGrad(db, dy *tensor.Tensor) error {
	if err := kernels.CheckBias("bias-grad", dy, db); err != nil {
		return err
	}
	if err := hostCheck("bias-grad", db, dy); err != nil {
		return err
	}
	if b.fast && spatial(dy) > 0 {
		b.biasGrad(db.Data, dy.Data, dy.Shape[0], dy.Shape[1], spatial(dy))
	} else {
		biasGradRef(db.Data, dy.Data, dy.Shape[0], dy.Shape[1], spatial(dy))
	}
	return nil
}

// InstanceNorm implements kernels.Backend.
func (b *Backend) InstanceNorm(y, mean, rstd, x, gamma, beta *tensor.Tensor, eps float32) error {
	const op = "instance-norm"
	if err := kernels.CheckNorm(op, y, x, []*tensor.Tensor{mean, rstd}, normStatShape(x, true), gamma, beta); err != nil {
		return err
	}
	if err := hostCheck(op, y, mean, rstd, x, gamma, beta); err != nil {
		return err
	}
	n, c, s := x.Shape[0], x.Shape[1], spatial(x)
	if b.fast {
		b.instanceNormFast(y.Data, mean.Data, rstd.Data, x.Data, data(gamma), data(beta), n, c, s, eps)
	} else {
		instanceNormRef(y.Data, mean.Data, rstd.Data, x.Data, data(gamma), data(beta), n, c, s, eps)
	}
	return nil
}

// normStatShape is the statistics' shape for x; nil when x is nil or too
// small, so that the checks report the bad x instead of this panicking.
func normStatShape(x *tensor.Tensor, perSample bool) tensor.Shape {
	if x == nil || len(x.Shape) < 2 {
		return nil
	}
	if perSample {
		return tensor.Shape{x.Shape[0], x.Shape[1]}
	}
	return tensor.Shape{x.Shape[1]}
}

// InstanceNormBackward implements kernels.Backend.
func (b *Backend) InstanceNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *tensor.Tensor) error {
	const op = "instance-norm backward"
	if err := kernels.CheckNorm(op, dy, x, []*tensor.Tensor{mean, rstd}, normStatShape(x, true), gamma, nil); err != nil {
		return err
	}
	if err := checkNormGrads(op, dx, dgamma, dbeta, x); err != nil {
		return err
	}
	if err := hostCheck(op, dx, dgamma, dbeta, dy, x, mean, rstd, gamma); err != nil {
		return err
	}
	n, c, s := x.Shape[0], x.Shape[1], spatial(x)
	if b.fast {
		b.instanceNormBackwardFast(data(dx), data(dgamma), data(dbeta), dy.Data, x.Data, mean.Data, rstd.Data, data(gamma), n, c, s)
	} else {
		instanceNormBackwardRef(data(dx), data(dgamma), data(dbeta), dy.Data, x.Data, mean.Data, rstd.Data, data(gamma), n, c, s)
	}
	return nil
}

func checkNormGrads(op string, dx, dgamma, dbeta, x *tensor.Tensor) error {
	if dx != nil {
		if err := kernels.CheckSame(op, dx, x); err != nil {
			return err
		}
	}
	for _, g := range []*tensor.Tensor{dgamma, dbeta} {
		if g != nil && (len(g.Shape) != 1 || g.Shape[0] != x.Shape[1] || len(g.Data) != x.Shape[1]) {
			return fmt.Errorf("%s: parameter gradient %v, want (%d)", op, g.Shape, x.Shape[1])
		}
	}
	return nil
}

// BatchNormTrain implements kernels.Backend.
func (b *Backend) BatchNormTrain(y, mean, rstd, x, gamma, beta *tensor.Tensor, eps float32) error {
	const op = "batch-norm"
	if err := kernels.CheckNorm(op, y, x, []*tensor.Tensor{mean, rstd}, normStatShape(x, false), gamma, beta); err != nil {
		return err
	}
	if err := hostCheck(op, y, mean, rstd, x, gamma, beta); err != nil {
		return err
	}
	batchNormTrainRef(y.Data, mean.Data, rstd.Data, x.Data, data(gamma), data(beta), x.Shape[0], x.Shape[1], spatial(x), eps)
	return nil
}

// BatchNormTrainBackward implements kernels.Backend.
func (b *Backend) BatchNormTrainBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *tensor.Tensor) error {
	const op = "batch-norm backward"
	if err := kernels.CheckNorm(op, dy, x, []*tensor.Tensor{mean, rstd}, normStatShape(x, false), gamma, nil); err != nil {
		return err
	}
	if err := checkNormGrads(op, dx, dgamma, dbeta, x); err != nil {
		return err
	}
	if err := hostCheck(op, dx, dgamma, dbeta, dy, x, mean, rstd, gamma); err != nil {
		return err
	}
	batchNormTrainBackwardRef(data(dx), data(dgamma), data(dbeta), dy.Data, x.Data, mean.Data, rstd.Data, data(gamma), x.Shape[0], x.Shape[1], spatial(x))
	return nil
}

// BatchNormFrozen implements kernels.Backend.
func (b *Backend) BatchNormFrozen(y, x, runMean, runVar, gamma, beta *tensor.Tensor, eps float32) error {
	const op = "batch-norm (frozen)"
	if err := kernels.CheckNorm(op, y, x, []*tensor.Tensor{runMean, runVar}, normStatShape(x, false), gamma, beta); err != nil {
		return err
	}
	if err := hostCheck(op, y, x, runMean, runVar, gamma, beta); err != nil {
		return err
	}
	batchNormFrozenRef(y.Data, x.Data, runMean.Data, runVar.Data, data(gamma), data(beta), x.Shape[0], x.Shape[1], spatial(x), eps)
	return nil
}

// BatchNormFrozenBackwardData implements kernels.Backend.
func (b *Backend) BatchNormFrozenBackwardData(dx, dy, runVar, gamma *tensor.Tensor, eps float32) error {
	const op = "batch-norm (frozen) backward-data"
	if err := kernels.CheckNorm(op, dx, dy, []*tensor.Tensor{runVar}, normStatShape(dy, false), gamma, nil); err != nil {
		return err
	}
	if err := hostCheck(op, dx, dy, runVar, gamma); err != nil {
		return err
	}
	batchNormFrozenBackwardDataRef(dx.Data, dy.Data, runVar.Data, data(gamma), dy.Shape[0], dy.Shape[1], spatial(dy), eps)
	return nil
}

// LeakyReLU implements kernels.Backend.
func (b *Backend) LeakyReLU(y, x *tensor.Tensor, slope float32) error {
	if err := kernels.CheckSame("leaky-relu", y, x); err != nil {
		return err
	}
	if err := hostCheck("leaky-relu", y, x); err != nil {
		return err
	}
	b.elementwise(opLeakyReLU, len(y.Data), y.Data, x.Data, nil, nil, [5]float32{slope}, 0)
	return nil
}

// LeakyReLUBackward implements kernels.Backend.
func (b *Backend) LeakyReLUBackward(dx, dy, y *tensor.Tensor, slope float32) error {
	if err := kernels.CheckSame("leaky-relu backward", dx, dy, y); err != nil {
		return err
	}
	if err := hostCheck("leaky-relu backward", dx, dy, y); err != nil {
		return err
	}
	b.elementwise(opLeakyReLUBackward, len(y.Data), dx.Data, dy.Data, y.Data, nil, [5]float32{slope}, 0)
	return nil
}

func partSizes(xs []*tensor.Tensor) ([][]float32, []int) {
	ds := make([][]float32, len(xs))
	cs := make([]int, len(xs))
	for i, x := range xs {
		ds[i], cs[i] = x.Data, x.Shape[1]
	}
	return ds, cs
}

// Concat implements kernels.Backend.
func (b *Backend) Concat(y *tensor.Tensor, xs []*tensor.Tensor) error {
	if err := kernels.CheckConcat("concat", y, xs); err != nil {
		return err
	}
	if err := hostCheck("concat", append([]*tensor.Tensor{y}, xs...)...); err != nil {
		return err
	}
	ds, cs := partSizes(xs)
	if b.fast {
		b.concat(y.Data, ds, cs, y.Shape[0], spatial(y), false)
		return nil
	}
	concatRef(y.Data, ds, cs, y.Shape[0], spatial(y))
	return nil
}

// ConcatBackward implements kernels.Backend.
func (b *Backend) ConcatBackward(dxs []*tensor.Tensor, dy *tensor.Tensor) error {
	if err := kernels.CheckConcat("concat backward", dy, dxs); err != nil {
		return err
	}
	if err := hostCheck("concat backward", append([]*tensor.Tensor{dy}, dxs...)...); err != nil {
		return err
	}
	ds, cs := partSizes(dxs)
	if b.fast {
		b.concat(dy.Data, ds, cs, dy.Shape[0], spatial(dy), true)
		return nil
	}
	concatBackwardRef(ds, dy.Data, cs, dy.Shape[0], spatial(dy))
	return nil
}

// Add implements kernels.Backend.
func (b *Backend) Add(y, a, bb *tensor.Tensor) error {
	if err := kernels.CheckSame("add", y, a, bb); err != nil {
		return err
	}
	if err := hostCheck("add", y, a, bb); err != nil {
		return err
	}
	b.elementwise(opAdd, len(y.Data), y.Data, a.Data, bb.Data, nil, [5]float32{}, 0)
	return nil
}

// Scale implements kernels.Backend.
func (b *Backend) Scale(y, x *tensor.Tensor, s float32) error {
	if err := kernels.CheckSameLen("scale", y, x); err != nil {
		return err
	}
	if err := hostCheck("scale", y, x); err != nil {
		return err
	}
	b.elementwise(opScale, len(y.Data), y.Data, x.Data, nil, nil, [5]float32{s}, 0)
	return nil
}

// Axpy implements kernels.Backend.
func (b *Backend) Axpy(y, x *tensor.Tensor, a float32) error {
	if err := kernels.CheckSameLen("axpy", y, x); err != nil {
		return err
	}
	if err := hostCheck("axpy", y, x); err != nil {
		return err
	}
	b.elementwise(opAxpy, len(y.Data), y.Data, x.Data, nil, nil, [5]float32{a}, 0)
	return nil
}

// Fill implements kernels.Backend.
func (b *Backend) Fill(y *tensor.Tensor, v float32) error {
	if err := kernels.CheckSameLen("fill", y); err != nil {
		return err
	}
	if err := hostCheck("fill", y); err != nil {
		return err
	}
	if b.fast {
		b.elementwise(opFill, len(y.Data), y.Data, nil, nil, nil, [5]float32{v}, 0)
	} else {
		fillRef(y.Data, v)
	}
	return nil
}

// Copy implements kernels.Backend.
func (b *Backend) Copy(y, x *tensor.Tensor) error {
	if err := kernels.CheckSameLen("copy", y, x); err != nil {
		return err
	}
	if err := hostCheck("copy", y, x); err != nil {
		return err
	}
	if b.fast {
		b.elementwise(opCopy, len(y.Data), y.Data, x.Data, nil, nil, [5]float32{}, 0)
	} else {
		copy(y.Data, x.Data)
	}
	return nil
}

func classDims(p *tensor.Tensor) (n, k, s int) { return p.Shape[0], p.Shape[1], spatial(p) }

// checkTargets verifies every target value is an integer class index < k.
func checkTargets(op string, t *tensor.Tensor, k int) error {
	for i, v := range t.Data {
		if !(v >= 0 && v < float32(k)) || v != float32(math.Trunc(float64(v))) {
			return fmt.Errorf("%s: target value %g at index %d is not a class index in [0,%d)", op, v, i, k)
		}
	}
	return nil
}

// Softmax implements kernels.Backend.
func (b *Backend) Softmax(p, x *tensor.Tensor) error {
	if err := kernels.CheckSame("softmax", p, x); err != nil {
		return err
	}
	if len(x.Shape) < 2 {
		return fmt.Errorf("softmax: input %v needs rank >= 2", x.Shape)
	}
	if err := hostCheck("softmax", p, x); err != nil {
		return err
	}
	n, k, s := classDims(x)
	if b.fast {
		b.softmaxLoss(p.Data, x.Data, nil, n, k, s)
		return nil
	}
	softmaxRef(p.Data, x.Data, n, k, s)
	return nil
}

// SoftmaxBackward implements kernels.Backend.
func (b *Backend) SoftmaxBackward(dx, dp, p *tensor.Tensor) error {
	if err := kernels.CheckSame("softmax backward", dx, dp, p); err != nil {
		return err
	}
	if len(p.Shape) < 2 {
		return fmt.Errorf("softmax backward: input %v needs rank >= 2", p.Shape)
	}
	if err := hostCheck("softmax backward", dx, dp, p); err != nil {
		return err
	}
	n, k, s := classDims(p)
	softmaxBackwardRef(dx.Data, dp.Data, p.Data, n, k, s)
	return nil
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
	if err := hostCheck(op, p, x, target); err != nil {
		return 0, err
	}
	n, k, s := classDims(x)
	if err := checkTargets(op, target, k); err != nil {
		return 0, err
	}
	if b.fast {
		return b.softmaxLoss(p.Data, x.Data, target.Data, n, k, s), nil
	}
	return crossEntropyRef(p.Data, x.Data, target.Data, n, k, s), nil
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
	if err := hostCheck(op, dx, p, target); err != nil {
		return err
	}
	n, k, s := classDims(p)
	if err := checkTargets(op, target, k); err != nil {
		return err
	}
	crossEntropyBackwardRef(dx.Data, p.Data, target.Data, n, k, s, scale)
	return nil
}

// DiceSums implements kernels.Backend.
func (b *Backend) DiceSums(tp, ps, ts, p, target *tensor.Tensor) error {
	const op = "dice sums"
	if err := kernels.CheckClassTarget(op, p, target); err != nil {
		return err
	}
	k := p.Shape[1]
	for _, v := range []*tensor.Tensor{tp, ps, ts} {
		if v == nil || len(v.Shape) != 1 || v.Shape[0] != k || (v.Dev == nil && len(v.Data) != k) {
			return fmt.Errorf("%s: sums tensor %v, want (%d) for scores %v", op, kernels.ShapeOf(v), k, p.Shape)
		}
	}
	if err := hostCheck(op, tp, ps, ts, p, target); err != nil {
		return err
	}
	n, _, s := classDims(p)
	if err := checkTargets(op, target, k); err != nil {
		return err
	}
	diceSumsRef(tp.Data, ps.Data, ts.Data, p.Data, target.Data, n, k, s)
	return nil
}

// DiceSumsBackward implements kernels.Backend.
func (b *Backend) DiceSumsBackward(dp, target, dtp, dps *tensor.Tensor) error {
	const op = "dice sums backward"
	if err := kernels.CheckClassTarget(op, dp, target); err != nil {
		return err
	}
	k := dp.Shape[1]
	for _, v := range []*tensor.Tensor{dtp, dps} {
		if v == nil || len(v.Shape) != 1 || v.Shape[0] != k || (v.Dev == nil && len(v.Data) != k) {
			return fmt.Errorf("%s: sums gradient %v, want (%d) for scores %v", op, kernels.ShapeOf(v), k, dp.Shape)
		}
	}
	if err := hostCheck(op, dp, target, dtp, dps); err != nil {
		return err
	}
	n, _, s := classDims(dp)
	if err := checkTargets(op, target, k); err != nil {
		return err
	}
	diceSumsBackwardRef(dp.Data, target.Data, dtp.Data, dps.Data, n, k, s)
	return nil
}

// MSE implements kernels.Backend.
func (b *Backend) MSE(a, bb *tensor.Tensor) (float64, error) {
	if err := kernels.CheckSame("mse", a, bb); err != nil {
		return 0, err
	}
	if a.Numel() == 0 {
		return 0, fmt.Errorf("mse: empty tensor %v", a.Shape)
	}
	if err := hostCheck("mse", a, bb); err != nil {
		return 0, err
	}
	if b.fast {
		return b.mseFast(a.Data, bb.Data), nil
	}
	return mseRef(a.Data, bb.Data), nil
}

// MSEBackward implements kernels.Backend.
func (b *Backend) MSEBackward(da, db, a, bb *tensor.Tensor, scale float32) error {
	const op = "mse backward"
	if err := kernels.CheckSame(op, a, bb); err != nil {
		return err
	}
	for _, g := range []*tensor.Tensor{da, db} {
		if g != nil {
			if err := kernels.CheckSame(op, g, a); err != nil {
				return err
			}
		}
	}
	if a.Numel() == 0 {
		return fmt.Errorf("%s: empty tensor %v", op, a.Shape)
	}
	if err := hostCheck(op, da, db, a, bb); err != nil {
		return err
	}
	// Parts split the slices but keep the mean over the whole tensor.
	b.elementwise(opMSEBackward, len(a.Data), data(da), data(db), a.Data, bb.Data, [5]float32{2 * scale / float32(len(a.Data))}, 0)
	return nil
}

// Sum implements kernels.Backend.
func (b *Backend) Sum(x *tensor.Tensor) (float64, error) {
	if err := kernels.CheckSameLen("sum", x); err != nil {
		return 0, err
	}
	if err := hostCheck("sum", x); err != nil {
		return 0, err
	}
	return sumRef(x.Data), nil
}

// SumSquares implements kernels.Backend.
func (b *Backend) SumSquares(x *tensor.Tensor) (float64, error) {
	if err := kernels.CheckSameLen("sum of squares", x); err != nil {
		return 0, err
	}
	if err := hostCheck("sum of squares", x); err != nil {
		return 0, err
	}
	return sumSquaresRef(x.Data), nil
}

// SGDNesterov implements kernels.Backend.
func (b *Backend) SGDNesterov(w, v, g *tensor.Tensor, lr, momentum, weightDecay float32) error {
	if err := kernels.CheckOptimizer("sgd", w, v, g); err != nil {
		return err
	}
	if err := hostCheck("sgd", w, v, g); err != nil {
		return err
	}
	b.elementwise(opSGDNesterov, len(w.Data), w.Data, v.Data, g.Data, nil, [5]float32{lr, momentum, weightDecay}, 0)
	return nil
}

// AdamW implements kernels.Backend.
func (b *Backend) AdamW(w, m, v, g *tensor.Tensor, lr, beta1, beta2, eps, weightDecay float32, step int) error {
	if err := kernels.CheckOptimizer("adamw", w, m, v, g); err != nil {
		return err
	}
	if step < 1 {
		return fmt.Errorf("adamw: step %d, want >= 1", step)
	}
	if err := hostCheck("adamw", w, m, v, g); err != nil {
		return err
	}
	b.elementwise(opAdamW, len(w.Data), w.Data, m.Data, v.Data, g.Data, [5]float32{lr, beta1, beta2, eps, weightDecay}, step)
	return nil
}

var _ kernels.Backend = (*Backend)(nil)
