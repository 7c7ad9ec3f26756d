package cpu

import (
	"math/bits"
	"sync"
)

// Winograd F(4x4, 3x3) (Lavin and Gray, section 4.2) for the forward and
// backward-data passes of 3x3 stride-1 convolutions on the avx512 path,
// FP32. A 4x4 output tile of one channel pair is
//
//	Y = A^T [ (G g G^T) .* (B^T d B) ] A
//
// for its 6x6 input patch d: 36 products for 16 outputs, against F(2x2,
// 3x3)'s 16 for 4 (conv_winograd.go), so the tile products (the 36 GEMMs)
// are 0.5625 of F(2x2)'s. The interpolation points are 0, 1, -1, 2, -2 and
// infinity:
//
//	B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
//	       0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//	G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
//	       1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//	A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
//
// The transforms scale by up to 5 (B) and 8 (A), so the results carry more
// rounding than F(2x2)'s (TestWinograd4Error measures both against a
// float64 sum). Everything else is conv_winograd.go's: the same job, blocks
// of tiles and chunks of channels, the same packed tile products; only the
// transforms and the image's phases differ. The input image is copied in
// four column phases (column 4q+b of the padded image to phase b, index
// q), so that lane l of a 16-tile kernel reads tile l's columns at l, l+1.
//
// The input and output transforms run in AVX-512 kernels over 16 tiles
// (winoInput4KernelZ, winoOutput4KernelZ); winoF4InputTile and
// winoF4OutputTile are the same operations in Go, for the tests. Short runs
// (tile rows under 16 tiles, their ends, the blocks' ends) go through the
// kernels too, their stores masked to the run's lanes and the image's
// rows and columns; planes 8 tiles wide take two tile rows per 16 lanes.
// The weights are transformed in Go, in float64, rounded once.

// useWino4 switches F(4x4, 3x3) on where wino4Worth picks it (off: every
// Winograd layer takes F(2x2, 3x3); kept for the old/new benchmark).
var useWino4 = true

// wino4Worth reports whether a Winograd forward or backward-data pass
// (winogradWorth) takes F(4x4, 3x3): on the avx512 path, outputs at least
// wino4MinWidth wide. Always in FP32: in BF16 runs (bf16) too, unless
// wino4FP32 is off, since F(4x4)'s transforms amplify bfloat16's rounding
// past use (RESULTS section 10) and FP32 F(4x4) runs faster there than
// F(2x2) on bfloat16 pairs. (The weight gradient in BF16 keeps its BF16
// forms: wino4FilterWorth.)
func wino4Worth(bf16 bool, ow int) bool {
	return useWino4 && wideWino() && (!bf16 || wino4FP32) && ow >= wino4MinWidth
}

// wino4FP32: BF16 runs take F(4x4, 3x3)'s forward and backward-data in
// FP32 where FP32 runs take them (off: F(2x2) on bfloat16 pairs; for the
// old/new benchmark and the F(2x2) BF16 tests).
var wino4FP32 = true

// wino4MinWidth is the narrowest output whose forward and backward-data
// take F(4x4, 3x3): planes 8 tiles wide (32) run two tile rows per 16
// lanes, 1.3-1.5x F(2x2) on the U-Nets' 32x32 layers; 16 wide (4 tiles a
// row, 4 lanes of 16 used) ran 0.4-0.8x (BenchmarkConv3x3Algo, W4MIN).
var wino4MinWidth = 32

// Tiles per block: V's chunk (36 x kc x block floats) at most 36 x
// wino4BlockFloats, 32 (two panels: the 12x32 GEMM tile) to winoMaxBlock
// tiles; channels per chunk at most wino4KC.
var wino4BlockFloats, wino4KC = 4096, 128

func wino4BlockFor(kc int) int {
	return max(2*gemmNR, min(winoMaxBlock, wino4BlockFloats/kc/gemmNR*gemmNR))
}

// winoF4InRow is the 1D transform B^T of six values: winoInput4KernelZ's
// operations in its order (products by 4 and 2 are exact; the product by 5
// is rounded before the subtraction, float32() keeps it from fusing).
func winoF4InRow(d [6]float32) [6]float32 {
	a, b := d[4]-4*d[2], d[3]-4*d[1]
	c, f := d[4]-d[2], d[3]-d[1]
	return [6]float32{
		float32(d[4]-float32(5*d[2])) + 4*d[0],
		a + b, a - b,
		c + 2*f, c - 2*f,
		float32(d[5]-float32(5*d[3])) + 4*d[1],
	}
}

// winoF4OutRow is the 1D transform A^T of six values: winoOutput4KernelZ's
// operations in its order (the products by 2, 4 and 8 are exact).
func winoF4OutRow(m [6]float32) [4]float32 {
	s1, d1, s2, d2 := m[1]+m[2], m[1]-m[2], m[3]+m[4], m[3]-m[4]
	return [4]float32{(m[0] + s1) + s2, d1 + 2*d2, s1 + 4*s2, (d1 + 8*d2) + m[5]}
}

// winoF4InputTile writes V = B^T d B of one tile to v[xi*xs], xi = 6r+q,
// for the patch d[i][j] = at(i, j): rows first (along j), then columns.
func winoF4InputTile(v []float32, xs int, at func(i, j int) float32) {
	var e [6][6]float32
	for i := 0; i < 6; i++ {
		e[i] = winoF4InRow([6]float32{at(i, 0), at(i, 1), at(i, 2), at(i, 3), at(i, 4), at(i, 5)})
	}
	for q := 0; q < 6; q++ {
		col := winoF4InRow([6]float32{e[0][q], e[1][q], e[2][q], e[3][q], e[4][q], e[5][q]})
		for r := 0; r < 6; r++ {
			v[(6*r+q)*xs] = col[r]
		}
	}
}

// winoF4OutputTile returns Y = A^T M A + bias of one tile, M[xi] =
// m[xi*xs]: columns first (along the rows of M), then rows, the bias last.
func winoF4OutputTile(m []float32, xs int, bias float32) [4][4]float32 {
	var t [4][6]float32
	for q := 0; q < 6; q++ {
		c := winoF4OutRow([6]float32{m[q*xs], m[(6+q)*xs], m[(12+q)*xs], m[(18+q)*xs], m[(24+q)*xs], m[(30+q)*xs]})
		for r := 0; r < 4; r++ {
			t[r][q] = c[r]
		}
	}
	var y [4][4]float32
	for r := 0; r < 4; r++ {
		row := winoF4OutRow(t[r])
		for c := 0; c < 4; c++ {
			y[r][c] = row[c] + bias
		}
	}
	return y
}

// winoF4Weights writes U = G g G^T of the 3x3 kernel g (taps back to front
// when flip) to u[xi*xs], in float64, rounded once.
func winoF4Weights(u []float32, xs int, w []float32, flip bool) {
	w = w[:9]
	var g [9]float64
	if flip {
		for t := range g {
			g[t] = float64(w[8-t])
		}
	} else {
		for t := range g {
			g[t] = float64(w[t])
		}
	}
	var a [6][3]float64 // G g, column by column
	for q := 0; q < 3; q++ {
		x, y, z := g[q], g[3+q], g[6+q]
		s, h := x+z, (0.25*x+z)*sixth
		a[0][q], a[1][q], a[2][q] = 0.25*x, -(s+y)*sixth, -(s-y)*sixth
		a[3][q], a[4][q], a[5][q] = h+y*twelfth, h-y*twelfth, z
	}
	_ = u[35*xs]
	for r := 0; r < 6; r++ {
		x, y, z := a[r][0], a[r][1], a[r][2]
		s, h := x+z, (0.25*x+z)*sixth
		o := 6 * r * xs
		u[o] = float32(0.25 * x)
		u[o+xs] = float32(-(s + y) * sixth)
		u[o+2*xs] = float32(-(s - y) * sixth)
		u[o+3*xs] = float32(h + y*twelfth)
		u[o+4*xs] = float32(h - y*twelfth)
		u[o+5*xs] = float32(z)
	}
}

const sixth, twelfth = 1.0 / 6, 1.0 / 12

// winograd4Weights is winogradWeights for F(4x4, 3x3): U into up as the
// GEMM's A panels, up[((xi*m6/6 + i/6)*k + c)*6 + i%6], rows past m zero.
func winograd4Weights(threads int, up []float32, m, k int, w []float32, transposed bool) {
	rows := m6(m)
	parts := min(threads, rows/gemmMR, max(1, 36*rows*k*4/minParallel))
	j := wino4WeightJobs.Get().(*wino4WeightJob)
	j.up, j.m, j.k, j.w, j.transposed = up, m, k, w, transposed
	runParts(j, parts, &j.done)
	*j = wino4WeightJob{}
	wino4WeightJobs.Put(j)
}

type wino4WeightJob struct {
	up         []float32
	m, k       int
	w          []float32
	transposed bool
	done       partsDone
}

var wino4WeightJobs = sync.Pool{New: func() any { return new(wino4WeightJob) }}

// runPart transforms the kernels of its panels in runs of wino4WeightRun
// channels through a local buffer, so that each of the 36 strided rows of
// up is written a run (whole cache lines) at a time.
func (j *wino4WeightJob) runPart(part, parts int) {
	rows := m6(j.m)
	lo, hi := partRange(rows/gemmMR, 1, part, parts)
	xs := rows * j.k
	var buf [36 * wino4WeightRun * gemmMR]float32 // (xi, c - c0, r)
	const bxs = wino4WeightRun * gemmMR
	for p := lo; p < hi; p++ {
		for c0 := 0; c0 < j.k; c0 += wino4WeightRun {
			n := min(wino4WeightRun, j.k-c0)
			for c := c0; c < c0+n; c++ {
				for r := 0; r < gemmMR; r++ {
					i := p*gemmMR + r
					o := (c-c0)*gemmMR + r
					switch {
					case i >= j.m:
						for xi := 0; xi < 36; xi++ {
							buf[xi*bxs+o] = 0
						}
					case j.transposed:
						// w is (k, m, 3, 3): kernel (i, c) is w[c][i] flipped.
						winoF4Weights(buf[o:], bxs, j.w[(c*j.m+i)*9:], true)
					default:
						winoF4Weights(buf[o:], bxs, j.w[(i*j.k+c)*9:], false)
					}
				}
			}
			for xi := 0; xi < 36; xi++ {
				copy(j.up[xi*xs+(p*j.k+c0)*gemmMR:][:n*gemmMR], buf[xi*bxs:][:n*gemmMR])
			}
		}
	}
}

// wino4WeightRun is the channels per run of wino4WeightJob.runPart: 8
// channels of a 6-row panel are 48 floats, three cache lines.
const wino4WeightRun = 8

// wino4Job is one F(4x4, 3x3) convolution of a group of samples: src's
// phase planes are a channel's four column phases (phasedImage with
// strides 1, 4), tiles ceil(oh/4) x ceil(ow/4), 36 transformed positions.
type wino4Job struct{ winoTiles }

var wino4Jobs = sync.Pool{New: func() any { return new(wino4Job) }}

// wino4TmpFloats is the scratch of the transform kernels, 36 x 16 floats.
const wino4TmpFloats = 36 * 16

// scratchFloats: a V chunk, the block's M (16 floats of slack: a run's
// kernel reads 16 lanes), the kernels' scratch; V's and M's strides
// between positions xi are unaliased (up to 31 floats more each).
func (j *wino4Job) scratchFloats() int {
	return 36*(j.block*(j.kc+m6(j.m))+64) + 16 + wino4TmpFloats
}

// strides of V and M between positions xi: an odd number of cache lines
// (unaliased), so that a transform's 36 rows do not fall on one L1 set.
func (j *wino4Job) strides(panels, kc int) (vxs, mxs int) {
	return unaliased(panels*kc*gemmNR, 16), unaliased(m6(j.m)*j.block, 16)
}

func (j *wino4Job) run(threads int) { j.start(j, threads) }

func (j *wino4Job) runPart(part, parts int) { j.forBlocks(part, j.runBlock) }

func (j *wino4Job) runBlock(scratch []float32, t0, live int) {
	nt := j.block
	panels := (live + gemmNR - 1) / gemmNR
	vn, mn := 36*(j.kc*nt+32), 36*(m6(j.m)*nt+32)+16
	v, mm, tmp := scratch[:vn], scratch[vn:][:mn], scratch[vn+mn:]
	_, mxs := j.strides(panels, j.kc)
	for k0 := 0; k0 < j.k; k0 += j.kc {
		kc := min(j.kc, j.k-k0)
		vxs, _ := j.strides(panels, kc)
		j.transformInput(v, vxs, tmp, k0, kc, t0, live, panels)
		winoProducts(36, j.up, j.m, j.k, v, vxs, mm, mxs, k0, kc, panels, nt)
	}
	j.transformOutput(tmp, mm, t0, live, mxs)
}

// transformInput writes V = B^T d B for channels [k0, k0+kc) of the live
// tiles from t0 into v as GEMM B panels, v[xi*xs + (t/16*kc + c)*16 +
// t%16]; lanes past the live tiles are zero. Runs of up to 16 tiles along a
// tile row, within a panel, go through the kernel, its stores masked to
// the run's lanes.
func (j *wino4Job) transformInput(v []float32, xs int, tmp []float32, k0, kc, t0, live, panels int) {
	v = v[:35*xs+panels*kc*gemmNR]
	kt := tmp[len(tmp)-36*16:]
	tiles := j.th * j.tw
	for tt := 0; tt < panels*gemmNR; {
		off := tt/gemmNR*kc*gemmNR + tt%gemmNR
		if tt >= live {
			for c := 0; c < kc; c++ {
				for xi := 0; xi < 36; xi++ {
					v[xi*xs+off+c*gemmNR] = 0
				}
			}
			tt++
			continue
		}
		n, t := (t0+tt)/tiles, (t0+tt)%tiles
		ty, tx := t/j.tw, t%j.tw
		src := j.src[n*j.srcStride+k0*4*j.ps+4*ty*j.g+tx:]
		if j.pairRows(tt, t, live) {
			winoInput4(kc, v[off:], gemmNR, xs, src, 4*j.ps, j.g, j.ps, kt, 0xffff, 4*j.g)
			tt += 16
			continue
		}
		r := min(j.tw-tx, live-tt, gemmNR-tt%gemmNR)
		winoInput4(kc, v[off:], gemmNR, xs, src, 4*j.ps, j.g, j.ps, kt, 1<<r-1, 0)
		tt += r
	}
}

// winoInput4 runs winoInput4KernelZ on n channels of the tiles set in mask
// (bit l: the tile at lane l) from src (phase 0, tile row 0, tile 0); it
// reads all 16 lanes. hi > 0: lanes 8-15 read hi floats after lanes 0-7
// (winoInput4KernelZS: two tile rows of 8 tiles).
func winoInput4(n int, v []float32, vStep, xs int, src []float32, srcStep, g, ps int, kt []float32, mask, hi int) {
	if n == 0 {
		return
	}
	_, _, _ = v[(n-1)*vStep+35*xs+bits.Len16(uint16(mask))-1], src[(n-1)*srcStep+3*ps+5*g+16], kt[36*16-1]
	if hi > 0 {
		_ = src[(n-1)*srcStep+3*ps+5*g+hi+8]
		winoInput4KernelZS(n, &v[0], vStep, xs, &src[0], srcStep, g, ps, &kt[0], mask, hi)
		return
	}
	winoInput4KernelZ(n, &v[0], vStep, xs, &src[0], srcStep, g, ps, &kt[0], mask)
}

// transformOutput writes Y = A^T M A (+ bias) for the live tiles from t0 in
// runs of up to 16 tiles along a tile row, or pairs of 8-tile rows, the
// kernel's stores masked to the tiles' rows and columns inside the image.
func (j *wino4Job) transformOutput(tmp, mm []float32, t0, live, xs int) {
	nt := j.block
	plane := j.oh * j.ow
	bias, biasStep := j.bias, 1
	if bias == nil {
		bias, biasStep = winoZero[:], 0
	}
	kt := tmp[len(tmp)-36*16:]
	tiles := j.th * j.tw
	for tt := 0; tt < live; {
		n, t := (t0+tt)/tiles, (t0+tt)%tiles
		oy, ox := 4*(t/j.tw), 4*(t%j.tw)
		y := j.out[n*j.outStride+oy*j.ow+ox:]
		if j.pairRows(tt, t, live) && oy+8 <= j.oh {
			cols := min(32, j.ow)
			mask := 1<<cols - 1
			winoOutput4(j.m, y, plane, j.ow, mm[tt:], nt, xs, bias, biasStep, j.accumulate, kt, 4, mask|mask<<32, 4*j.ow)
			tt += 16
			continue
		}
		r := min(j.tw-ox/4, live-tt, gemmNR)
		cols := min(4*r, j.ow-ox)
		winoOutput4(j.m, y, plane, j.ow, mm[tt:], nt, xs, bias, biasStep, j.accumulate, kt, min(4, j.oh-oy), int(uint64(1)<<cols-1), 32)
		tt += r
	}
}

// pairRows reports whether the 16 tiles from tt (tile t of its sample) are
// two whole tile rows of 8, both live and of one sample: the split
// kernels' runs (planes 29 to 32 wide).
func (j *wino4Job) pairRows(tt, t, live int) bool {
	return wino4Pairs && j.tw == 8 && t%8 == 0 && tt%gemmNR == 0 && tt+gemmNR <= live && t+gemmNR <= j.th*j.tw
}

// wino4Pairs switches the split kernels on for planes 8 tiles wide (off:
// runs of 8 tiles, half the lanes; kept for the old/new benchmark).
var wino4Pairs = true

// winoOutput4 runs winoOutput4KernelZ on n channels of 16 tiles' M, writing
// the first rows (1..4) rows and the columns set in mask of their outputs,
// lanes 8-15's hi floats after lanes 0-7's.
func winoOutput4(n int, y []float32, yStep, ow int, m []float32, mStep, xs int, bias []float32, biasStep int, accumulate bool, kt []float32, rows, mask, hi int) {
	if n == 0 {
		return
	}
	last := bits.Len64(uint64(mask)) - 1 // the last column written
	if last >= 32 {
		last += hi - 32
	}
	_, _, _, _ = y[(n-1)*yStep+(rows-1)*ow+last], m[(n-1)*mStep+35*xs+15], bias[(n-1)*biasStep], kt[24*16-1]
	winoOutput4KernelZ(n, &y[0], yStep, ow, &m[0], mStep, xs, &bias[0], biasStep, boolInt(accumulate), &kt[0], rows, mask, hi)
}

// winograd4 is winograd (conv_winograd.go) by F(4x4, 3x3): forward when
// transposed is false, backward-data (accumulating into out) when true.
func (b *Backend) winograd4(out, src, w, bias []float32, n, k, ih, iw, m, oh, ow, ph, pw int, transposed bool) {
	ws := b.ws
	up := ws.getFloats(36 * m6(m) * k)
	winograd4Weights(b.threads, up, m, k, w, transposed)
	th, tw := (oh+3)/4, (ow+3)/4
	img := makePhasedImage(k, ih, iw, 1, 4, ph, pw, 4*th+2, 4*tw+2)
	per := img.size() + 16 // a short run's kernel reads 16 lanes past its tiles
	kc := min(k, wino4KC)
	block := wino4BlockFor(kc)
	spb := winoSamplesPerBlock(th*tw, block, n)
	group := min(n, roundUp(convSampleGroup(n, per, b.threads), spb))
	buf := ws.getFloats(group * per)
	j := wino4Jobs.Get().(*wino4Job)
	j.k, j.m, j.up, j.bias, j.accumulate = k, m, up, bias, transposed
	j.ps, j.g, j.th, j.tw, j.oh, j.ow = img.planeSize(), img.g, th, tw, oh, ow
	j.kc, j.spb, j.block = kc, spb, block
	j.src, j.srcStride, j.outStride = buf, per, m*oh*ow
	j.scratchPer = j.scratchFloats()
	j.scratch = ws.getFloats(b.threads * j.scratchPer)
	for n0 := 0; n0 < n; n0 += group {
		j.samples = min(group, n-n0)
		fillPhased(b.threads, img, buf, src[n0*k*ih*iw:], j.samples, per, k*ih*iw)
		j.out = out[n0*j.outStride:]
		j.run(b.threads)
	}
	ws.putFloats(j.scratch)
	*j = wino4Job{}
	wino4Jobs.Put(j)
	ws.putFloats(buf)
	ws.putFloats(up)
}
