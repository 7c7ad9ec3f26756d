//go:build amd64

package cpu

import "golang.org/x/sys/cpu"

// avx512Available: the AVX-512 micro-kernels in fast_kernels_avx512_amd64.s
// can run here (they use F; BW and VL are asked for as the set every
// AVX-512 CPU since Skylake-SP has, so that later kernels may use them).
var avx512Available = asmAvailable && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL

// bf16Available: VDPBF16PS (AVX512_BF16) can run here.
var bf16Available = avx512Available && cpu.X86.HasAVX512BF16

// The peak probes: n rounds of ten independent register multiply-adds.
func peakFMA256(n int)
func peakFMA512(n int)
func peakDPBF16(n int)

//go:noescape
func gemmKernelZ12x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelZ11x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelZ10x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelZ9x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelZ8x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelZ7x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelZ6x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelZ5x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelZ4x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelZ3x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelZ2x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelZ1x32(k int, a0, a1, b0, b1, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func dotKernelPZ8x3(rows, n int, x *float32, ldx int, dy *float32, o0, o1, o2, ldy int, out *float32, ldo, samples, dys int)

//go:noescape
func dotKernelZ8x3(n int, dy *float32, ldy int, x *float32, o0, o1, o2 int, out *float32, ldo int)

//go:noescape
func gemmKernelB12x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelB11x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelB10x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelB9x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelB8x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelB7x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelB6x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelB5x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelB4x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelB3x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelB2x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernelB1x32(kp int, a0, a1, b0, b1 *uint32, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func pairsKernel(kp int, dst *uint32, src *float32, width int)

//go:noescape
func dotKernelB8x3(n int, dy *uint16, ldy int, x *uint16, o0, o1, o2 int, out *float32, ldo int)

//go:noescape
func cvtBF16Kernel(n int, dst *uint16, src *float32)

//go:noescape
func winoInputKernelZ(n int, dst *float32, dstStep, xs int, src0, src1 *float32, srcStep, pitch int)

//go:noescape
func winoGradKernelZ(n int, dst *float32, dstStep, xs int, src0, src1 *float32, srcStep, pitch int)

//go:noescape
func winoOutputKernelZ(n int, y *float32, yStep, ow int, m *float32, mStep, xs int, bias *float32, biasStep int, accumulate int)

//go:noescape
func convKernelTZ4x48(k int, a *float32, offs *int, src0, src1, src2, c0, c1, c2 *float32, ldc int, bias *float32, accumulate, panels, astride, cstride int)

//go:noescape
func convKernelPZ4x24(k int, a *float32, offs *int, src0, src1, src2, c0, c1, c2 *float32, ldc int, bias *float32, accumulate, panels, astride, cstride int)

//go:noescape
func winoInput4KernelZ(n int, dst *float32, dstStep, xs int, src *float32, srcStep, pitch, ps int, tmp *float32, mask int)

//go:noescape
func winoOutput4KernelZ(n int, y *float32, yStep, ow int, m *float32, mStep, xs int, bias *float32, biasStep int, accumulate int, tmp *float32, rows, mask, hi int)

//go:noescape
func deinterleave4KernelZ(rows, n int, src *float32, srcStep int, d0, d1, d2, d3 *float32, dstStep int)

//go:noescape
func winoGrad4KernelZ(n int, dst *float32, dstStep, xs int, src *float32, srcStep, pitch, ps int, tmp *float32, mask int)

//go:noescape
func winoInput4KernelZS(n int, dst *float32, dstStep, xs int, src *float32, srcStep, pitch, ps int, tmp *float32, mask, hi int)

//go:noescape
func winoGrad4KernelZS(n int, dst *float32, dstStep, xs int, src *float32, srcStep, pitch, ps int, tmp *float32, mask, hi int)

//go:noescape
func deinterleave4x8KernelZ(rows int, src *float32, srcStep int, d0, d1, d2, d3 *float32, dstStep int)
