//go:build amd64

package cpu

import "golang.org/x/sys/cpu"

//go:generate go run gen_asm.go
//go:generate go run gen_asm512.go

// asmAvailable: the AVX2+FMA micro-kernels in fast_kernels_amd64.s can run here.
var asmAvailable = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func gemmKernel6x16(k int, a, b, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernel5x16(k int, a, b, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernel4x16(k int, a, b, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernel3x16(k int, a, b, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernel2x16(k int, a, b, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func gemmKernel1x16(k int, a, b, c *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func convKernel4x24(k int, a *float32, offs *int, src0, src1, src2, c0, c1, c2 *float32, ldc int, bias *float32, accumulate int)

//go:noescape
func convKernelM4x24(k int, a *float32, offs *int, src0, src1, src2, c0, c1, c2 *float32, ldc int, bias *float32, accumulate, panels, astride, cstride int)

//go:noescape
func convKernelT4x24(k int, a *float32, offs *int, src0, src1, src2, c0, c1, c2 *float32, ldc int, bias *float32, accumulate, panels, astride, cstride int)

//go:noescape
func convKernelP4x12(k int, a *float32, offs *int, src0, src1, src2, c0, c1, c2 *float32, ldc int, bias *float32, accumulate, panels, astride, cstride int)

//go:noescape
func dotKernelP4x3(rows, n int, x *float32, ldx int, dy *float32, o0, o1, o2, ldy int, out *float32, ldo int)

//go:noescape
func dotKernel4x3(n int, dy *float32, ldy int, x *float32, o0, o1, o2 int, out *float32, ldo int)

//go:noescape
func leakyReLUKernel(n int, y, x *float32, slope float32)

//go:noescape
func leakyReLUBackwardKernel(n int, dx, dy, y *float32, slope float32)

//go:noescape
func winoInputKernel(n int, dst *float32, dstStep, xs int, src0, src1 *float32, srcStep, pitch int)

//go:noescape
func winoGradKernel(n int, dst *float32, dstStep, xs int, src0, src1 *float32, srcStep, pitch int)

//go:noescape
func winoOutputKernel(n int, y *float32, yStep, ow int, m *float32, mStep, xs int, bias *float32, biasStep int, accumulate int)

//go:noescape
func copyRowsKernel(rows, n int, dst *float32, dstStep int, src *float32, srcStep int)

//go:noescape
func deinterleaveKernel(rows, n int, src *float32, srcStep int, even, odd *float32, dstStep int)

//go:noescape
func evenKernel(n int, dst, src *float32)

//go:noescape
func winoWeightKernel(n int, up *float32, upStep, xs int, w *float32, wStep int)

//go:noescape
func winoWeightFlipKernel(n int, up *float32, upStep, xs int, w *float32, wStep int)

//go:noescape
func oddKernel(n int, dst, src *float32)

//go:noescape
func interleaveKernel(n int, dst, a, b *float32)

//go:noescape
func transposeKernel(n int, dst, src *float32, lds int)

//go:noescape
func tapRowsKernel(rows, n int, ev, od, sh *float32, ld int, src *float32, srcStep int)

//go:noescape
func col2imS2Kernel(n, rows int, dst *float32, dstStep int, r0, r1, r2 *float32, srcStep, last int)

//go:noescape
func normStatsKernel(n int, x *float32, shift float64, sums *float64)

//go:noescape
func normAffineKernel(n int, y, x *float32, scale, shift float32)

//go:noescape
func normGradSumsKernel(n int, dy, x *float32, mean, rstd float32, sums *float64)

//go:noescape
func normBackwardKernel(n int, dx, dy, x *float32, mean, rstd, gamma, mg, mgx float32)

//go:noescape
func axpyKernel(n int, y, x *float32, a float32)

//go:noescape
func axpyDiffKernel(n int, y, a, b *float32, f float32)

//go:noescape
func mseKernel(n int, a, b *float32, sums *float64)

//go:noescape
func sumKernel(n int, x *float32, sums *float64)

//go:noescape
func prefetchKernel(p *float32, n, count, step int)
