package profile

import (
	"suture/kernels"
	"suture/tensor"
)

// What each op call costs. opTable has a method per kernels.Backend op,
// named after it and taking its arguments; the generated wrappers of
// backend.go call it inside recorded steps. Byte counts are compulsory
// traffic in float32s (x4): every operand read once, every output written
// once, accumulated outputs read and written.

// opCost is one op call as the profiler records it: its row's op, its
// multiply-adds (plain algorithm, 2 flops each), its bytes, and the tensors
// whose shapes the trace shows (outputs first, as the op takes them).
type opCost struct {
	id           int32
	flops, bytes float64
	ts           [4]*tensor.Tensor
	n            int // tensors in ts
}

// cost makes an opCost; ts beyond four are not shown.
func cost(id int32, flops, bytes float64, ts ...*tensor.Tensor) opCost {
	c := opCost{id: id, flops: flops, bytes: bytes}
	c.n = copy(c.ts[:], ts)
	return c
}

// convFlops: 2 multiply-adds per output element per (Ci, KH, KW) tap;
// out: the conv's output (y or dy), w: (Co, Ci, KH, KW).
func convFlops(out, w *tensor.Tensor) float64 {
	if co := dim(w, 0); co > 0 {
		return 2 * n(out) * n(w) / float64(co)
	}
	return 0
}

// convTFlops: x: (N, Ci, H, W), w: (Ci, Co, KH, KW).
func convTFlops(x, w *tensor.Tensor) float64 {
	if ci := dim(w, 0); ci > 0 {
		return 2 * n(x) * n(w) / float64(ci)
	}
	return 0
}

func (o *opTable) Alloc(shape ...int) opCost {
	elems := 1.0
	for _, d := range shape {
		elems *= float64(max(d, 0))
	}
	return cost(o.simpleID(kAlloc), 0, 4*elems)
}

func (o *opTable) Free(t *tensor.Tensor) opCost { return cost(o.simpleID(kFree), 0, 0, t) }

func (o *opTable) Upload(dst *tensor.Tensor, src []float32) opCost {
	return cost(o.simpleID(kUpload), 0, 4*float64(len(src)), dst)
}

func (o *opTable) Download(dst []float32, src *tensor.Tensor) opCost {
	return cost(o.simpleID(kDownload), 0, 4*float64(len(dst)), src)
}

func (o *opTable) Gemm(c, a, b *tensor.Tensor, transA, transB bool, alpha, beta float32) opCost {
	k := dim(a, 1)
	if transA {
		k = dim(a, 0)
	}
	out := n(c)
	if beta != 0 {
		out *= 2
	}
	return cost(o.simpleID(kGemm), 2*n(c)*float64(k), 4*(n(a)+n(b)+out), c, a, b)
}

func (o *opTable) Conv2d(y, x, w, b *tensor.Tensor, cp kernels.ConvParams) opCost {
	return cost(o.convID(kConvForward, x, w, cp), convFlops(y, w), 4*(n(x)+n(w)+n(b)+n(y)), y, x, w, b)
}

func (o *opTable) Conv2dBackwardData(dx, dy, w *tensor.Tensor, cp kernels.ConvParams) opCost {
	return cost(o.convID(kConvBackwardData, dx, w, cp), convFlops(dy, w), 4*(n(dy)+n(w)+2*n(dx)), dx, dy, w)
}

func (o *opTable) Conv2dBackwardFilter(dw, db, dy, x *tensor.Tensor, cp kernels.ConvParams) opCost {
	return cost(o.convID(kConvBackwardFilter, x, dw, cp), convFlops(dy, dw), 4*(n(dy)+n(x)+2*n(dw)+2*n(db)), dw, db, dy, x)
}

func (o *opTable) ConvTranspose2d(y, x, w, b *tensor.Tensor) opCost {
	return cost(o.convTID(kConvTForward, x, w), convTFlops(x, w), 4*(n(x)+n(w)+n(b)+n(y)), y, x, w, b)
}

func (o *opTable) ConvTranspose2dBackwardData(dx, dy, w *tensor.Tensor) opCost {
	return cost(o.convTID(kConvTBackwardData, dx, w), convTFlops(dx, w), 4*(n(dy)+n(w)+2*n(dx)), dx, dy, w)
}

func (o *opTable) ConvTranspose2dBackwardFilter(dw, db, dy, x *tensor.Tensor) opCost {
	return cost(o.convTID(kConvTBackwardFilter, x, dw), convTFlops(x, dw), 4*(n(dy)+n(x)+2*n(dw)+2*n(db)), dw, db, dy, x)
}

func (o *opTable) BiasAdd(y, b *tensor.Tensor) opCost {
	return cost(o.simpleID(kBiasAdd), 0, 4*(2*n(y)+n(b)), y, b)
}

func (o *opTable) BiasGrad(db, dy *tensor.Tensor) opCost {
	return cost(o.simpleID(kBiasGrad), 0, 4*(n(dy)+2*n(db)), db, dy)
}

func (o *opTable) InstanceNorm(y, mean, rstd, x, gamma, beta *tensor.Tensor, eps float32) opCost {
	return cost(o.simpleID(kInstanceNorm), 0, 4*(n(x)+n(y)+n(mean)+n(rstd)+n(gamma)+n(beta)), y, mean, rstd, x)
}

func (o *opTable) InstanceNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *tensor.Tensor) opCost {
	return cost(o.simpleID(kInstanceNormBackward), 0,
		4*(n(dy)+n(x)+2*n(dx)+n(mean)+n(rstd)+n(gamma)+2*n(dgamma)+2*n(dbeta)), dx, dgamma, dy, x)
}

func (o *opTable) BatchNormTrain(y, mean, rstd, x, gamma, beta *tensor.Tensor, eps float32) opCost {
	return cost(o.simpleID(kBatchNormTrain), 0, 4*(n(x)+n(y)+n(mean)+n(rstd)+n(gamma)+n(beta)), y, mean, rstd, x)
}

func (o *opTable) BatchNormTrainBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *tensor.Tensor) opCost {
	return cost(o.simpleID(kBatchNormTrainBackward), 0,
		4*(n(dy)+n(x)+2*n(dx)+n(mean)+n(rstd)+n(gamma)+2*n(dgamma)+2*n(dbeta)), dx, dgamma, dy, x)
}

func (o *opTable) BatchNormFrozen(y, x, runMean, runVar, gamma, beta *tensor.Tensor, eps float32) opCost {
	return cost(o.simpleID(kBatchNormFrozen), 0, 4*(n(x)+n(y)+n(runMean)+n(runVar)+n(gamma)+n(beta)), y, x)
}

func (o *opTable) BatchNormFrozenBackwardData(dx, dy, runVar, gamma *tensor.Tensor, eps float32) opCost {
	return cost(o.simpleID(kBatchNormFrozenBackward), 0, 4*(n(dy)+2*n(dx)+n(runVar)+n(gamma)), dx, dy)
}

func (o *opTable) LeakyReLU(y, x *tensor.Tensor, slope float32) opCost {
	return cost(o.simpleID(kLeakyReLU), 0, 4*(n(x)+n(y)), y, x)
}

func (o *opTable) LeakyReLUBackward(dx, dy, y *tensor.Tensor, slope float32) opCost {
	return cost(o.simpleID(kLeakyReLUBackward), 0, 4*(n(dy)+n(y)+2*n(dx)), dx, dy, y)
}

func (o *opTable) Concat(y *tensor.Tensor, xs []*tensor.Tensor) opCost {
	return cost(o.simpleID(kConcat), 0, 4*2*n(y), y)
}

func (o *opTable) ConcatBackward(dxs []*tensor.Tensor, dy *tensor.Tensor) opCost {
	var parts float64
	for _, d := range dxs {
		parts += n(d)
	}
	return cost(o.simpleID(kConcatBackward), 0, 4*(n(dy)+2*parts), dy)
}

func (o *opTable) Add(y, a, b *tensor.Tensor) opCost {
	return cost(o.simpleID(kAdd), 0, 4*(n(a)+n(b)+n(y)), y, a, b)
}

func (o *opTable) Scale(y, x *tensor.Tensor, s float32) opCost {
	return cost(o.simpleID(kScale), 0, 4*(n(x)+n(y)), y, x)
}

func (o *opTable) Axpy(y, x *tensor.Tensor, a float32) opCost {
	return cost(o.simpleID(kAxpy), 0, 4*(n(x)+2*n(y)), y, x)
}

func (o *opTable) Fill(y *tensor.Tensor, v float32) opCost {
	return cost(o.simpleID(kFill), 0, 4*n(y), y)
}

func (o *opTable) Copy(y, x *tensor.Tensor) opCost {
	return cost(o.simpleID(kCopy), 0, 4*(n(x)+n(y)), y, x)
}

func (o *opTable) Softmax(p, x *tensor.Tensor) opCost {
	return cost(o.simpleID(kSoftmax), 0, 4*(n(x)+n(p)), p, x)
}

func (o *opTable) SoftmaxBackward(dx, dp, p *tensor.Tensor) opCost {
	return cost(o.simpleID(kSoftmaxBackward), 0, 4*(n(dp)+n(p)+2*n(dx)), dx, dp, p)
}

func (o *opTable) SoftmaxCrossEntropy(p, x, target *tensor.Tensor) opCost {
	return cost(o.simpleID(kSoftmaxCE), 0, 4*(n(x)+n(p)+n(target)), p, x, target)
}

func (o *opTable) SoftmaxCrossEntropyBackward(dx, p, target *tensor.Tensor, scale float32) opCost {
	return cost(o.simpleID(kSoftmaxCEBackward), 0, 4*(n(p)+n(target)+2*n(dx)), dx, p, target)
}

func (o *opTable) DiceSums(tp, ps, ts, p, target *tensor.Tensor) opCost {
	return cost(o.simpleID(kDiceSums), 0, 4*(n(p)+n(target)+n(tp)+n(ps)+n(ts)), tp, p, target)
}

func (o *opTable) DiceSumsBackward(dp, target, dtp, dps *tensor.Tensor) opCost {
	return cost(o.simpleID(kDiceSumsBackward), 0, 4*(n(target)+2*n(dp)+n(dtp)+n(dps)), dp, target)
}

func (o *opTable) MSE(a, b *tensor.Tensor) opCost {
	return cost(o.simpleID(kMSE), 0, 4*(n(a)+n(b)), a, b)
}

func (o *opTable) MSEBackward(da, db, a, b *tensor.Tensor, scale float32) opCost {
	return cost(o.simpleID(kMSEBackward), 0, 4*(n(a)+n(b)+2*n(da)+2*n(db)), da, db, a, b)
}

func (o *opTable) Sum(x *tensor.Tensor) opCost { return cost(o.simpleID(kSum), 0, 4*n(x), x) }

func (o *opTable) SumSquares(x *tensor.Tensor) opCost {
	return cost(o.simpleID(kSumSquares), 0, 4*n(x), x)
}

func (o *opTable) SGDNesterov(w, v, g *tensor.Tensor, lr, momentum, weightDecay float32) opCost {
	return cost(o.simpleID(kSGD), 0, 4*(2*n(w)+2*n(v)+n(g)), w, v, g)
}

func (o *opTable) AdamW(w, m, v, g *tensor.Tensor, lr, beta1, beta2, eps, weightDecay float32, step int) opCost {
	return cost(o.simpleID(kAdamW), 0, 4*(2*n(w)+2*n(m)+2*n(v)+n(g)), w, m, v, g)
}
