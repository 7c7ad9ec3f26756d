//go:build !amd64

package cpu

// asmAvailable is false off amd64: the plain-Go micro-kernels run instead.
var asmAvailable = false

func gemmKernel6x16(k int, a, b, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernel6x16 has no assembly on this architecture")
}

func gemmKernel5x16(k int, a, b, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernel5x16 has no assembly on this architecture")
}

func gemmKernel4x16(k int, a, b, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernel4x16 has no assembly on this architecture")
}

func gemmKernel3x16(k int, a, b, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernel3x16 has no assembly on this architecture")
}

func gemmKernel2x16(k int, a, b, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernel2x16 has no assembly on this architecture")
}

func gemmKernel1x16(k int, a, b, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernel1x16 has no assembly on this architecture")
}

func convKernel4x24(k int, a *float32, offs *int, src0, src1, src2, c0, c1, c2 *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: convKernel4x24 has no assembly on this architecture")
}

func convKernelM4x24(k int, a *float32, offs *int, src0, src1, src2, c0, c1, c2 *float32, ldc int, bias *float32, accumulate, panels, astride, cstride int) {
	panic("cpu: convKernelM4x24 has no assembly on this architecture")
}

func convKernelT4x24(k int, a *float32, offs *int, src0, src1, src2, c0, c1, c2 *float32, ldc int, bias *float32, accumulate, panels, astride, cstride int) {
	panic("cpu: convKernelT4x24 has no assembly on this architecture")
}

func convKernelP4x12(k int, a *float32, offs *int, src0, src1, src2, c0, c1, c2 *float32, ldc int, bias *float32, accumulate, panels, astride, cstride int) {
	panic("cpu: convKernelP4x12 has no assembly on this architecture")
}

func dotKernelP4x3(rows, n int, x *float32, ldx int, dy *float32, o0, o1, o2, ldy int, out *float32, ldo int) {
	panic("cpu: dotKernelP4x3 has no assembly on this architecture")
}

func dotKernel4x3(n int, dy *float32, ldy int, x *float32, o0, o1, o2 int, out *float32, ldo int) {
	panic("cpu: dotKernel4x3 has no assembly on this architecture")
}

func leakyReLUKernel(n int, y, x *float32, slope float32) {
	panic("cpu: leakyReLUKernel has no assembly on this architecture")
}

func leakyReLUBackwardKernel(n int, dx, dy, y *float32, slope float32) {
	panic("cpu: leakyReLUBackwardKernel has no assembly on this architecture")
}

func winoInputKernel(n int, dst *float32, dstStep, xs int, src0, src1 *float32, srcStep, pitch int) {
	panic("cpu: winoInputKernel has no assembly on this architecture")
}

func winoGradKernel(n int, dst *float32, dstStep, xs int, src0, src1 *float32, srcStep, pitch int) {
	panic("cpu: winoGradKernel has no assembly on this architecture")
}

func winoOutputKernel(n int, y *float32, yStep, ow int, m *float32, mStep, xs int, bias *float32, biasStep int, accumulate int) {
	panic("cpu: winoOutputKernel has no assembly on this architecture")
}

func copyRowsKernel(rows, n int, dst *float32, dstStep int, src *float32, srcStep int) {
	panic("cpu: copyRowsKernel has no assembly on this architecture")
}

func deinterleaveKernel(rows, n int, src *float32, srcStep int, even, odd *float32, dstStep int) {
	panic("cpu: deinterleaveKernel has no assembly on this architecture")
}

func tapRowsKernel(rows, n int, ev, od, sh *float32, ld int, src *float32, srcStep int) {
	panic("cpu: tapRowsKernel has no assembly on this architecture")
}

func transposeKernel(n int, dst, src *float32, lds int) {
	panic("cpu: transposeKernel has no assembly on this architecture")
}

func evenKernel(n int, dst, src *float32) {
	panic("cpu: evenKernel has no assembly on this architecture")
}

func winoWeightKernel(n int, up *float32, upStep, xs int, w *float32, wStep int) {
	panic("cpu: winoWeightKernel has no assembly on this architecture")
}

func winoWeightFlipKernel(n int, up *float32, upStep, xs int, w *float32, wStep int) {
	panic("cpu: winoWeightFlipKernel has no assembly on this architecture")
}

func oddKernel(n int, dst, src *float32) {
	panic("cpu: oddKernel has no assembly on this architecture")
}

func interleaveKernel(n int, dst, a, b *float32) {
	panic("cpu: interleaveKernel has no assembly on this architecture")
}

func col2imS2Kernel(n, rows int, dst *float32, dstStep int, r0, r1, r2 *float32, srcStep, last int) {
	panic("cpu: col2imS2Kernel has no assembly on this architecture")
}

func normStatsKernel(n int, x *float32, shift float64, sums *float64) {
	panic("cpu: normStatsKernel has no assembly on this architecture")
}

func normAffineKernel(n int, y, x *float32, scale, shift float32) {
	panic("cpu: normAffineKernel has no assembly on this architecture")
}

func normGradSumsKernel(n int, dy, x *float32, mean, rstd float32, sums *float64) {
	panic("cpu: normGradSumsKernel has no assembly on this architecture")
}

func normBackwardKernel(n int, dx, dy, x *float32, mean, rstd, gamma, mg, mgx float32) {
	panic("cpu: normBackwardKernel has no assembly on this architecture")
}

func axpyKernel(n int, y, x *float32, a float32) {
	panic("cpu: axpyKernel has no assembly on this architecture")
}

func axpyDiffKernel(n int, y, a, b *float32, f float32) {
	panic("cpu: axpyDiffKernel has no assembly on this architecture")
}

func mseKernel(n int, a, b *float32, sums *float64) {
	panic("cpu: mseKernel has no assembly on this architecture")
}

func sumKernel(n int, x *float32, sums *float64) {
	panic("cpu: sumKernel has no assembly on this architecture")
}

func prefetchKernel(p *float32, n, count, step int) {
	panic("cpu: prefetchKernel has no assembly on this architecture")
}
