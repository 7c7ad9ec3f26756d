//go:build !amd64

package cpu

// No AVX-512 off amd64.
var avx512Available, bf16Available = false, false

func peakFMA256(n int) { panic("cpu: no peak probe on this architecture") }
func peakFMA512(n int) { panic("cpu: no peak probe on this architecture") }
func peakDPBF16(n int) { panic("cpu: no peak probe on this architecture") }

func gemmKernelZ12x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelZ12x32 has no assembly on this architecture")
}

func gemmKernelZ11x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelZ11x32 has no assembly on this architecture")
}

func gemmKernelZ10x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelZ10x32 has no assembly on this architecture")
}

func gemmKernelZ9x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelZ9x32 has no assembly on this architecture")
}

func gemmKernelZ8x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelZ8x32 has no assembly on this architecture")
}

func gemmKernelZ7x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelZ7x32 has no assembly on this architecture")
}

func gemmKernelZ6x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelZ6x32 has no assembly on this architecture")
}

func gemmKernelZ5x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelZ5x32 has no assembly on this architecture")
}

func gemmKernelZ4x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelZ4x32 has no assembly on this architecture")
}

func gemmKernelZ3x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelZ3x32 has no assembly on this architecture")
}

func gemmKernelZ2x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelZ2x32 has no assembly on this architecture")
}

func gemmKernelZ1x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelZ1x32 has no assembly on this architecture")
}

func dotKernelPZ8x3(rows, n int, x *float32, ldx int, dy *float32, o0, o1, o2, ldy int, out *float32, ldo, samples, dys int) {
	panic("cpu: dotKernelPZ8x3 has no assembly on this architecture")
}

func dotKernelZ8x3(n int, dy *float32, ldy int, x *float32, o0, o1, o2 int, out *float32, ldo int) {
	panic("cpu: dotKernelZ8x3 has no assembly on this architecture")
}

func gemmKernelB12x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelB12x32 has no assembly on this architecture")
}

func gemmKernelB11x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelB11x32 has no assembly on this architecture")
}

func gemmKernelB10x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelB10x32 has no assembly on this architecture")
}

func gemmKernelB9x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelB9x32 has no assembly on this architecture")
}

func gemmKernelB8x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelB8x32 has no assembly on this architecture")
}

func gemmKernelB7x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelB7x32 has no assembly on this architecture")
}

func gemmKernelB6x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelB6x32 has no assembly on this architecture")
}

func gemmKernelB5x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelB5x32 has no assembly on this architecture")
}

func gemmKernelB4x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelB4x32 has no assembly on this architecture")
}

func gemmKernelB3x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelB3x32 has no assembly on this architecture")
}

func gemmKernelB2x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelB2x32 has no assembly on this architecture")
}

func gemmKernelB1x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int) {
	panic("cpu: gemmKernelB1x32 has no assembly on this architecture")
}

func pairsKernel(kp int, dst *uint32, src *float32, width int) {
	panic("cpu: pairsKernel has no assembly on this architecture")
}

func dotKernelB8x3(n int, dy *uint16, ldy int, x *uint16, o0, o1, o2 int, out *float32, ldo int) {
	panic("cpu: dotKernelB8x3 has no assembly on this architecture")
}

func cvtBF16Kernel(n int, dst *uint16, src *float32) {
	panic("cpu: cvtBF16Kernel has no assembly on this architecture")
}

func winoInputKernelZ(n int, dst *float32, dstStep, xs int, src0, src1 *float32, srcStep, pitch int) {
	panic("cpu: winoInputKernelZ has no assembly on this architecture")
}

func winoGradKernelZ(n int, dst *float32, dstStep, xs int, src0, src1 *float32, srcStep, pitch int) {
	panic("cpu: winoGradKernelZ has no assembly on this architecture")
}

func winoOutputKernelZ(n int, y *float32, yStep, ow int, m *float32, mStep, xs int, bias *float32, biasStep int, accumulate int) {
	panic("cpu: winoOutputKernelZ has no assembly on this architecture")
}

func convKernelTZ4x48(k int, a *float32, offs *int, src0, src1, src2, c0, c1, c2 *float32, ldc int, bias *float32, accumulate, panels, astride, cstride int) {
	panic("cpu: convKernelTZ4x48 has no assembly on this architecture")
}

func convKernelPZ4x24(k int, a *float32, offs *int, src0, src1, src2, c0, c1, c2 *float32, ldc int, bias *float32, accumulate, panels, astride, cstride int) {
	panic("cpu: convKernelPZ4x24 has no assembly on this architecture")
}

func winoInput4KernelZ(n int, dst *float32, dstStep, xs int, src *float32, srcStep, pitch, ps int, tmp *float32, mask int) {
	panic("cpu: winoInput4KernelZ has no assembly on this architecture")
}

func winoOutput4KernelZ(n int, y *float32, yStep, ow int, m *float32, mStep, xs int, bias *float32, biasStep int, accumulate int, tmp *float32, rows, mask, hi int) {
	panic("cpu: winoOutput4KernelZ has no assembly on this architecture")
}

func deinterleave4KernelZ(rows, n int, src *float32, srcStep int, d0, d1, d2, d3 *float32, dstStep int) {
	panic("cpu: deinterleave4KernelZ has no assembly on this architecture")
}

func winoGrad4KernelZ(n int, dst *float32, dstStep, xs int, src *float32, srcStep, pitch, ps int, tmp *float32, mask int) {
	panic("cpu: winoGrad4KernelZ has no assembly on this architecture")
}

func winoInput4KernelZS(n int, dst *float32, dstStep, xs int, src *float32, srcStep, pitch, ps int, tmp *float32, mask, hi int) {
	panic("cpu: winoInput4KernelZS has no assembly on this architecture")
}

func winoGrad4KernelZS(n int, dst *float32, dstStep, xs int, src *float32, srcStep, pitch, ps int, tmp *float32, mask, hi int) {
	panic("cpu: winoGrad4KernelZS has no assembly on this architecture")
}

func deinterleave4x8KernelZ(rows int, src *float32, srcStep int, d0, d1, d2, d3 *float32, dstStep int) {
	panic("cpu: deinterleave4x8KernelZ has no assembly on this architecture")
}
