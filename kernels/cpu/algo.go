package cpu

import (
	"suture/kernels"
	"suture/tensor"
)

// convAlgo is the algorithm the fast path runs for one pass of one
// convolution. The dispatch in conv_fast.go and conv1x1_fast.go asks the
// functions below, so ConvAlgorithm names what actually runs.
type convAlgo uint8

const (
	algoReference  convAlgo = iota // the plain loops (cpu-ref)
	algoDirect                     // direct kernels over a phased image (conv_direct.go); backward-filter: dot products against it
	algoWinograd                   // Winograd F(2x2, 3x3) (conv_winograd.go)
	algoStrips                     // 1x1: pixel strips of the whole batch (conv1x1_batch.go)
	algoGemm                       // 1x1: one packed GEMM per sample
	algoDot                        // 1x1 weight gradient: dot products of rows read in place
	algoGemmCol2im                 // backward-data of other strides: packed GEMM + col2im
	algoGemmIm2col                 // forward and backward-filter of strided convs: packed GEMM on im2col panels (conv_im2col*.go)
	algoWinograd4                  // Winograd F(4x4, 3x3) (conv_winograd4.go)
)

var convAlgoNames = [...]string{"reference", "direct", "winograd", "strips", "gemm", "dot", "gemm+col2im", "gemm+im2col", "winograd4x4"}

func (a convAlgo) String() string { return convAlgoNames[a] }

// forwardAlgo picks the forward pass's algorithm.
func forwardAlgo(d convDims) convAlgo {
	switch {
	case d.isPointwise() && pointwiseFits(d.ci, d.h*d.w):
		return algoStrips
	case d.isPointwise():
		return algoGemm
	case d.winogradFits() && winogradWorth(d.ci, d.co, d.wo):
		return algoWinograd
	case (d.sh != 1 || d.sw != 1) && useIm2col:
		return algoGemmIm2col
	}
	return algoDirect
}

// useIm2col: strided forward passes take gemm+im2col (a switch for
// benchmarks). On the U-Net's stride-2 layers (16->32 to 256->320
// channels) it beat the direct kernels in FP32 by 4-40% and with bf16
// (the direct kernels have no BF16 form) by 45-140%
// (BenchmarkConv3x3s2ForwardOldNew, one thread).
var useIm2col = true

// forwardAlgo is forwardAlgo for this backend: F(4x4, 3x3) where
// wino4Worth picks it.
func (b *Backend) forwardAlgo(d convDims) convAlgo {
	if a := forwardAlgo(d); a != algoWinograd || !wino4Worth(b.bf16, d.wo) {
		return a
	}
	return algoWinograd4
}

// backwardDataAlgo is backwardDataAlgo for this backend (dx is the sum's
// output: its width picks).
func (b *Backend) backwardDataAlgo(d convDims) convAlgo {
	if a := backwardDataAlgo(d); a != algoWinograd || !wino4Worth(b.bf16, d.w) {
		return a
	}
	return algoWinograd4
}

// backwardDataAlgo picks backward-data's algorithm.
func backwardDataAlgo(d convDims) convAlgo {
	switch {
	case d.sh != 1 || d.sw != 1 || d.ph > d.kh-1 || d.pw > d.kw-1:
		return algoGemmCol2im
	case d.isPointwise() && pointwiseFits(d.co, d.h*d.w):
		return algoStrips
	case d.isPointwise():
		return algoGemm
	case d.winogradFits() && winogradWorth(d.co, d.ci, d.w):
		return algoWinograd
	}
	return algoDirect
}

// useIm2colFilter: strided backward-filter passes with at least
// im2colFilterMinCo output channels take gemm+im2col (a switch for
// benchmarks). On the U-Net's stride-2 layers from 32->64 channels it
// matched or beat the dot products (FP32 1.0-1.7x, BF16 0.9-1.8x at one
// thread; 1.04-1.8x FP32 at two); at 16->32 the dot products were faster
// in both precisions (FP32 87 against 72 GFLOP/s at one thread, 129
// against 97 at two; BF16 130 against 90), hence the least Co
// (BenchmarkConv3x3s2FilterOldNew, bench/isa-s2/kernel-ab*.txt).
var useIm2colFilter = true

var im2colFilterMinCo = 48

// im2colFilterS1: stride-1 weight gradients of small planes (at most
// im2colS1MaxPixels outputs) with many channel pairs (at least
// im2colS1MinPairs) take gemm+im2col too: their Winograd and dot sums run
// over few tiles per channel pair. Zen 5, batch 8, two threads, ms
// (BenchmarkConv3x3Algo with S1IM, bench/isa-s8/wgrad-small-planes*.txt):
// FP32 320x320 on 8x8 4.3-5.3 against Winograd's 6.3-6.6, 256x256 on 8x8
// 2.6-3.2 against 4.1-4.7, 512x512 on 4x4 4.1-4.7 against 10.9-11.6,
// 256x256 on 2x2 0.65-0.88 against 2.6-2.9; BF16, against the BF16 dot
// sums, 320x320 on 8x8 2.8-2.9 against 3.0-3.3 (three alternating rounds),
// 512x512 on 4x4 3.1-3.7 against 4.9-5.1. At 16x16 (256x256: 9.0-11.6
// against 8.0-8.9) they lose, and with fewer pairs (128x64 on 8x8) it is
// mixed. A variable for the benchmark.
var im2colFilterS1 = true

const im2colS1MaxPixels, im2colS1MinPairs = 64, 256 * 256 // a variable so tests can run every shape through gemm+im2col

// dotPaddedCo: 1x1 weight gradients of any Co take the dot products (dy
// copied into rows padded to a multiple of 4); off, Co not a multiple of 4
// takes the GEMM (kept for the old/new benchmark). The U-Net's 2-class head,
// 32 -> 2 on 128x128 planes, batch 8: 0.57-0.64 ms against 1.64-1.67 ms
// (Zen 5, BenchmarkConv1x1Filter, bench/isa-s3/conv1x1-filter-padded.txt).
var dotPaddedCo = true

// backwardFilterAlgo picks backward-filter's algorithm.
func backwardFilterAlgo(d convDims, bf16 bool) convAlgo {
	switch {
	case d.isPointwise() && (d.h*d.w)%convSeg == 0 && (d.co%dotMR == 0 || dotPaddedCo):
		return algoDot
	case d.isPointwise():
		return algoGemm
	case (d.sh != 1 || d.sw != 1) && useIm2colFilter && d.co >= im2colFilterMinCo:
		return algoGemmIm2col
	case im2colFilterS1 && d.ho*d.wo <= im2colS1MaxPixels && d.ci*d.co >= im2colS1MinPairs:
		return algoGemmIm2col
	case d.winogradFits() && wino4FilterWorth(d.ci, d.co, d.wo, bf16):
		return algoWinograd4
	case d.winogradFits() && winoFilterWorth(d.ci, d.co, d.wo, bf16):
		return algoWinograd
	}
	return algoDirect
}

// ConvAlgorithm implements kernels.ConvAlgorithms: the algorithm a pass of
// this convolution runs ("reference" on cpu-ref). Shapes it cannot run get
// the name of the check that will refuse them ("invalid").
func (b *Backend) ConvAlgorithm(pass kernels.ConvPass, x, w tensor.Shape, p kernels.ConvParams) string {
	if len(x) != 4 || len(w) != 4 || p.StrideH < 1 || p.StrideW < 1 {
		return "invalid"
	}
	if !b.fast {
		return algoReference.String()
	}
	d := makeConvDims(x, w, p)
	switch pass {
	case kernels.ConvForward:
		return b.forwardAlgo(d).String()
	case kernels.ConvBackwardData:
		return b.backwardDataAlgo(d).String()
	}
	return backwardFilterAlgo(d, b.bf16).String()
}

var _ kernels.ConvAlgorithms = (*Backend)(nil)

// ConvTransposeAlgorithm implements kernels.ConvTransposeAlgorithms. The
// 2x2 kernels (conv_transpose_2x2.go): "interleave" (forward stores y's
// rows interleaved), "pairs" (backward-data and backward-filter read dy in
// place, the kernel columns as lane pairs). Other kernels, and
// backward-filter on rows of W not a multiple of 4, run
// conv_transpose_fast.go: "direct+scatter", "direct+gather", "dot+gather".
func (b *Backend) ConvTransposeAlgorithm(pass kernels.ConvPass, x, w tensor.Shape) string {
	if len(x) != 4 || len(w) != 4 {
		return "invalid"
	}
	if !b.fast {
		return algoReference.String()
	}
	d := makeConvTDims(x, w)
	switch pass {
	case kernels.ConvForward:
		if t2Fits(d) {
			return "interleave"
		}
		return "direct+scatter"
	case kernels.ConvBackwardData:
		if t2Fits(d) {
			return "pairs"
		}
		return "direct+gather"
	}
	if t2FilterFits(d) {
		return "pairs"
	}
	return "dot+gather"
}

var _ kernels.ConvTransposeAlgorithms = (*Backend)(nil)
