package profile

import (
	"suture/kernels"
	"suture/tensor"
)

// The kernels.Backend methods: outside recorded steps one branch and the
// wrapped call; inside, the call timed between begin and end. Byte counts
// are compulsory traffic in float32s (x4): every operand read once, every
// output written once, accumulated outputs read and written.

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

var _ kernels.Backend = (*Profiler)(nil)
var _ kernels.Profiler = (*Profiler)(nil)

// Alloc implements kernels.Backend.
func (p *Profiler) Alloc(shape ...int) (*tensor.Tensor, error) {
	if !p.recording {
		return p.inner.Alloc(shape...)
	}
	elems := 1.0
	for _, d := range shape {
		elems *= float64(max(d, 0))
	}
	c := p.begin(p.simpleID(kAlloc), 0, 4*elems)
	t, err := p.inner.Alloc(shape...)
	p.end(c)
	return t, err
}

// Free implements kernels.Backend.
func (p *Profiler) Free(t *tensor.Tensor) {
	if !p.recording {
		p.inner.Free(t)
		return
	}
	c := p.begin(p.simpleID(kFree), 0, 0, t)
	p.inner.Free(t)
	p.end(c)
}

// Upload implements kernels.Backend.
func (p *Profiler) Upload(dst *tensor.Tensor, src []float32) error {
	if !p.recording {
		return p.inner.Upload(dst, src)
	}
	c := p.begin(p.simpleID(kUpload), 0, 4*float64(len(src)), dst)
	err := p.inner.Upload(dst, src)
	p.end(c)
	return err
}

// Download implements kernels.Backend.
func (p *Profiler) Download(dst []float32, src *tensor.Tensor) error {
	if !p.recording {
		return p.inner.Download(dst, src)
	}
	c := p.begin(p.simpleID(kDownload), 0, 4*float64(len(dst)), src)
	err := p.inner.Download(dst, src)
	p.end(c)
	return err
}

// Gemm implements kernels.Backend.
func (p *Profiler) Gemm(cm, a, b *tensor.Tensor, transA, transB bool, alpha, beta float32) error {
	if !p.recording {
		return p.inner.Gemm(cm, a, b, transA, transB, alpha, beta)
	}
	k := dim(a, 1)
	if transA {
		k = dim(a, 0)
	}
	out := n(cm)
	if beta != 0 {
		out *= 2
	}
	c := p.begin(p.simpleID(kGemm), 2*n(cm)*float64(k), 4*(n(a)+n(b)+out), cm, a, b)
	err := p.inner.Gemm(cm, a, b, transA, transB, alpha, beta)
	p.end(c)
	return err
}

// Conv2d implements kernels.Backend.
func (p *Profiler) Conv2d(y, x, w, b *tensor.Tensor, cp kernels.ConvParams) error {
	if !p.recording {
		return p.inner.Conv2d(y, x, w, b, cp)
	}
	c := p.begin(p.convID(kConvForward, x, w, cp), convFlops(y, w), 4*(n(x)+n(w)+n(b)+n(y)), y, x, w, b)
	err := p.inner.Conv2d(y, x, w, b, cp)
	p.end(c)
	return err
}

// Conv2dBackwardData implements kernels.Backend.
func (p *Profiler) Conv2dBackwardData(dx, dy, w *tensor.Tensor, cp kernels.ConvParams) error {
	if !p.recording {
		return p.inner.Conv2dBackwardData(dx, dy, w, cp)
	}
	c := p.begin(p.convID(kConvBackwardData, dx, w, cp), convFlops(dy, w), 4*(n(dy)+n(w)+2*n(dx)), dx, dy, w)
	err := p.inner.Conv2dBackwardData(dx, dy, w, cp)
	p.end(c)
	return err
}

// Conv2dBackwardFilter implements kernels.Backend.
func (p *Profiler) Conv2dBackwardFilter(dw, db, dy, x *tensor.Tensor, cp kernels.ConvParams) error {
	if !p.recording {
		return p.inner.Conv2dBackwardFilter(dw, db, dy, x, cp)
	}
	c := p.begin(p.convID(kConvBackwardFilter, x, dw, cp), convFlops(dy, dw), 4*(n(dy)+n(x)+2*n(dw)+2*n(db)), dw, db, dy, x)
	err := p.inner.Conv2dBackwardFilter(dw, db, dy, x, cp)
	p.end(c)
	return err
}

// ConvTranspose2d implements kernels.Backend.
func (p *Profiler) ConvTranspose2d(y, x, w, b *tensor.Tensor) error {
	if !p.recording {
		return p.inner.ConvTranspose2d(y, x, w, b)
	}
	c := p.begin(p.convTID(kConvTForward, w), convTFlops(x, w), 4*(n(x)+n(w)+n(b)+n(y)), y, x, w, b)
	err := p.inner.ConvTranspose2d(y, x, w, b)
	p.end(c)
	return err
}

// ConvTranspose2dBackwardData implements kernels.Backend.
func (p *Profiler) ConvTranspose2dBackwardData(dx, dy, w *tensor.Tensor) error {
	if !p.recording {
		return p.inner.ConvTranspose2dBackwardData(dx, dy, w)
	}
	c := p.begin(p.convTID(kConvTBackwardData, w), convTFlops(dx, w), 4*(n(dy)+n(w)+2*n(dx)), dx, dy, w)
	err := p.inner.ConvTranspose2dBackwardData(dx, dy, w)
	p.end(c)
	return err
}

// ConvTranspose2dBackwardFilter implements kernels.Backend.
func (p *Profiler) ConvTranspose2dBackwardFilter(dw, db, dy, x *tensor.Tensor) error {
	if !p.recording {
		return p.inner.ConvTranspose2dBackwardFilter(dw, db, dy, x)
	}
	c := p.begin(p.convTID(kConvTBackwardFilter, dw), convTFlops(x, dw), 4*(n(dy)+n(x)+2*n(dw)+2*n(db)), dw, db, dy, x)
	err := p.inner.ConvTranspose2dBackwardFilter(dw, db, dy, x)
	p.end(c)
	return err
}

// BiasAdd implements kernels.Backend.
func (p *Profiler) BiasAdd(y, b *tensor.Tensor) error {
	if !p.recording {
		return p.inner.BiasAdd(y, b)
	}
	c := p.begin(p.simpleID(kBiasAdd), 0, 4*(2*n(y)+n(b)), y, b)
	err := p.inner.BiasAdd(y, b)
	p.end(c)
	return err
}

// BiasGrad implements kernels.Backend.
func (p *Profiler) BiasGrad(db, dy *tensor.Tensor) error {
	if !p.recording {
		return p.inner.BiasGrad(db, dy)
	}
	c := p.begin(p.simpleID(kBiasGrad), 0, 4*(n(dy)+2*n(db)), db, dy)
	err := p.inner.BiasGrad(db, dy)
	p.end(c)
	return err
}

// InstanceNorm implements kernels.Backend.
func (p *Profiler) InstanceNorm(y, mean, rstd, x, gamma, beta *tensor.Tensor, eps float32) error {
	if !p.recording {
		return p.inner.InstanceNorm(y, mean, rstd, x, gamma, beta, eps)
	}
	c := p.begin(p.simpleID(kInstanceNorm), 0, 4*(n(x)+n(y)+n(mean)+n(rstd)+n(gamma)+n(beta)), y, mean, rstd, x)
	err := p.inner.InstanceNorm(y, mean, rstd, x, gamma, beta, eps)
	p.end(c)
	return err
}

// InstanceNormBackward implements kernels.Backend.
func (p *Profiler) InstanceNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *tensor.Tensor) error {
	if !p.recording {
		return p.inner.InstanceNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma)
	}
	c := p.begin(p.simpleID(kInstanceNormBackward), 0,
		4*(n(dy)+n(x)+2*n(dx)+n(mean)+n(rstd)+n(gamma)+2*n(dgamma)+2*n(dbeta)), dx, dgamma, dy, x)
	err := p.inner.InstanceNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma)
	p.end(c)
	return err
}

// BatchNormTrain implements kernels.Backend.
func (p *Profiler) BatchNormTrain(y, mean, rstd, x, gamma, beta *tensor.Tensor, eps float32) error {
	if !p.recording {
		return p.inner.BatchNormTrain(y, mean, rstd, x, gamma, beta, eps)
	}
	c := p.begin(p.simpleID(kBatchNormTrain), 0, 4*(n(x)+n(y)+n(mean)+n(rstd)+n(gamma)+n(beta)), y, mean, rstd, x)
	err := p.inner.BatchNormTrain(y, mean, rstd, x, gamma, beta, eps)
	p.end(c)
	return err
}

// BatchNormTrainBackward implements kernels.Backend.
func (p *Profiler) BatchNormTrainBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *tensor.Tensor) error {
	if !p.recording {
		return p.inner.BatchNormTrainBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma)
	}
	c := p.begin(p.simpleID(kBatchNormTrainBackward), 0,
		4*(n(dy)+n(x)+2*n(dx)+n(mean)+n(rstd)+n(gamma)+2*n(dgamma)+2*n(dbeta)), dx, dgamma, dy, x)
	err := p.inner.BatchNormTrainBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma)
	p.end(c)
	return err
}

// BatchNormFrozen implements kernels.Backend.
func (p *Profiler) BatchNormFrozen(y, x, runMean, runVar, gamma, beta *tensor.Tensor, eps float32) error {
	if !p.recording {
		return p.inner.BatchNormFrozen(y, x, runMean, runVar, gamma, beta, eps)
	}
	c := p.begin(p.simpleID(kBatchNormFrozen), 0, 4*(n(x)+n(y)+n(runMean)+n(runVar)+n(gamma)+n(beta)), y, x)
	err := p.inner.BatchNormFrozen(y, x, runMean, runVar, gamma, beta, eps)
	p.end(c)
	return err
}

// BatchNormFrozenBackwardData implements kernels.Backend.
func (p *Profiler) BatchNormFrozenBackwardData(dx, dy, runVar, gamma *tensor.Tensor, eps float32) error {
	if !p.recording {
		return p.inner.BatchNormFrozenBackwardData(dx, dy, runVar, gamma, eps)
	}
	c := p.begin(p.simpleID(kBatchNormFrozenBackward), 0, 4*(n(dy)+2*n(dx)+n(runVar)+n(gamma)), dx, dy)
	err := p.inner.BatchNormFrozenBackwardData(dx, dy, runVar, gamma, eps)
	p.end(c)
	return err
}

// LeakyReLU implements kernels.Backend.
func (p *Profiler) LeakyReLU(y, x *tensor.Tensor, slope float32) error {
	if !p.recording {
		return p.inner.LeakyReLU(y, x, slope)
	}
	c := p.begin(p.simpleID(kLeakyReLU), 0, 4*(n(x)+n(y)), y, x)
	err := p.inner.LeakyReLU(y, x, slope)
	p.end(c)
	return err
}

// LeakyReLUBackward implements kernels.Backend.
func (p *Profiler) LeakyReLUBackward(dx, dy, y *tensor.Tensor, slope float32) error {
	if !p.recording {
		return p.inner.LeakyReLUBackward(dx, dy, y, slope)
	}
	c := p.begin(p.simpleID(kLeakyReLUBackward), 0, 4*(n(dy)+n(y)+2*n(dx)), dx, dy, y)
	err := p.inner.LeakyReLUBackward(dx, dy, y, slope)
	p.end(c)
	return err
}

// Concat implements kernels.Backend.
func (p *Profiler) Concat(y *tensor.Tensor, xs []*tensor.Tensor) error {
	if !p.recording {
		return p.inner.Concat(y, xs)
	}
	c := p.begin(p.simpleID(kConcat), 0, 4*2*n(y), y)
	err := p.inner.Concat(y, xs)
	p.end(c)
	return err
}

// ConcatBackward implements kernels.Backend.
func (p *Profiler) ConcatBackward(dxs []*tensor.Tensor, dy *tensor.Tensor) error {
	if !p.recording {
		return p.inner.ConcatBackward(dxs, dy)
	}
	var parts float64
	for _, d := range dxs {
		parts += n(d)
	}
	c := p.begin(p.simpleID(kConcatBackward), 0, 4*(n(dy)+2*parts), dy)
	err := p.inner.ConcatBackward(dxs, dy)
	p.end(c)
	return err
}

// Add implements kernels.Backend.
func (p *Profiler) Add(y, a, b *tensor.Tensor) error {
	if !p.recording {
		return p.inner.Add(y, a, b)
	}
	c := p.begin(p.simpleID(kAdd), 0, 4*(n(a)+n(b)+n(y)), y, a, b)
	err := p.inner.Add(y, a, b)
	p.end(c)
	return err
}

// Scale implements kernels.Backend.
func (p *Profiler) Scale(y, x *tensor.Tensor, s float32) error {
	if !p.recording {
		return p.inner.Scale(y, x, s)
	}
	c := p.begin(p.simpleID(kScale), 0, 4*(n(x)+n(y)), y, x)
	err := p.inner.Scale(y, x, s)
	p.end(c)
	return err
}

// Axpy implements kernels.Backend.
func (p *Profiler) Axpy(y, x *tensor.Tensor, a float32) error {
	if !p.recording {
		return p.inner.Axpy(y, x, a)
	}
	c := p.begin(p.simpleID(kAxpy), 0, 4*(n(x)+2*n(y)), y, x)
	err := p.inner.Axpy(y, x, a)
	p.end(c)
	return err
}

// Fill implements kernels.Backend.
func (p *Profiler) Fill(y *tensor.Tensor, v float32) error {
	if !p.recording {
		return p.inner.Fill(y, v)
	}
	c := p.begin(p.simpleID(kFill), 0, 4*n(y), y)
	err := p.inner.Fill(y, v)
	p.end(c)
	return err
}

// Copy implements kernels.Backend.
func (p *Profiler) Copy(y, x *tensor.Tensor) error {
	if !p.recording {
		return p.inner.Copy(y, x)
	}
	c := p.begin(p.simpleID(kCopy), 0, 4*(n(x)+n(y)), y, x)
	err := p.inner.Copy(y, x)
	p.end(c)
	return err
}

// Softmax implements kernels.Backend.
func (p *Profiler) Softmax(pr, x *tensor.Tensor) error {
	if !p.recording {
		return p.inner.Softmax(pr, x)
	}
	c := p.begin(p.simpleID(kSoftmax), 0, 4*(n(x)+n(pr)), pr, x)
	err := p.inner.Softmax(pr, x)
	p.end(c)
	return err
}

// SoftmaxBackward implements kernels.Backend.
func (p *Profiler) SoftmaxBackward(dx, dp, pr *tensor.Tensor) error {
	if !p.recording {
		return p.inner.SoftmaxBackward(dx, dp, pr)
	}
	c := p.begin(p.simpleID(kSoftmaxBackward), 0, 4*(n(dp)+n(pr)+2*n(dx)), dx, dp, pr)
	err := p.inner.SoftmaxBackward(dx, dp, pr)
	p.end(c)
	return err
}

// SoftmaxCrossEntropy implements kernels.Backend.
func (p *Profiler) SoftmaxCrossEntropy(pr, x, target *tensor.Tensor) (float64, error) {
	if !p.recording {
		return p.inner.SoftmaxCrossEntropy(pr, x, target)
	}
	c := p.begin(p.simpleID(kSoftmaxCE), 0, 4*(n(x)+n(pr)+n(target)), pr, x, target)
	v, err := p.inner.SoftmaxCrossEntropy(pr, x, target)
	p.end(c)
	return v, err
}

// SoftmaxCrossEntropyBackward implements kernels.Backend.
func (p *Profiler) SoftmaxCrossEntropyBackward(dx, pr, target *tensor.Tensor, scale float32) error {
	if !p.recording {
		return p.inner.SoftmaxCrossEntropyBackward(dx, pr, target, scale)
	}
	c := p.begin(p.simpleID(kSoftmaxCEBackward), 0, 4*(n(pr)+n(target)+2*n(dx)), dx, pr, target)
	err := p.inner.SoftmaxCrossEntropyBackward(dx, pr, target, scale)
	p.end(c)
	return err
}

// DiceSums implements kernels.Backend.
func (p *Profiler) DiceSums(tp, ps, ts, pr, target *tensor.Tensor) error {
	if !p.recording {
		return p.inner.DiceSums(tp, ps, ts, pr, target)
	}
	c := p.begin(p.simpleID(kDiceSums), 0, 4*(n(pr)+n(target)+n(tp)+n(ps)+n(ts)), tp, pr, target)
	err := p.inner.DiceSums(tp, ps, ts, pr, target)
	p.end(c)
	return err
}

// DiceSumsBackward implements kernels.Backend.
func (p *Profiler) DiceSumsBackward(dp, target, dtp, dps *tensor.Tensor) error {
	if !p.recording {
		return p.inner.DiceSumsBackward(dp, target, dtp, dps)
	}
	c := p.begin(p.simpleID(kDiceSumsBackward), 0, 4*(n(target)+2*n(dp)+n(dtp)+n(dps)), dp, target)
	err := p.inner.DiceSumsBackward(dp, target, dtp, dps)
	p.end(c)
	return err
}

// MSE implements kernels.Backend.
func (p *Profiler) MSE(a, b *tensor.Tensor) (float64, error) {
	if !p.recording {
		return p.inner.MSE(a, b)
	}
	c := p.begin(p.simpleID(kMSE), 0, 4*(n(a)+n(b)), a, b)
	v, err := p.inner.MSE(a, b)
	p.end(c)
	return v, err
}

// MSEBackward implements kernels.Backend.
func (p *Profiler) MSEBackward(da, db, a, b *tensor.Tensor, scale float32) error {
	if !p.recording {
		return p.inner.MSEBackward(da, db, a, b, scale)
	}
	c := p.begin(p.simpleID(kMSEBackward), 0, 4*(n(a)+n(b)+2*n(da)+2*n(db)), da, db, a, b)
	err := p.inner.MSEBackward(da, db, a, b, scale)
	p.end(c)
	return err
}

// Sum implements kernels.Backend.
func (p *Profiler) Sum(x *tensor.Tensor) (float64, error) {
	if !p.recording {
		return p.inner.Sum(x)
	}
	c := p.begin(p.simpleID(kSum), 0, 4*n(x), x)
	v, err := p.inner.Sum(x)
	p.end(c)
	return v, err
}

// SumSquares implements kernels.Backend.
func (p *Profiler) SumSquares(x *tensor.Tensor) (float64, error) {
	if !p.recording {
		return p.inner.SumSquares(x)
	}
	c := p.begin(p.simpleID(kSumSquares), 0, 4*n(x), x)
	v, err := p.inner.SumSquares(x)
	p.end(c)
	return v, err
}

// SGDNesterov implements kernels.Backend.
func (p *Profiler) SGDNesterov(w, v, g *tensor.Tensor, lr, momentum, weightDecay float32) error {
	if !p.recording {
		return p.inner.SGDNesterov(w, v, g, lr, momentum, weightDecay)
	}
	c := p.begin(p.simpleID(kSGD), 0, 4*(2*n(w)+2*n(v)+n(g)), w, v, g)
	err := p.inner.SGDNesterov(w, v, g, lr, momentum, weightDecay)
	p.end(c)
	return err
}

// AdamW implements kernels.Backend.
func (p *Profiler) AdamW(w, m, v, g *tensor.Tensor, lr, beta1, beta2, eps, weightDecay float32, step int) error {
	if !p.recording {
		return p.inner.AdamW(w, m, v, g, lr, beta1, beta2, eps, weightDecay, step)
	}
	c := p.begin(p.simpleID(kAdamW), 0, 4*(2*n(w)+2*n(m)+2*n(v)+n(g)), w, m, v, g)
	err := p.inner.AdamW(w, m, v, g, lr, beta1, beta2, eps, weightDecay, step)
	p.end(c)
	return err
}
