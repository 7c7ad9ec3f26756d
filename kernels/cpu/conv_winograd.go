package cpu

import "sync"

// Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions (Lavin and Gray,
// "Fast Algorithms for Convolutional Neural Networks", 2016). A 2x2 output
// tile of one (input, output) channel pair is
//
//	Y = A^T [ (G g G^T) .* (B^T d B) ] A
//
// for its 4x4 input patch d and the 3x3 weights g: 16 multiplies instead of
// 36. Summed over the input channels the 16 element-wise products become 16
// independent GEMMs, one per position xi of the 4x4 transformed tile:
//
//	M[xi](m, t) = sum_k U[xi](m, k) * V[xi](k, t)
//
// U = G g G^T, the transformed weights, packed once per call as the GEMM's
// A panels; V = B^T d B, the transformed patches of the tiles t. Tiles are
// taken in blocks of winoBlock (a multiple of the GEMM's 16 columns), and
// input channels in chunks of at most winoKC, so that a block's V chunk and
// its M stay in L2; each part (goroutine) owns one scratch pair.
//
// Only the transforms differ from the plain sum, so results differ from it
// by rounding only (the transforms add and subtract at most four terms and
// scale by 1/2); every output element is computed the same way whichever
// part computes it, so results do not depend on the thread count.
//
// Forward is y = conv(x padded by p); stride-1 backward-data is
// dx += conv(dy padded by 2-p) with the flipped, transposed weights, the
// same identity as the direct path's (conv_fast.go).

// winoKC bounds the input channels per chunk of a block.
const winoKC = 128

// useWinograd switches the Winograd path on for the layers winogradWorth
// picks; tests switch it off to compare with the direct path.
var useWinograd = true

// winogradFits reports whether a conv of these dimensions is one Winograd
// F(2x2, 3x3) computes: 3x3, stride 1, padding at most 2 (so that
// backward-data's padding 2-p is not negative).
func (d convDims) winogradFits() bool {
	return d.kh == 3 && d.kw == 3 && d.sh == 1 && d.sw == 1 &&
		d.ph >= 0 && d.ph <= 2 && d.pw >= 0 && d.pw <= 2 && d.ho > 0 && d.wo > 0
}

// winogradWorth picks the layers where the Winograd path is faster than the
// direct one (BenchmarkConv3x3Algo, bench/RESULTS.md section 3): at least 24
// channels on both sides, so that the GEMMs outweigh the transforms (24x24
// on 128x128 planes: 1.25x forward, 1.35x backward-data), and outputs at
// least 2 wide: with the short runs' vector transforms and samples sharing
// blocks, 8x8 planes ran 1.5-1.9x, 4x4 2.4-3x (128, 256 channels), 2x2 1.8x
// (128 channels), one thread, batch 8 (same-process runs on a shared
// machine). k: input channels of the sum (Ci forward, Co backward-data); m:
// its outputs; ow: output width.
func winogradWorth(k, m, ow int) bool {
	return useWinograd && (winoAlways || min(k, m) >= 24 && ow >= 2)
}

// winoAlways makes winogradWorth pick every layer that fits (tests).
var winoAlways = false

func m6(m int) int { return roundUp(m, gemmMR) }

// Tiles per block: V's chunk (16 x kc x block floats) at most 16 x
// winoBlockFloats floats (256 KiB), 16 to winoMaxBlock tiles. (128 tiles and
// twice the floats were no faster: bench/RESULTS.md section 3.)
const winoMaxBlock, winoBlockFloats = 64, 4096

// winoBlockFor is the tiles per block for chunks of kc channels.
func winoBlockFor(kc int) int {
	return max(gemmNR, min(winoMaxBlock, winoBlockFloats/kc/gemmNR*gemmNR))
}

// winogradWeights writes U = G g G^T of the (m, k) matrix of 3x3 kernels
// read by at(i, c) (the 9 taps of kernel (i, c), row-major) into up, laid
// out as the GEMM's A panels: up[((xi*m6/6 + i/6)*k + c)*6 + i%6], rows past
// m zero.
func winogradWeights(threads int, up []float32, m, k int, w []float32, transposed bool) {
	rows := m6(m)
	parts := min(threads, rows/gemmMR, max(1, 16*rows*k/minParallel))
	j := winoWeightJobs.Get().(*winoWeightJob)
	j.up, j.m, j.k, j.w, j.transposed = up, m, k, w, transposed
	runParts(j, parts, &j.done)
	*j = winoWeightJob{}
	winoWeightJobs.Put(j)
}

type winoWeightJob struct {
	up         []float32
	m, k       int
	w          []float32
	transposed bool // backward-data: kernel (i, c) is w[c][i] flipped
	done       partsDone
}

var winoWeightJobs = sync.Pool{New: func() any { return new(winoWeightJob) }}

func (j *winoWeightJob) runPart(part, parts int) {
	rows := m6(j.m)
	lo, hi := partRange(rows/gemmMR, 1, part, parts)
	xs := rows * j.k // floats between xi blocks
	for p := lo; p < hi; p++ {
		for r := 0; r < gemmMR; r++ {
			i := p*gemmMR + r
			off := p*j.k*gemmMR + r // (panel p, channel 0, row r)
			if i >= j.m {
				for xi := 0; xi < 16; xi++ {
					for c := 0; c < j.k; c++ {
						j.up[xi*xs+off+c*gemmMR] = 0
					}
				}
				continue
			}
			if j.transposed {
				// w is (k, m, 3, 3): kernel (i, c) at (c*m + i)*9, flipped.
				winoWeights(j.k, j.up[off:], gemmMR, xs, j.w[i*9:], j.m*9, true)
			} else {
				winoWeights(j.k, j.up[off:], gemmMR, xs, j.w[i*j.k*9:], 9, false)
			}
		}
	}
}

// winoWeights writes U = G g G^T of n kernels: kernel i is w[i*wStep:][:9]
// (taps back to front when flip), its U[xi] goes to up[i*upStep + xi*xs].
func winoWeights(n int, up []float32, upStep, xs int, w []float32, wStep int, flip bool) {
	if n == 0 {
		return
	}
	_, _ = up[(n-1)*upStep+15*xs], w[(n-1)*wStep+8]
	if useAsm {
		if flip {
			winoWeightFlipKernel(n, &up[0], upStep, xs, &w[0], wStep)
		} else {
			winoWeightKernel(n, &up[0], upStep, xs, &w[0], wStep)
		}
		return
	}
	for i := 0; i < n; i++ {
		g := [9]float32(w[i*wStep:])
		if flip {
			g = [9]float32{g[8], g[7], g[6], g[5], g[4], g[3], g[2], g[1], g[0]}
		}
		// G g, column by column: rows g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2
		// for G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
		var a [4][3]float32
		for q := 0; q < 3; q++ {
			s, d := g[q]+g[6+q], g[3+q]
			a[0][q], a[1][q], a[2][q], a[3][q] = g[q], 0.5*(s+d), 0.5*(s-d), g[6+q]
		}
		// (G g) G^T, row by row: U[xi = 4 rr + q].
		o := i * upStep
		for rr := 0; rr < 4; rr++ {
			s, d := a[rr][0]+a[rr][2], a[rr][1]
			up[o+4*rr*xs] = a[rr][0]
			up[o+(4*rr+1)*xs] = 0.5 * (s + d)
			up[o+(4*rr+2)*xs] = 0.5 * (s - d)
			up[o+(4*rr+3)*xs] = a[rr][2]
		}
	}
}

// winoTiles is what the Winograd jobs (winogradJob, wino4Job) share: the
// group's samples' tiles cut into blocks, handed out to the parts.
type winoTiles struct {
	k, m       int
	up         []float32 // packed U: (positions, m6/6, k, 6)
	src        []float32 // the samples' phased images (k channels), srcStride apart
	ps, g      int       // size and row pitch of a phase plane of src
	th, tw     int       // tile rows and columns
	oh, ow     int
	out        []float32 // (samples, m, oh, ow), outStride apart
	bias       []float32 // (m) or nil
	accumulate bool
	samples    int
	srcStride  int
	outStride  int
	block, kc  int       // tiles per block, channels per chunk
	spb        int       // samples per block: > 1 when a sample's tiles fill at most half a block
	scratch    []float32 // per part: scratchPer floats
	scratchPer int
	chunks     chunker
	done       partsDone
}

func (j *winoTiles) blocks() int { return (j.th*j.tw + j.block - 1) / j.block }

// units is the blocks of the samples: spb samples per block, or the blocks
// of each sample.
func (j *winoTiles) units() int {
	if j.spb > 1 {
		return ceilDiv(j.samples, j.spb)
	}
	return j.samples * j.blocks()
}

// start runs t's parts (up to threads) over the (sample, tile block) units.
func (j *winoTiles) start(t task, threads int) {
	units := j.units()
	parts := min(threads, units)
	j.chunks.reset(min(units, chunksPerPart*parts))
	runParts(t, parts, &j.done)
}

// forBlocks runs block, with the part's scratch, on each unit the part
// claims: its live tiles from t0, counted sample after sample.
func (j *winoTiles) forBlocks(part int, block func(scratch []float32, t0, live int)) {
	scratch := j.scratch[part*j.scratchPer:][:j.scratchPer]
	bp := j.blocks()
	units := j.units()
	tiles := j.th * j.tw
	for {
		u0, u1, ok := j.chunks.claimUnits(units)
		if !ok {
			return
		}
		for u := u0; u < u1; u++ {
			if j.spb > 1 {
				n := u * j.spb
				block(scratch, n*tiles, min(j.spb, j.samples-n)*tiles)
				continue
			}
			n, b := u/bp, u%bp
			block(scratch, n*tiles+b*j.block, min(j.block, tiles-b*j.block))
		}
	}
}

// winogradJob is one Winograd F(2x2, 3x3) convolution of a group of
// samples; src's phase planes are a channel's even columns, then its odd
// columns (phasedImage with strides 1, 2), tiles ceil(oh/2) x ceil(ow/2).
type winogradJob struct {
	winoTiles
	// bf16: the tile products on bfloat16 pairs: upB is up as pair panels
	// (16, m6/6, ceil(k/2), 6); each block's V chunk is turned into pairs too.
	bf16 bool
	upB  []uint32
}

var winogradJobs = sync.Pool{New: func() any { return new(winogradJob) }}

// winoSamplesPerBlock is how many of the n samples of tiles tiles share a
// block of block tiles: samples whose tiles fill at most half a block share
// one (fewer, fuller blocks: longer GEMMs), at most half the samples (two
// blocks at least, for two threads), when winoNarrow is on. It does not
// depend on the thread count.
func winoSamplesPerBlock(tiles, block, n int) int {
	if !winoNarrow || 2*tiles > block {
		return 1
	}
	return max(1, min(block/tiles, ceilDiv(n, 2)))
}

// scratchFloats is what one part needs: a V chunk and the block's M.
func (j *winogradJob) scratchFloats() int {
	n := 16*j.block*(j.kc+m6(j.m)) + 8 + winoNarrowFloats(j.kc, j.m)
	if j.bf16 {
		kcp := (j.kc + 1) / 2
		n += 16*j.block*kcp + gemmNR*kcp // V's pairs and a zero panel
	}
	return n
}

// run computes the samples on up to threads goroutines; parts cut the
// (sample, tile block) pairs.
func (j *winogradJob) run(threads int) { j.start(j, threads) }

func (j *winogradJob) runPart(part, parts int) { j.forBlocks(part, j.runBlock) }

// runBlock computes the live tiles from t0 of the group's samples, counted
// sample after sample (t0/(th*tw) is t0's sample).
func (j *winogradJob) runBlock(scratch []float32, t0, live int) {
	nt := j.block
	panels := (live + gemmNR - 1) / gemmNR
	rows := m6(j.m)
	v := scratch[:16*j.kc*nt]
	mm := scratch[16*j.kc*nt:][:16*rows*nt+8] // 8 floats of slack: the output kernel's lanes past the block
	tmp := scratch[len(scratch)-winoNarrowFloats(j.kc, j.m):]
	for k0 := 0; k0 < j.k; k0 += j.kc {
		kc := min(j.kc, j.k-k0)
		j.transformInput(v, tmp, k0, kc, t0, live, panels)
		if j.bf16 {
			j.productsBF16(scratch[16*j.kc*nt+16*rows*nt+8:], v, mm, k0, kc, panels, nt)
			continue
		}
		winoProducts(16, j.up, j.m, j.k, v, panels*kc*gemmNR, mm, rows*nt, k0, kc, panels, nt)
	}
	j.transformOutput(tmp, mm, t0, live, rows*nt)
}

// winoProducts is the nxi tile products of a block's chunk of channels
// [k0, k0+kc): M[xi] (+)= U[xi] V[xi] for the packed U (nxi, m6/6, k, 6),
// the chunk's V panels (panels, kc, 16) at v[xi*vxs:] and M[xi] (m6, nt)
// at mm[xi*mxs:], added to M after the first chunk.
func winoProducts(nxi int, up []float32, m, k int, v []float32, vxs int, mm []float32, mxs, k0, kc, panels, nt int) {
	mp := m6(m) / gemmMR
	for xi := 0; xi < nxi; xi++ {
		vx := v[xi*vxs:]
		ux := up[(xi*mp*k+k0)*gemmMR:]
		mx := mm[xi*mxs:]
		p0 := 0
		if useAVX512 && useAsm {
			// Pairs of V panels against pairs of U panels: the 12x32 tile.
			for ; p0+2 <= panels; p0 += 2 {
				b0 := vx[p0*kc*gemmNR:][:kc*gemmNR]
				b1 := vx[(p0+1)*kc*gemmNR:][:kc*gemmNR]
				for r := 0; r < mp; r += 2 {
					n := min(2*gemmMR, m-r*gemmMR)
					a0 := ux[r*k*gemmMR:][:kc*gemmMR]
					a1 := a0
					if n > gemmMR {
						a1 = ux[(r+1)*k*gemmMR:][:kc*gemmMR]
					}
					microGemmZ(n, kc, a0, a1, b0, b1, mx[r*gemmMR*nt+p0*gemmNR:], nt, nil, k0 > 0)
				}
			}
		}
		for p := p0; p < panels; p++ {
			b := vx[p*kc*gemmNR:][:kc*gemmNR]
			for r := 0; r < mp; r++ {
				// Rows past m (the last panel's padding) are not computed:
				// the output transform reads rows < m only.
				microGemmRows(min(gemmMR, m-r*gemmMR), kc, ux[r*k*gemmMR:][:kc*gemmMR], b, mx[r*gemmMR*nt+p*gemmNR:], nt, nil, k0 > 0)
			}
		}
	}
}

// productsBF16 is the 16 tile products of runBlock on bfloat16 pairs:
// the chunk's V panels turned into pairs in scratch, then 12x32 BF16 tiles
// against the pair panels of U; the last V panel of an odd count pairs
// with a zero panel, its tile written through a stack tile.
func (j *winogradJob) productsBF16(scratch, v, mm []float32, k0, kc, panels, nt int) {
	kcp := (kc + 1) / 2
	kp := (j.k + 1) / 2
	rows := m6(j.m)
	mp := rows / gemmMR
	vb := u32(scratch[:16*panels*kcp*gemmNR])
	zero := u32(scratch[16*j.block*((j.kc+1)/2):][:gemmNR*kcp])
	clear(zero)
	for i := 0; i < 16*panels; i++ {
		toPairs(vb[i*kcp*gemmNR:][:kcp*gemmNR], v[i*kc*gemmNR:][:kc*gemmNR], kc, gemmNR)
	}
	var edge [2 * gemmMR * 2 * gemmNR]float32
	for xi := 0; xi < 16; xi++ {
		vx := vb[xi*panels*kcp*gemmNR:]
		mx := mm[xi*rows*nt:]
		for p := 0; p < panels; p += 2 {
			b0 := vx[p*kcp*gemmNR:][:kcp*gemmNR]
			b1 := zero
			if p+1 < panels {
				b1 = vx[(p+1)*kcp*gemmNR:][:kcp*gemmNR]
			}
			for r := 0; r < mp; r += 2 {
				n := min(2*gemmMR, j.m-r*gemmMR)
				a0 := j.upB[((xi*mp+r)*kp+k0/2)*gemmMR:][:kcp*gemmMR]
				a1 := a0
				if n > gemmMR {
					a1 = j.upB[((xi*mp+r+1)*kp+k0/2)*gemmMR:][:kcp*gemmMR]
				}
				out := mx[r*gemmMR*nt+p*gemmNR:]
				if p+1 < panels {
					microGemmB(n, kcp, a0, a1, b0, b1, out, nt, nil, k0 > 0)
					continue
				}
				microGemmB(n, kcp, a0, a1, b0, b1, edge[:], 2*gemmNR, nil, false)
				storeTile(out, nt, edge[:], 2*gemmNR, n, gemmNR, k0 > 0)
			}
		}
	}
}

// transformInput writes V = B^T d B for channels [k0, k0+kc) of the live
// tiles from t0 into v as GEMM B panels: v[((xi*panels + t/16)*kc + c)*16 +
// t%16]; lanes past the live tiles are zero. Runs of 8 tiles along a tile
// row go through the 8-lane kernel, all channels in one call.
func (j *winogradJob) transformInput(v, tmp []float32, k0, kc, t0, live, panels int) {
	g := j.g
	xs := panels * kc * gemmNR // floats between xi blocks
	v = v[:16*xs]
	tiles := j.th * j.tw
	for tt := 0; tt < panels*gemmNR; {
		off := tt/gemmNR*kc*gemmNR + tt%gemmNR // channel 0
		if tt >= live {
			for c := 0; c < kc; c++ {
				for xi := 0; xi < 16; xi++ {
					v[xi*xs+off+c*gemmNR] = 0
				}
			}
			tt++
			continue
		}
		n, t := (t0+tt)/tiles, (t0+tt)%tiles
		ty, tx := t/j.tw, t%j.tw
		src := j.src[n*j.srcStride+k0*2*j.ps:]
		base := 2*ty*g + tx
		if wideWino() && tt%16 == 0 && tt+16 <= live && tx+16 <= j.tw {
			winoInput16(kc, v[off:], gemmNR, xs, src[base:], src[j.ps+base:], 2*j.ps, g)
			tt += 16
			continue
		}
		if tt%8 == 0 && tt+8 <= live && tx+8 <= j.tw {
			winoInput8(kc, v[off:], gemmNR, xs, src[base:], src[j.ps+base:], 2*j.ps, g)
			tt += 8
			continue
		}
		if r := min(j.tw-tx, live-tt, gemmNR-tt%gemmNR); winoNarrow && useAsm && r >= 2 &&
			base+(kc-1)*2*j.ps+j.ps+3*g+8 < len(src) {
			winoInputRun(kc, v[off:], xs, r, tt%gemmNR+8 <= gemmNR, tmp, src[base:], src[j.ps+base:], 2*j.ps, g)
			tt += min(r, 8)
			continue
		}
		for c := 0; c < kc; c++ {
			even := src[c*2*j.ps+base:]
			winoInputTile(v[off+c*gemmNR:], xs, even, even[j.ps:], g)
		}
		tt++
	}
}

// winoZ switches on the 16-lane transforms of the avx512 path (off: 8
// lanes, kept for the old/new benchmark).
var winoZ = true

// wideWino reports whether the 16-lane transforms run.
func wideWino() bool { return winoZ && useAVX512 }

// winoInput16 is winoInput8 on 16 tiles side by side (AVX-512; lane for
// lane the 8-lane kernel's operations, so the same bits). Only where
// wideWino.
func winoInput16(n int, v []float32, vStep, xs int, src0, src1 []float32, srcStep, g int) {
	if n == 0 {
		return
	}
	_, _, _ = v[(n-1)*vStep+15*xs+15], src0[(n-1)*srcStep+3*g+16], src1[(n-1)*srcStep+3*g+16]
	winoInputKernelZ(n, &v[0], vStep, xs, &src0[0], &src1[0], srcStep, g)
}

// winoInput8 is winoInputTile for 8 tiles side by side and n channels:
// lane l of channel c reads src0[c*srcStep+l:] and src1[c*srcStep+l:] and
// writes v[c*vStep+l:].
func winoInput8(n int, v []float32, vStep, xs int, src0, src1 []float32, srcStep, g int) {
	if n == 0 {
		return
	}
	_, _, _ = v[(n-1)*vStep+15*xs+7], src0[(n-1)*srcStep+3*g+8], src1[(n-1)*srcStep+3*g+8]
	if useAsm {
		winoInputKernel(n, &v[0], vStep, xs, &src0[0], &src1[0], srcStep, g)
		return
	}
	for c := 0; c < n; c++ {
		for l := 0; l < 8; l++ {
			winoInputTile(v[c*vStep+l:], xs, src0[c*srcStep+l:], src1[c*srcStep+l:], g)
		}
	}
}

// winoInputTile writes V = B^T d B of one tile to v[xi*xs], xi = 4r+q, for
// the patch d[i][j] = src(j%2)[i*g + j/2]: src0 and src1 hold the even and
// odd columns of the padded rows, g floats apart.
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
func winoInputTile(v []float32, xs int, src0, src1 []float32, g int) {
	var e [4][4]float32 // d B: the row transform of each patch row
	for i := 0; i < 4; i++ {
		d0, d1, d2, d3 := src0[i*g], src1[i*g], src0[i*g+1], src1[i*g+1]
		e[i] = [4]float32{d0 - d2, d1 + d2, d2 - d1, d1 - d3}
	}
	for q := 0; q < 4; q++ {
		v[q*xs] = e[0][q] - e[2][q]
		v[(4+q)*xs] = e[1][q] + e[2][q]
		v[(8+q)*xs] = e[2][q] - e[1][q]
		v[(12+q)*xs] = e[1][q] - e[3][q]
	}
}

// transformOutput writes Y = A^T M A (+ bias) for the live tiles from t0,
// clipping the tiles at the image border; runs of 8 whole tiles along a
// tile row go through the 8-lane kernel, all channels in one call. mm is
// (16, m6, block); xs floats apart per xi.
func (j *winogradJob) transformOutput(tmp, mm []float32, t0, live, xs int) {
	nt := j.block
	plane := j.oh * j.ow
	bias, biasStep := j.bias, 1
	if bias == nil {
		bias, biasStep = winoZero[:], 0
	}
	tiles := j.th * j.tw
	for tt := 0; tt < live; {
		n, t := (t0+tt)/tiles, (t0+tt)%tiles
		oy, ox := 2*(t/j.tw), 2*(t%j.tw)
		y := j.out[n*j.outStride+oy*j.ow+ox:]
		if wideWino() && tt%16 == 0 && tt+16 <= live && ox+32 <= j.ow && oy+2 <= j.oh {
			winoOutput16(j.m, y, plane, j.ow, mm[tt:], nt, xs, bias, biasStep, j.accumulate)
			tt += 16
			continue
		}
		if tt%8 == 0 && tt+8 <= live && ox+16 <= j.ow && oy+2 <= j.oh {
			winoOutput8(j.m, y, plane, j.ow, mm[tt:], nt, xs, bias, biasStep, j.accumulate)
			tt += 8
			continue
		}
		if r := min(j.tw-ox/2, live-tt, 8); winoNarrow && useAsm && r >= 2 {
			rows, cols := min(2, j.oh-oy), min(2*r, j.ow-ox)
			winoOutput8(j.m, tmp, 32, 16, mm[tt:], nt, xs, bias, biasStep, false)
			winoOutputCopy(j.m, y, plane, j.ow, tmp, rows, cols, j.accumulate)
			tt += r
			continue
		}
		rows, cols := min(2, j.oh-oy), min(2, j.ow-ox)
		for i := 0; i < j.m; i++ {
			winoOutputTile(y[i*plane:], j.ow, mm[i*nt+tt:], xs, bias[i*biasStep], j.accumulate, rows, cols)
		}
		tt++
	}
}

// winoNarrow switches on the vector transforms of runs shorter than 8 tiles
// (planes under 16 wide, and the ends of tile rows); tests and benchmarks
// switch it off to compare.
var winoNarrow = true

// winoNarrowFloats is the scratch of the short runs: 8 lanes of V for kc
// channels, or the 2x16 outputs of 8 tiles for m channels.
func winoNarrowFloats(kc, m int) int { return max(16*8*kc, 32*m6(m)) }

// winoInputRun writes V of a run of r < 8 tiles (r >= 2) side by side, all
// lanes in one panel: with direct, the 8-lane kernel writes v itself (its
// lanes past r land on tiles that are written or zeroed later in the
// panel); otherwise it writes tmp, whose first r lanes are copied.
func winoInputRun(kc int, v []float32, xs, r int, direct bool, tmp, src0, src1 []float32, srcStep, g int) {
	if direct {
		winoInput8(kc, v, gemmNR, xs, src0, src1, srcStep, g)
		return
	}
	winoInput8(kc, tmp, 8, 8*kc, src0, src1, srcStep, g)
	for xi := 0; xi < 16; xi++ {
		for c := 0; c < kc; c++ {
			copy(v[xi*xs+c*gemmNR:][:r], tmp[(xi*kc+c)*8:][:r])
		}
	}
}

// winoOutputCopy writes (adds, with accumulate) rows x cols of each of the
// n channels' 2x16 outputs in tmp to y.
func winoOutputCopy(n int, y []float32, yStep, ow int, tmp []float32, rows, cols int, accumulate bool) {
	for c := 0; c < n; c++ {
		for r := 0; r < rows; r++ {
			dst, src := y[c*yStep+r*ow:][:cols], tmp[c*32+r*16:][:cols]
			if !accumulate {
				copy(dst, src)
				continue
			}
			for i, x := range src {
				dst[i] += x
			}
		}
	}
}

// winoZero is the bias of a conv without one.
var winoZero [1]float32

// winoOutput16 is winoOutput8 on 16 whole tiles side by side (AVX-512;
// lane for lane the 8-lane kernel's additions). Only where wideWino.
func winoOutput16(n int, y []float32, yStep, ow int, m []float32, mStep, xs int, bias []float32, biasStep int, accumulate bool) {
	if n == 0 {
		return
	}
	_, _, _ = y[(n-1)*yStep+ow+31], m[(n-1)*mStep+15*xs+15], bias[(n-1)*biasStep]
	winoOutputKernelZ(n, &y[0], yStep, ow, &m[0], mStep, xs, &bias[0], biasStep, boolInt(accumulate))
}

// winoOutput8 is winoOutputTile for 8 whole tiles side by side and n
// channels: lane l of channel c reads m[c*mStep+l:] and writes
// y[c*yStep+2l:], with bias[c*biasStep].
func winoOutput8(n int, y []float32, yStep, ow int, m []float32, mStep, xs int, bias []float32, biasStep int, accumulate bool) {
	if n == 0 {
		return
	}
	_, _, _ = y[(n-1)*yStep+ow+15], m[(n-1)*mStep+15*xs+7], bias[(n-1)*biasStep]
	if useAsm {
		winoOutputKernel(n, &y[0], yStep, ow, &m[0], mStep, xs, &bias[0], biasStep, boolInt(accumulate))
		return
	}
	for c := 0; c < n; c++ {
		for l := 0; l < 8; l++ {
			winoOutputTile(y[c*yStep+2*l:], ow, m[c*mStep+l:], xs, bias[c*biasStep], accumulate, 2, 2)
		}
	}
}

// winoOutputTile writes rows x cols (each 1 or 2) of the tile's outputs
// Y = A^T M A + bias to y[r*ow + c], M[xi] = m[xi*xs], A^T = [1 1 1 0;
// 0 1 -1 -1]; accumulate adds to y.
func winoOutputTile(y []float32, ow int, m []float32, xs int, bias float32, accumulate bool, rows, cols int) {
	var s [2][4]float32 // A^T M
	for q := 0; q < 4; q++ {
		m0, m1, m2, m3 := m[q*xs], m[(4+q)*xs], m[(8+q)*xs], m[(12+q)*xs]
		s[0][q] = m0 + m1 + m2
		s[1][q] = m1 - m2 - m3
	}
	for r := 0; r < rows; r++ {
		yr := [2]float32{s[r][0] + s[r][1] + s[r][2] + bias, s[r][1] - s[r][2] - s[r][3] + bias}
		row := y[r*ow : r*ow+cols]
		for c := range row {
			if accumulate {
				row[c] += yr[c]
			} else {
				row[c] = yr[c]
			}
		}
	}
}

// winograd runs the conv of n samples of src (k, ih, iw), padded by (ph,
// pw), with the 3x3 kernels of w into out (n, m, oh, ow): forward when
// transposed is false (w: (m, k, 3, 3)), backward-data when it is true (w:
// (k, m, 3, 3), flipped; out accumulates).
func (b *Backend) winograd(out, src, w, bias []float32, n, k, ih, iw, m, oh, ow, ph, pw int, transposed bool) {
	ws := b.ws
	up := ws.getFloats(16 * m6(m) * k)
	winogradWeights(b.threads, up, m, k, w, transposed)
	th, tw := (oh+1)/2, (ow+1)/2
	img := makePhasedImage(k, ih, iw, 1, 2, ph, pw, 2*th+2, 2*tw+2)
	per := img.size()
	kc := min(k, winoKC)
	spb := winoSamplesPerBlock(th*tw, winoBlockFor(kc), n)
	// Groups of whole blocks: a block's samples do not depend on the thread
	// count (nor does any output's sum order).
	group := min(n, roundUp(convSampleGroup(n, per, b.threads), spb))
	buf := ws.getFloats(group * per)
	j := winogradJobs.Get().(*winogradJob)
	j.k, j.m, j.up, j.bias, j.accumulate = k, m, up, bias, transposed
	var upB []float32
	if b.bf16 {
		// U as pair panels: each 6-row panel's k rows as ceil(k/2) pairs.
		kp, panels := (k+1)/2, 16*m6(m)/gemmMR
		upB = ws.getFloats(panels * kp * gemmMR)
		for i := 0; i < panels; i++ {
			toPairs(u32(upB)[i*kp*gemmMR:][:kp*gemmMR], up[i*k*gemmMR:][:k*gemmMR], k, gemmMR)
		}
		j.bf16, j.upB = true, u32(upB)
	}
	j.ps, j.g, j.th, j.tw, j.oh, j.ow = img.planeSize(), img.g, th, tw, oh, ow
	j.kc, j.spb = kc, spb
	j.block = winoBlockFor(j.kc)
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
	*j = winogradJob{}
	winogradJobs.Put(j)
	ws.putFloats(buf)
	ws.putFloats(up)
	if upB != nil {
		ws.putFloats(upB)
	}
}
