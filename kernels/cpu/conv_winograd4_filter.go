package cpu

import "math/bits"

// The 3x3 stride-1 weight gradient by Winograd F(4x4, 3x3), on the avx512
// path in FP32: conv_winograd_filter.go's method with 4x4 tiles. With the
// forward tile Y = A^T [U .* V] A of conv_winograd4.go,
//
//	dg = G^T [ sum_t Z_t .* V_t ] G,   Z_t = A dY_t A^T
//
// for each tile's 4x4 output gradient dY_t (zero past the output's edge)
// and its transformed 6x6 input patch V_t: 36 sums over the tiles, each
// tile covering 16 output pixels, against F(2x2)'s 16 sums over tiles of
// 4. V is the forward's input transform (winoInput4KernelZ); Z is
// winoGrad4KernelZ on dy's four column phases; the sums are
// conv_winograd_filter.go's dot kernels and blocks; G^T S G is taken per
// channel pair in float64 (wfGradient4).

// wino4FilterWorth picks the layers whose weight gradient takes F(4x4,
// 3x3): FP32 on the avx512 path, at least 24 channels on both sides and
// outputs at least wino4FilterMinWidth wide.
func wino4FilterWorth(ci, co, ow int, bf16 bool) bool {
	return useWinograd && useWino4 && wideWino() && !bf16 && (winoAlways || min(ci, co) >= 24) && ow >= wino4FilterMinWidth
}

// wino4FilterMinWidth is the narrowest output whose weight gradient takes
// F(4x4, 3x3): on 64 and 128 wide planes it ran 1.1-1.4x F(2x2) and
// 1.5-1.9x the direct sums; on 32 wide ones, once their phase copies ran
// in vector runs of 8 (deinterleave4x8KernelZ), 1.0-1.2x F(2x2) (0.85-1.0x
// before) (BenchmarkConv3x3Algo, W4FMIN; bench/isa-s8).
var wino4FilterMinWidth = 32

// winoF4GradRow is the 1D transform A (6x4) of four values:
// winoGrad4KernelZ's operations in its order (the products by 2 and 4 are
// exact). A = [1 0 0 0; 1 1 1 1; 1 -1 1 -1; 1 2 4 8; 1 -2 4 -8; 0 0 0 1].
func winoF4GradRow(y [4]float32) [6]float32 {
	p, q := y[0]+y[2], y[1]+y[3]
	p2, q2 := y[0]+4*y[2], y[1]+4*y[3]
	return [6]float32{y[0], p + q, p - q, p2 + 2*q2, p2 - 2*q2, y[3]}
}

// winoF4GradTile writes Z = A dY A^T of one tile to z[xi*xs], xi = 6r+q,
// for dY[i][j] = at(i, j): rows first, then columns.
func winoF4GradTile(z []float32, xs int, at func(i, j int) float32) {
	var e [4][6]float32
	for i := 0; i < 4; i++ {
		e[i] = winoF4GradRow([4]float32{at(i, 0), at(i, 1), at(i, 2), at(i, 3)})
	}
	for q := 0; q < 6; q++ {
		col := winoF4GradRow([4]float32{e[0][q], e[1][q], e[2][q], e[3][q]})
		for r := 0; r < 6; r++ {
			z[(6*r+q)*xs] = col[r]
		}
	}
}

// winoGrad4 runs winoGrad4KernelZ on n channels of the tiles set in mask
// from src (phase 0, tile row 0, tile 0); it reads all 16 lanes. hi > 0:
// lanes 8-15 read hi floats after lanes 0-7 (winoGrad4KernelZS).
func winoGrad4(n int, z []float32, zStep, xs int, src []float32, srcStep, g, ps int, kt []float32, mask, hi int) {
	if n == 0 {
		return
	}
	_, _, _ = z[(n-1)*zStep+35*xs+bits.Len16(uint16(mask))-1], src[(n-1)*srcStep+3*ps+3*g+15], kt[24*16-1]
	if hi > 0 {
		_ = src[(n-1)*srcStep+3*ps+3*g+hi+7]
		winoGrad4KernelZS(n, &z[0], zStep, xs, &src[0], srcStep, g, ps, &kt[0], mask, hi)
		return
	}
	winoGrad4KernelZ(n, &z[0], zStep, xs, &src[0], srcStep, g, ps, &kt[0], mask)
}

// transforms4 is phase 0 of an F(4x4) block for the units [u0, u1): input
// channels (V) first, then output channels (Z), one channel at a time,
// each tile row's runs of 16 tiles through one kernel call (shorter runs
// masked).
func (j *wfJob) transforms4(u0, u1 int, kt []float32) {
	for u := u0; u < u1; u++ {
		if u < j.ci {
			j.transformRows4(j.v, j.xsV, wfImage{j.src, j.per, j.ps, j.g}, u, kt, winoInput4)
		} else {
			j.transformRows4(j.z, j.xsZ, wfImage{j.dyp, j.gPer, j.gps, j.gg}, u-j.ci, kt, winoGrad4)
		}
	}
}

// transformRows4 writes the transform of channel c of the block's tiles to
// dst[xi*xs + c*lq + t] from the four-phase image im; lanes past live are
// zero.
func (j *wfJob) transformRows4(dst []float32, xs int, im wfImage, c int, kt []float32,
	k func(n int, dst []float32, dstStep, xs int, src []float32, srcStep, g, ps int, kt []float32, mask, hi int)) {
	tiles := j.th * j.tw
	row := c * j.lq
	for tt := 0; tt < j.lq; {
		off := row + tt
		if tt >= j.live {
			for xi := 0; xi < 36; xi++ {
				clear(dst[xi*xs+off : xi*xs+row+j.lq])
			}
			return
		}
		u := j.u0 + tt
		s, t := u/tiles, u%tiles
		ty, tx := t/j.tw, t%j.tw
		src := im.src[s*im.per+c*4*im.ps+4*ty*im.g+tx:]
		if wino4Pairs && j.tw == 8 && tx == 0 {
			// Pairs of 8-tile rows: lanes 8-15 are the next tile row.
			if pairs := min(j.live-tt, tiles-t) / 16; pairs > 0 {
				k(pairs, dst[off:], 16, xs, src, 8*im.g, im.g, im.ps, kt, 0xffff, 4*im.g)
				tt += 16 * pairs
				continue
			}
		}
		r := min(j.tw-tx, j.live-tt)
		if r >= 16 {
			k(r/16, dst[off:], 16, xs, src, 16, im.g, im.ps, kt, 0xffff, 0)
			tt += r / 16 * 16
			continue
		}
		k(1, dst[off:], 16, xs, src, 16, im.g, im.ps, kt, 1<<r-1, 0)
		tt += r
	}
}

// wfGradient4 adds dg = G^T S G of each (co, ci) pair to dw (co, ci, 3,
// 3), S[xi] = s[(xi*kPad + ci)*ldw + co], in float64, rounded once, for the
// input channels [c0, c1); G is conv_winograd4.go's.
func wfGradient4(dw, s []float32, co, ci, c0, c1, kPad, ldw int) {
	xs := kPad * ldw
	// gt is G^T applied to six values.
	gt := func(v [6]float64) [3]float64 {
		p12, p34 := v[1]+v[2], v[3]+v[4]
		return [3]float64{0.25*v[0] - p12*sixth + p34/24, (v[2]-v[1])*sixth + (v[3]-v[4])*twelfth, (p34-p12)*sixth + v[5]}
	}
	var rows [36][]float32
	for c := c0; c < c1; c++ {
		for xi := range rows {
			rows[xi] = s[xi*xs+c*ldw:][:co]
		}
		for m := 0; m < co; m++ {
			var a [6][3]float64 // S G, row by row
			for r := 0; r < 6; r++ {
				a[r] = gt([6]float64{float64(rows[6*r][m]), float64(rows[6*r+1][m]), float64(rows[6*r+2][m]),
					float64(rows[6*r+3][m]), float64(rows[6*r+4][m]), float64(rows[6*r+5][m])})
			}
			g := dw[(m*ci+c)*9:][:9]
			for q := 0; q < 3; q++ {
				col := gt([6]float64{a[0][q], a[1][q], a[2][q], a[3][q], a[4][q], a[5][q]})
				for k := 0; k < 3; k++ {
					g[3*k+q] += float32(col[k])
				}
			}
		}
	}
}
