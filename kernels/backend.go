package kernels

import (
	"errors"

	"suture/tensor"
)

// ErrNotImplemented marks an op or case a backend does not support.
var ErrNotImplemented = errors.New("not implemented by this backend")

// Limited is implemented by a backend that declines some cases with
// ErrNotImplemented. Unsupported lists the Backend methods (by name, e.g.
// "Conv2d") that may decline; the conformance suite fails a backend that
// declines a case of any other method, so a backend cannot pass by declining.
type Limited interface {
	Unsupported() []string
}

// ConvParams is the geometry of a 2-D convolution; the kernel size comes from
// the weight's shape. Dilation and groups are always 1.
type ConvParams struct {
	StrideH, StrideW int
	PadH, PadW       int
}

// Conv returns square-kernel parameters: stride s and padding p in both axes.
func Conv(stride, pad int) ConvParams {
	return ConvParams{StrideH: stride, StrideW: stride, PadH: pad, PadW: pad}
}

// Backend is the primitive op set. All tensors passed to a backend's ops must
// be its own (made by its Alloc, or host tensors for CPU backends).
type Backend interface {
	// Name identifies the backend in the registry and in messages ("cpu", "cuda").
	Name() string

	// Alloc returns a zero-filled tensor in this backend's memory.
	Alloc(shape ...int) (*tensor.Tensor, error)
	// Free releases a tensor's memory early; using it afterwards is an error.
	// Host backends may do nothing.
	Free(t *tensor.Tensor)
	// Upload copies host values into dst; len(src) == dst.Numel().
	Upload(dst *tensor.Tensor, src []float32) error
	// Download copies src's values into host memory; len(dst) == src.Numel().
	Download(dst []float32, src *tensor.Tensor) error

	// Gemm: c = alpha*op(a)*op(b) + beta*c, op(a) (M,K), op(b) (K,N), c (M,N).
	// a is stored (M,K), or (K,M) when transA; b is (K,N), or (N,K) when transB.
	// beta == 0 overwrites c without reading it (NaN in c does not propagate).
	Gemm(c, a, b *tensor.Tensor, transA, transB bool, alpha, beta float32) error

	// Conv2d: y = conv(x, w) + b.
	// y: (N, Co, Ho, Wo), x: (N, Ci, H, W), w: (Co, Ci, KH, KW), b: (Co) or nil;
	// Ho = (H + 2*PadH - KH)/StrideH + 1, likewise Wo.
	Conv2d(y, x, w, b *tensor.Tensor, p ConvParams) error
	// Conv2dBackwardData: dx += d conv / dx applied to dy.
	// dx: (N, Ci, H, W), dy: (N, Co, Ho, Wo), w: (Co, Ci, KH, KW).
	Conv2dBackwardData(dx, dy, w *tensor.Tensor, p ConvParams) error
	// Conv2dBackwardFilter: dw += d conv / dw applied to dy; db += sum of dy
	// over (N, Ho, Wo) when db is not nil.
	// dw: (Co, Ci, KH, KW), db: (Co) or nil, dy: (N, Co, Ho, Wo), x: (N, Ci, H, W).
	Conv2dBackwardFilter(dw, db, dy, x *tensor.Tensor, p ConvParams) error

	// ConvTranspose2d with kernel == stride (non-overlapping up-sampling):
	// y[n, co, h*KH+i, w*KW+j] = sum_ci x[n, ci, h, w] * w[ci, co, i, j] + b[co].
	// y: (N, Co, H*KH, W*KW), x: (N, Ci, H, W), w: (Ci, Co, KH, KW), b: (Co) or nil.
	ConvTranspose2d(y, x, w, b *tensor.Tensor) error
	// ConvTranspose2dBackwardData: dx += ...; dx: (N, Ci, H, W), dy: (N, Co, H*KH, W*KW).
	ConvTranspose2dBackwardData(dx, dy, w *tensor.Tensor) error
	// ConvTranspose2dBackwardFilter: dw += ..., db += sum dy over (N, H, W) unless nil.
	ConvTranspose2dBackwardFilter(dw, db, dy, x *tensor.Tensor) error

	// BiasAdd: y[n, c, ...] += b[c]. y: (N, C, H, W), b: (C).
	BiasAdd(y, b *tensor.Tensor) error
	// BiasGrad: db[c] += sum over (N, H, W) of dy[n, c, h, w].
	BiasGrad(db, dy *tensor.Tensor) error

	// InstanceNorm normalises each (n, c) plane over (H, W) with the biased
	// variance, then applies the affine gamma, beta (nil gamma/beta: identity).
	// Saves the statistics for the backward pass.
	// y, x: (N, C, H, W); mean, rstd: (N, C) outputs, rstd = 1/sqrt(var+eps); gamma, beta: (C) or nil.
	InstanceNorm(y, mean, rstd, x, gamma, beta *tensor.Tensor, eps float32) error
	// InstanceNormBackward accumulates dx and, when not nil, dgamma and dbeta.
	// dx, dy, x: (N, C, H, W); mean, rstd: (N, C); gamma, dgamma, dbeta: (C) or nil.
	InstanceNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *tensor.Tensor) error

	// BatchNormTrain normalises each channel over (N, H, W) with the batch's
	// biased variance; mean, rstd: (C) outputs. The caller updates running stats.
	BatchNormTrain(y, mean, rstd, x, gamma, beta *tensor.Tensor, eps float32) error
	// BatchNormTrainBackward accumulates dx and, when not nil, dgamma and dbeta.
	BatchNormTrainBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *tensor.Tensor) error
	// BatchNormFrozen applies fixed statistics (eval mode):
	// y = (x - runMean[c]) / sqrt(runVar[c] + eps) * gamma[c] + beta[c].
	// y, x: (N, C, H, W); runMean, runVar: (C); gamma, beta: (C) or nil.
	BatchNormFrozen(y, x, runMean, runVar, gamma, beta *tensor.Tensor, eps float32) error
	// BatchNormFrozenBackwardData: dx += dy * gamma[c] / sqrt(runVar[c] + eps).
	BatchNormFrozenBackwardData(dx, dy, runVar, gamma *tensor.Tensor, eps float32) error

	// LeakyReLU: y = x if x > 0 else slope*x. y and x may be the same tensor.
	LeakyReLU(y, x *tensor.Tensor, slope float32) error
	// LeakyReLUBackward: dx += dy * (1 if y > 0 else slope), where y is the
	// forward OUTPUT (for slope > 0 it has the sign of the input, so the
	// forward pass may run in place).
	LeakyReLUBackward(dx, dy, y *tensor.Tensor, slope float32) error

	// Concat joins tensors along dim 1 (channels): y: (N, sum Ci, H, W), xs[i]: (N, Ci, H, W).
	Concat(y *tensor.Tensor, xs []*tensor.Tensor) error
	// ConcatBackward: dxs[i] += the channel slice of dy for input i. Every
	// part must be given (its shape says where its slice starts); callers
	// pass scratch buffers for parts that take no gradient.
	ConcatBackward(dxs []*tensor.Tensor, dy *tensor.Tensor) error

	// Add: y = a + b, same shapes. y may alias a or b.
	Add(y, a, b *tensor.Tensor) error
	// Scale: y = s*x. y may alias x.
	Scale(y, x *tensor.Tensor, s float32) error
	// Axpy: y += a*x.
	Axpy(y, x *tensor.Tensor, a float32) error
	// Fill: y = v everywhere.
	Fill(y *tensor.Tensor, v float32) error
	// Copy: y = x, same number of elements.
	Copy(y, x *tensor.Tensor) error

	// Softmax over dim 1: p, x: (N, K, H, W).
	Softmax(p, x *tensor.Tensor) error
	// SoftmaxBackward: dx += p * (dp - sum_k dp*p).
	SoftmaxBackward(dx, dp, p *tensor.Tensor) error
	// SoftmaxCrossEntropy computes p = softmax(x) over dim 1 and returns the
	// mean over (N, H, W) of -log p[target]. target: (N, 1, H, W) holding class
	// indices 0..K-1 as float32. An index out of range is an error.
	SoftmaxCrossEntropy(p, x, target *tensor.Tensor) (float64, error)
	// SoftmaxCrossEntropyBackward: dx += scale * (p - onehot(target)) / (N*H*W).
	SoftmaxCrossEntropyBackward(dx, p, target *tensor.Tensor, scale float32) error
	// DiceSums computes, for each class k, over (N, H, W) ("batch Dice"):
	// tp[k] = sum p*[t==k], ps[k] = sum p, ts[k] = count of t==k.
	// tp, ps, ts: (K), p: (N, K, H, W), target: (N, 1, H, W).
	DiceSums(tp, ps, ts, p, target *tensor.Tensor) error
	// DiceSumsBackward: dp[n,k,h,w] += dtp[k]*[t==k] + dps[k]. dtp, dps: (K).
	DiceSumsBackward(dp, target, dtp, dps *tensor.Tensor) error
	// MSE returns mean((a-b)^2) over all elements.
	MSE(a, b *tensor.Tensor) (float64, error)
	// MSEBackward: da += scale*2*(a-b)/n; db -= the same unless db is nil.
	MSEBackward(da, db, a, b *tensor.Tensor, scale float32) error

	// Sum returns the sum of all elements (accumulated in float64 or better).
	Sum(x *tensor.Tensor) (float64, error)
	// SumSquares returns the sum of squares of all elements.
	SumSquares(x *tensor.Tensor) (float64, error)

	// SGDNesterov updates w in place (PyTorch semantics): g' = g + wd*w;
	// v = momentum*v + g'; w -= lr*(g' + momentum*v). w, g, v: same length.
	SGDNesterov(w, v, g *tensor.Tensor, lr, momentum, weightDecay float32) error
	// AdamW updates w in place (decoupled weight decay, PyTorch semantics):
	// w -= lr*wd*w; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
	// w -= lr * (m/(1-b1^step)) / (sqrt(v/(1-b2^step)) + eps). step counts from 1.
	AdamW(w, m, v, g *tensor.Tensor, lr, beta1, beta2, eps, weightDecay float32, step int) error
}
