package cpu

import (
	"math"
	"unsafe"
)

// BF16 GEMM: the operands rounded to bfloat16 (8 significant bits, float32's
// exponent range), their products summed in float32 by VDPBF16PS
// (AVX512_BF16), twice the multiply-adds per instruction of FP32 FMA. The
// packed panels are those of the FP32 GEMM with consecutive values of k
// paired: a uint32 holds the bfloat16 of an even k in its low half and of
// the next k in its high half (a zero high half when k is odd).
//
// The plain-Go versions below compute exactly what the instructions do for
// float32 inputs that are neither subnormal nor NaN: round to nearest even
// (VCVTNE2PS2BF16), then per lane acc += a_hi*b_hi; acc += a_lo*b_lo, each
// product exact in float32 (8-bit by 8-bit significands) and each sum
// rounded to nearest even. The instructions treat subnormal inputs as zero
// and flush subnormal sums to zero; bf16Round does the first, the sums do
// not, so the two differ only where a sum is below 2^-126 in magnitude.

// bf16Round is x rounded to the nearest bfloat16 (ties to even), as
// VCVTNE2PS2BF16 rounds it: a NaN stays a NaN (made quiet), a subnormal
// becomes a zero of its sign.
func bf16Round(x float32) uint16 {
	b := math.Float32bits(x)
	switch {
	case b&0x7fffffff > 0x7f800000: // NaN
		return uint16(b>>16) | 0x40
	case b&0x7f800000 == 0: // zero or subnormal
		return uint16(b>>16) & 0x8000
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// bf16Float is the float32 of a bfloat16.
func bf16Float(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// pairsGo is pairsKernel in Go: kp pairs of rows of width floats.
func pairsGo(kp int, dst []uint32, src []float32, width int) {
	for i := 0; i < kp; i++ {
		lo, hi := src[2*i*width:][:width], src[(2*i+1)*width:][:width]
		out := dst[i*width:][:width]
		for x := range out {
			out[x] = uint32(bf16Round(lo[x])) | uint32(bf16Round(hi[x]))<<16
		}
	}
}

// toPairs writes the k rows of width floats of a packed FP32 panel as
// ceil(k/2) rows of bfloat16 pairs; an odd last row pairs with zero.
func toPairs(dst []uint32, src []float32, k, width int) {
	kp := k / 2
	if kp > 0 {
		_, _ = dst[kp*width-1], src[2*kp*width-1]
		if useBF16Asm() {
			pairsKernel(kp, &dst[0], &src[0], width)
		} else {
			pairsGo(kp, dst, src, width)
		}
	}
	if k%2 == 1 {
		last, out := src[(k-1)*width:][:width], dst[kp*width:][:width]
		for x := range out {
			out[x] = uint32(bf16Round(last[x]))
		}
	}
}

// useBF16Asm: the AVX512_BF16 kernels run (else their Go versions, in tests).
func useBF16Asm() bool { return bf16Available && useAVX512 && useAsm }

// gemmKernelBGo is the BF16 12x32 tile in Go (see microGemmB).
func gemmKernelBGo(rows, kp int, a0, a1, b0, b1 []uint32, c []float32, ldc int, bias []float32, accumulate bool) {
	for r := 0; r < rows; r++ {
		a, rr := a0, r
		if r >= gemmMR {
			a, rr = a1, r-gemmMR
		}
		for j := 0; j < 2*gemmNR; j++ {
			b, jj := b0, j
			if j >= gemmNR {
				b, jj = b1, j-gemmNR
			}
			var acc float32
			for p := 0; p < kp; p++ {
				av, bv := a[p*gemmMR+rr], b[p*gemmNR+jj]
				acc += bf16Float(uint16(av>>16)) * bf16Float(uint16(bv>>16))
				acc += bf16Float(uint16(av)) * bf16Float(uint16(bv))
			}
			if bias != nil {
				acc += bias[r]
			}
			if accumulate {
				acc += c[r*ldc+j]
			}
			c[r*ldc+j] = acc
		}
	}
}

// microGemmB is the BF16 tile of rows (1-12) x 32 columns over pair panels
// a0 (rows 0-5), a1 (rows 6-11; not read when rows <= 6), b0 (columns
// 0-15), b1 (16-31), kp pairs deep: c[r*ldc+j] (+)= bias[r] + the sum.
func microGemmB(rows, kp int, a0, a1, b0, b1 []uint32, c []float32, ldc int, bias []float32, accumulate bool) {
	_, _, _, _ = a0[gemmMR*kp-1], b0[gemmNR*kp-1], b1[gemmNR*kp-1], c[(rows-1)*ldc+2*gemmNR-1]
	if rows > gemmMR {
		_ = a1[gemmMR*kp-1]
	} else {
		a1 = a0
	}
	if bias != nil {
		_ = bias[rows-1]
	}
	if !useBF16Asm() {
		gemmKernelBGo(rows, kp, a0, a1, b0, b1, c, ldc, bias, accumulate)
		return
	}
	var bp *float32
	if bias != nil {
		bp = &bias[0]
	}
	acc := boolInt(accumulate)
	pa0, pa1, pb0, pb1, pc := &a0[0], &a1[0], &b0[0], &b1[0], &c[0]
	switch rows {
	case 12:
		gemmKernelB12x32(kp, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 11:
		gemmKernelB11x32(kp, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 10:
		gemmKernelB10x32(kp, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 9:
		gemmKernelB9x32(kp, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 8:
		gemmKernelB8x32(kp, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 7:
		gemmKernelB7x32(kp, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 6:
		gemmKernelB6x32(kp, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 5:
		gemmKernelB5x32(kp, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 4:
		gemmKernelB4x32(kp, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 3:
		gemmKernelB3x32(kp, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 2:
		gemmKernelB2x32(kp, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 1:
		gemmKernelB1x32(kp, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	default:
		panic("cpu: microGemmB: rows out of 1..12")
	}
}

// u32 views a float32 scratch buffer as uint32 (the pair panels live in
// the workspace's float32 buffers).
func u32(f []float32) []uint32 {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&f[0])), len(f))
}

// blockBF16 is block (gemm.go) on BF16 pair panels: B is packed in FP32 as
// usual, padded to whole 32-column pairs of panels, and turned into pairs;
// likewise each A block; every tile is a 12x32 BF16 tile, the partial ones
// through a stack tile.
func (j *gemmJob) blockBF16(m0, m1, n0, n1, k0, k1 int, c []float32, ldc int, beta float32, bias []float32) {
	ncMax := min(gemmNC, roundUp(n1-n0, 2*gemmNR))
	kcMax := min(gemmKC, k1-k0)
	mcMax := min(gemmMC, roundUp(m1-m0, 2*gemmMR))
	bp := j.ws.getFloats(kcMax * ncMax)
	bpp := j.ws.getFloats((kcMax + 1) / 2 * ncMax)
	var ap, app []float32
	if j.apreB == nil {
		ap = j.ws.getFloats(kcMax * mcMax)
		app = j.ws.getFloats((kcMax + 1) / 2 * mcMax)
	}
	bPairs := u32(bpp)
	var edge [2 * gemmMR * 2 * gemmNR]float32
	for jc := n0; jc < n1; jc += gemmNC {
		nc := min(gemmNC, n1-jc)
		ncPad := roundUp(nc, 2*gemmNR)
		for pc := k0; pc < k1; pc += gemmKC {
			kc := min(gemmKC, k1-pc)
			kp := (kc + 1) / 2
			j.packB(bp, pc, kc, jc, nc)
			for jr := 0; jr < ncPad; jr += gemmNR {
				dst := bPairs[jr*kp : (jr+gemmNR)*kp]
				if jr >= roundUp(nc, gemmNR) {
					clear(dst) // the zero panel that completes the last pair
					continue
				}
				toPairs(dst, bp[jr*kc:(jr+gemmNR)*kc], kc, gemmNR)
			}
			accumulate := pc > k0 || beta != 0
			tileBias := bias
			if pc > k0 {
				tileBias = nil
			}
			for ic := m0; ic < m1; ic += gemmMC {
				mc := min(gemmMC, m1-ic)
				aPairs := u32(app)
				if j.apreB != nil {
					aPairs = j.apreB[pc/2*j.apreM+(j.apreRow+ic)*kp:]
				} else {
					j.packA(ap, ic, mc, pc, kc)
					for ir := 0; ir < mc; ir += gemmMR {
						toPairs(aPairs[ir*kp:(ir+gemmMR)*kp], ap[ir*kc:(ir+gemmMR)*kc], kc, gemmMR)
					}
				}
				for jr := 0; jr < nc; jr += 2 * gemmNR {
					nr := min(2*gemmNR, nc-jr)
					b0 := bPairs[jr*kp : (jr+gemmNR)*kp]
					b1 := bPairs[(jr+gemmNR)*kp : (jr+2*gemmNR)*kp]
					for ir := 0; ir < mc; ir += 2 * gemmMR {
						mr := min(2*gemmMR, mc-ir)
						a0 := aPairs[ir*kp : (ir+gemmMR)*kp]
						a1 := a0
						if mr > gemmMR {
							a1 = aPairs[(ir+gemmMR)*kp : (ir+2*gemmMR)*kp]
						}
						var rowBias []float32
						if tileBias != nil {
							rowBias = tileBias[ic+ir : ic+ir+mr]
						}
						off := (ic+ir)*ldc + jc + jr
						if j.pfOn {
							j.pf.next()
						}
						if nr == 2*gemmNR {
							microGemmB(mr, kp, a0, a1, b0, b1, c[off:], ldc, rowBias, accumulate)
							continue
						}
						microGemmB(mr, kp, a0, a1, b0, b1, edge[:], 2*gemmNR, rowBias, false)
						storeTile(c[off:], ldc, edge[:], 2*gemmNR, mr, nr, accumulate)
					}
				}
			}
		}
	}
	if app != nil {
		j.ws.putFloats(app)
		j.ws.putFloats(ap)
	}
	j.ws.putFloats(bpp)
	j.ws.putFloats(bp)
}

// u16 views a float32 scratch buffer as twice as many uint16.
func u16(f []float32) []uint16 {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&f[0])), 2*len(f))
}

// cvtBF16 rounds src to bfloat16 into dst (same length).
func cvtBF16(dst []uint16, src []float32) {
	_ = dst[len(src)-1]
	i := 0
	if useBF16Asm() {
		if i = len(src) &^ 31; i > 0 {
			cvtBF16Kernel(i, &dst[0], &src[0])
		}
		if r := len(src) - i; r > 0 {
			// The tail through the kernel too (same bits as bf16Round):
			// short rows (dy grids of small planes) are mostly tail.
			var in [32]float32
			var out [32]uint16
			copy(in[:], src[i:])
			cvtBF16Kernel(32, &out[0], &in[0])
			copy(dst[i:], out[:r])
			return
		}
	}
	for ; i < len(src); i++ {
		dst[i] = bf16Round(src[i])
	}
}

// microDotB is microDot for 8 rows of bfloat16 dy against bfloat16 x, n (a
// multiple of 32) pixels: out[j*ldo+r] += sum_q dy[r*ldy+q] * x[o_j+q], the
// products exact and summed in float32.
func microDotB(n int, dy []uint16, ldy int, x []uint16, o *[dotNR]int, out []float32, ldo int) {
	if n == 0 {
		return
	}
	if n%32 != 0 {
		panic("cpu: microDotB: n not a multiple of 32")
	}
	_ = dy[(2*dotMR-1)*ldy+n-1]
	_, _, _ = x[o[0]+n-1], x[o[1]+n-1], x[o[2]+n-1]
	_ = out[(dotNR-1)*ldo+2*dotMR-1]
	if useBF16Asm() {
		dotKernelB8x3(n, &dy[0], ldy, &x[0], o[0], o[1], o[2], &out[0], ldo)
		return
	}
	for r := 0; r < 2*dotMR; r++ {
		d := dy[r*ldy:][:n]
		for j := 0; j < dotNR; j++ {
			xs := x[o[j]:][:n]
			var acc float32
			for q, v := range d {
				acc += bf16Float(v) * bf16Float(xs[q])
			}
			out[j*ldo+r] += acc
		}
	}
}
