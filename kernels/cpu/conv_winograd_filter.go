package cpu

import "sync"

// The 3x3 stride-1 weight gradient by Winograd F(2x2, 3x3). The forward
// tile is Y = A^T [U .* V] A with U = G g G^T and V = B^T d B
// (conv_winograd.go); Y is linear in g, so the gradient of a sum over tiles
// is
//
//	dg = G^T [ sum_t Z_t .* V_t ] G,   Z_t = A dY_t A^T
//
// with dY_t the tile's 2x2 output gradient (zero past the output's edge)
// and V_t its transformed 4x4 input patch. Summed over the input and
// output channels the 16 positions xi of the 4x4 tile become 16 sums of
// dot products over the tiles:
//
//	S[xi](co, ci) = sum_t Z[xi](co, t) * V[xi](ci, t)
//
// 16 products per tile and channel pair instead of the direct sum's 36. The
// tiles of a group of samples (or of a part of one large sample) form a
// block; each block's V and Z are written row by row (tiles contiguous) and
// summed by the backward-filter dot kernel (dotJob), all 16 xi in one
// parallel region whose units are (xi, tap group) pairs; every S element has
// one owner and a fixed order of summation, so results do not depend on the
// thread count. Only the transforms differ from the direct sum, so results
// differ from it by rounding (the transforms add at most four terms and
// scale by 1/2).

// winoFilterWorth picks the layers whose weight gradient takes the Winograd
// path (ci input and co output channels, ow output columns; bf16: the BF16
// dot kernels). BenchmarkConv3x3Algo (bench/RESULTS.md section 10): FP32
// Winograd is 1.2-1.7x faster from 48 channels on one side and 24 on the
// other, level at 32x32 and 24x24 on 128x128 planes; on BF16 the direct
// path's dot kernels win on most layers (the transforms stay FP32), so BF16
// keeps it. Outputs at least 2 wide: with the short runs' vector transforms
// FP32 Winograd ran 1.3-1.7x the direct path on 8x8 planes, about 2x on 4x4
// and 2x2 (128 to 512 channels, one thread, batch 8, shared machine).
func winoFilterWorth(ci, co, ow int, bf16 bool) bool {
	return useWinograd && (winoAlways || !bf16 && min(ci, co) >= 24 && max(ci, co) >= 48 && ow >= 2)
}

// wfBlockFloats bounds a block's V and Z: 16 x (ci + co) x tiles floats
// (16 MiB; BF16 adds 8 MiB of copies). Every block reads and writes all
// 16 x ci x co partial sums (8 MiB for 512x256 channels), so the deep
// layers want long blocks: on Zen 5 this bound ran their FP32 weight
// gradients 10-45% faster than 4 MiB (BenchmarkConv3x3Algo, WFB).
var wfBlockFloats = 1 << 22 // a variable for BenchmarkConv3x3Algo's WFB

// wfMaxTiles caps a block's tiles: a dot kernel call's 8 rows of Z stay in
// L1 up to 1024 (32 KiB); 2048 ran 64x32 to 64x64 channels on 64x64 and
// 128x128 planes 15-30% slower, 512 10-25% (WFT).
var wfMaxTiles = 1024

// wfBlockTiles is the tiles per block for ci input and co output channels
// and nxi transformed positions: a multiple of 32, from 64 to wfMaxTiles.
func wfBlockTiles(ci, co, nxi int) int {
	t := wfBlockFloats / (nxi * (ci + co)) / 32 * 32
	return max(64, min(wfMaxTiles, t))
}

// unaliased is the smallest n' >= n, a multiple of unit, such that n'
// elements of the BF16 copy (2 bytes; FP32: 4) are an odd number of 64-byte
// lines: strides of that size fall on 64 different L1 sets in turn, where
// multiples of 4 KiB (block sizes and channel counts are powers of two)
// would all fall on one. unit is 8 for FP32 rows and 32 for BF16 rows: an
// odd multiple of 16 floats or of 32 bfloat16 values.
func unaliased(n, unit int) int {
	line := 16 // floats per 64 bytes
	if unit == 32 {
		line = 32 // bfloat16 values per 64 bytes
	}
	n = roundUp(n, max(unit, line))
	if (n/line)%2 == 0 {
		n += line
	}
	return n
}

// wfJob is the weight gradient of one block of tiles: its transforms, then
// its 16 sums.
type wfJob struct {
	ci, co     int
	coP        int       // rows of Z: co padded for the dot kernel (V has ci rows)
	xsV, xsZ   int       // floats between the xi blocks of V and Z (unaliased)
	src        []float32 // the group's phased images, per floats apart
	per, ps, g int       // phased image size, phase plane size, row pitch
	dyp        []float32 // the group's phased dy, gPer floats per sample
	gPer, gps  int       // its size per sample and plane size
	gg         int       // its row pitch
	th, tw     int       // tile rows and columns per sample
	u0, live   int       // the block's first tile (over the group's samples) and count
	lq         int       // row length of V and Z: live rounded up (unaliased)
	v, z       []float32
	phase      int // 0: transforms; 1: sums
	nxi        int // positions of the transformed tile: 16, or 36 for F(4x4, 3x3) (f4)
	f4         bool
	kt         []float32 // f4: the transform kernels' scratch, 36*16 floats per part
	dots       [36]dotJob
	groups     int // tap groups of the dot kernel: ceil(ci / dotNR)
	bf16       bool
	vb, zb     []uint16
	chunks     chunker
	done       partsDone
}

var wfJobs = sync.Pool{New: func() any { return new(wfJob) }}

func (j *wfJob) runPart(part, parts int) {
	if j.phase == 0 {
		units := j.ci + j.co
		for {
			u0, u1, ok := j.chunks.claimUnits(units)
			if !ok {
				return
			}
			if j.f4 {
				j.transforms4(u0, u1, j.kt[part*36*16:][:36*16])
				continue
			}
			if u0 < j.ci {
				c0, c1 := u0, min(u1, j.ci)
				j.transformInput(c0, c1)
				j.toBF16(j.vb, j.v, j.xsV, c0, c1)
			}
			if u1 > j.ci {
				m0, m1 := max(u0, j.ci)-j.ci, u1-j.ci
				j.transformGrad(m0, m1)
				j.toBF16(j.zb, j.z, j.xsZ, m0, m1)
			}
		}
	}
	units := j.nxi * j.groups
	for {
		u0, u1, ok := j.chunks.claimUnits(units)
		if !ok {
			return
		}
		for u := u0; u < u1; {
			xi, g0 := u/j.groups, u%j.groups
			g1 := min(j.groups, g0+u1-u)
			j.dots[xi].runGroups(g0, g1)
			u += g1 - g0
		}
	}
}

// toBF16 rounds rows [r0, r1) of each xi block of src (blocks xs floats
// apart, rows of lq floats) into dst; nothing without BF16.
func (j *wfJob) toBF16(dst []uint16, src []float32, xs, r0, r1 int) {
	if !j.bf16 {
		return
	}
	for xi := 0; xi < 16; xi++ {
		o := xi*xs + r0*j.lq
		n := (r1 - r0) * j.lq
		cvtBF16(dst[o:o+n], src[o:o+n])
	}
}

// wfImage is a phased copy (even and odd columns) a transform reads: per
// floats per sample, ps per phase plane, row pitch g.
type wfImage struct {
	src        []float32
	per, ps, g int
}

// transformInput writes V[xi](c, t) = (B^T d B)[xi] for channels [c0, c1)
// of the block's tiles to v[xi*xsV + c*lq + t]; lanes past live are zero.
func (j *wfJob) transformInput(c0, c1 int) {
	j.transform(j.v, j.xsV, wfImage{j.src, j.per, j.ps, j.g}, c0, c1, winoInput16, winoInput8, winoInputTile)
}

// transformGrad writes Z[xi](m, t) = (A dY A^T)[xi] for output channels
// [m0, m1) of the block's tiles to z[xi*xsZ + m*lq + t]; lanes past live
// are zero. dY is read from the phased dy (zero past the output's edge).
func (j *wfJob) transformGrad(m0, m1 int) {
	j.transform(j.z, j.xsZ, wfImage{j.dyp, j.gPer, j.gps, j.gg}, m0, m1, winoGrad16, winoGrad8, winoGradTile)
}

// transform writes a transform of channels [c0, c1) of the block's tiles
// to dst[xi*xs + c*lq + t] from the phased image im: runs of 8 tiles along
// a tile row through the 8-lane kernel k8, other tiles through tile.
func (j *wfJob) transform(dst []float32, xs int, im wfImage, c0, c1 int,
	k16, k8 func(n int, dst []float32, dstStep, xs int, src0, src1 []float32, srcStep, g int),
	tile func(dst []float32, xs int, src0, src1 []float32, g int)) {
	if wfRows {
		j.transformRows(dst, xs, im, c0, c1, k16, k8, tile)
		return
	}
	n := c1 - c0
	tiles := j.th * j.tw
	for tt := 0; tt < j.lq; {
		off := c0*j.lq + tt
		if tt >= j.live {
			for c := 0; c < n; c++ {
				for xi := 0; xi < 16; xi++ {
					dst[xi*xs+off+c*j.lq] = 0
				}
			}
			tt++
			continue
		}
		u := j.u0 + tt
		s, t := u/tiles, u%tiles
		ty, tx := t/j.tw, t%j.tw
		src := im.src[s*im.per+c0*2*im.ps+2*ty*im.g+tx:]
		if tt+8 <= j.live && tx+8 <= j.tw {
			k8(n, dst[off:], j.lq, xs, src, src[im.ps:], 2*im.ps, im.g)
			tt += 8
			continue
		}
		// A shorter run (narrow planes, row ends) through k8 too: its lanes
		// past the run land on later tiles of the row, or past live (zeroed
		// later); not past the row's end, nor reading past the image.
		if r := min(j.tw-tx, j.live-tt); winoNarrow && r >= 2 && tt+8 <= j.lq &&
			(n-1)*2*im.ps+im.ps+3*im.g+8 < len(src) {
			k8(n, dst[off:], j.lq, xs, src, src[im.ps:], 2*im.ps, im.g)
			tt += r
			continue
		}
		for c := 0; c < n; c++ {
			even := src[c*2*im.ps:]
			tile(dst[off+c*j.lq:], xs, even, even[im.ps:], im.g)
		}
		tt++
	}
}

// wfRows switches transform to transformRows (off: the old order, 8 tiles
// of all the chunk's channels at a time, kept for the old/new benchmark).
var wfRows = true

// transformRows is transform one channel at a time: each run of whole
// 8-tile groups along a tile row is one kernel call (the kernel's channel
// step becomes the 8 tiles' step), so the 16 rows it writes are filled
// line after line. The channel-inner order wrote half a 64-byte line per
// row and channel, and came back to its other half only after all the
// chunk's channels: on 128x128 planes most of those lines had left L1
// (7.2 of the 17 ms of a 64x32x128x128 weight gradient on Zen 5).
func (j *wfJob) transformRows(dst []float32, xs int, im wfImage, c0, c1 int,
	k16, k8 func(n int, dst []float32, dstStep, xs int, src0, src1 []float32, srcStep, g int),
	tile func(dst []float32, xs int, src0, src1 []float32, g int)) {
	tiles := j.th * j.tw
	for c := c0; c < c1; c++ {
		row := c * j.lq
		for tt := 0; tt < j.lq; {
			off := row + tt
			if tt >= j.live {
				for xi := 0; xi < 16; xi++ {
					clear(dst[xi*xs+off : xi*xs+row+j.lq])
				}
				break
			}
			u := j.u0 + tt
			s, t := u/tiles, u%tiles
			ty, tx := t/j.tw, t%j.tw
			src := im.src[s*im.per+c*2*im.ps+2*ty*im.g+tx:]
			r := min(j.tw-tx, j.live-tt)
			if r >= 16 && wideWino() {
				k16(r/16, dst[off:], 16, xs, src, src[im.ps:], 16, im.g)
				tt += r / 16 * 16
				continue
			}
			if r >= 8 {
				k8(r/8, dst[off:], 8, xs, src, src[im.ps:], 8, im.g)
				tt += r / 8 * 8
				continue
			}
			// A shorter run through k8 too: its lanes past the run land on
			// later tiles (rewritten next), or past live (zeroed), not past
			// the row's end, nor reading past the image.
			if winoNarrow && r >= 2 && tt+8 <= j.lq && im.ps+3*im.g+8 < len(src) {
				k8(1, dst[off:], 8, xs, src, src[im.ps:], 8, im.g)
				tt += r
				continue
			}
			tile(dst[off:], xs, src, src[im.ps:], im.g)
			tt++
		}
	}
}

// winoGrad8 is winoGradTile for 8 tiles side by side and n channels: lane l
// of channel c reads src0[c*srcStep+l:] and src1[c*srcStep+l:] and writes
// z[c*zStep+l:].
func winoGrad8(n int, z []float32, zStep, xs int, src0, src1 []float32, srcStep, g int) {
	if n == 0 {
		return
	}
	_, _, _ = z[(n-1)*zStep+15*xs+7], src0[(n-1)*srcStep+g+7], src1[(n-1)*srcStep+g+7]
	if useAsm {
		winoGradKernel(n, &z[0], zStep, xs, &src0[0], &src1[0], srcStep, g)
		return
	}
	for c := 0; c < n; c++ {
		for l := 0; l < 8; l++ {
			winoGradTile(z[c*zStep+l:], xs, src0[c*srcStep+l:], src1[c*srcStep+l:], g)
		}
	}
}

// winoGrad16 is winoGrad8 on 16 tiles side by side (AVX-512; lane for lane
// the 8-lane kernel's operations). Only where wideWino.
func winoGrad16(n int, z []float32, zStep, xs int, src0, src1 []float32, srcStep, g int) {
	if n == 0 {
		return
	}
	_, _, _ = z[(n-1)*zStep+15*xs+15], src0[(n-1)*srcStep+g+15], src1[(n-1)*srcStep+g+15]
	winoGradKernelZ(n, &z[0], zStep, xs, &src0[0], &src1[0], srcStep, g)
}

// winoGradTile writes Z = A dY A^T of one tile to z[xi*xs], xi = 4r+q, for
// the 2x2 dY[i][j] = src(j)[i*g]. A = [1 0; 1 1; 1 -1; 0 -1].
func winoGradTile(z []float32, xs int, src0, src1 []float32, g int) {
	a, b, c, d := src0[0], src1[0], src0[g], src1[g]
	// Rows of A dY: (a, b), (a+c, b+d), (a-c, b-d), (-c, -d); each times A^T.
	rows := [4][2]float32{{a, b}, {a + c, b + d}, {a - c, b - d}, {-c, -d}}
	for r, e := range rows {
		o := 4 * r * xs
		z[o] = e[0]
		z[o+xs] = e[0] + e[1]
		z[o+2*xs] = e[0] - e[1]
		z[o+3*xs] = -e[1]
	}
}

// winogradFilter adds the 3x3 stride-1 weight gradient of dy (n, co, ho,
// wo) against x (n, ci, h, w) to dw (co, ci, 3, 3) by Winograd F(2x2, 3x3),
// or by F(4x4, 3x3) with f4 (conv_winograd4_filter.go; FP32 only).
func (b *Backend) winogradFilter(dw, dy, x []float32, d convDims, f4 bool) {
	ws := b.ws
	// Tiles of tile x tile outputs, nxi transformed positions; the images
	// in tile column phases; F(4x4)'s kernels read 16 lanes past a short
	// run (slack).
	tile, nxi, slack := 2, 16, 0
	if f4 {
		tile, nxi, slack = 4, 36, 16
	}
	th, tw := (d.ho+tile-1)/tile, (d.wo+tile-1)/tile
	tiles := th * tw
	img := makePhasedImage(d.ci, d.h, d.w, 1, tile, d.ph, d.pw, tile*th+2, tile*tw+2)
	per := img.size() + slack
	bf := b.bf16 && !f4
	rowUnit, laneUnit := dotMR, convSeg
	if bf {
		rowUnit, laneUnit = 2*dotMR, 32
	}
	coP := roundUp(d.co, rowUnit)
	kPad := roundUp(d.ci, dotNR)
	block := wfBlockTiles(d.ci, coP, nxi)
	group := max(1, min(d.n, block/tiles))
	// Row pitch and xi strides off multiples of 4 KiB (unaliased), so that
	// the rows a transform writes and the rows a dot kernel reads do not
	// fall on the same L1 sets.
	blockTiles := roundUp(min(block, group*tiles), laneUnit)
	lqMax := unaliased(blockTiles, laneUnit)
	xsVMax, xsZMax := unaliased(d.ci*lqMax, laneUnit), unaliased(coP*lqMax, laneUnit)
	xPlane, yPlane := d.ci*d.h*d.w, d.co*d.ho*d.wo

	buf := ws.getFloats(group * per)
	v := ws.getFloats(nxi * xsVMax)
	z := ws.getFloats(nxi * xsZMax)
	s := ws.getZeros(nxi * kPad * coP)
	offs := ws.getInts(kPad)
	var vbBuf, zbBuf, kt []float32
	j := wfJobs.Get().(*wfJob)
	j.ci, j.co, j.coP = d.ci, d.co, coP
	dyImg := makePhasedImage(d.co, d.ho, d.wo, 1, tile, 0, 0, tile*th, tile*tw)
	gPer := dyImg.size() + slack
	dyBuf := ws.getFloats(group * gPer)
	j.per, j.ps, j.g, j.th, j.tw = per, img.planeSize(), img.g, th, tw
	j.gPer, j.gps, j.gg = gPer, dyImg.planeSize(), dyImg.g
	j.src, j.dyp, j.v, j.z = buf, dyBuf, v, z
	j.groups = (d.ci + dotNR - 1) / dotNR
	j.nxi = nxi
	if f4 {
		kt = ws.getFloats(b.threads * 36 * 16)
		j.f4, j.kt = true, kt
	}
	if bf {
		vbBuf = ws.getFloats(8 * xsVMax)
		zbBuf = ws.getFloats(8 * xsZMax)
		j.bf16, j.vb, j.zb = true, u16(vbBuf)[:16*xsVMax], u16(zbBuf)[:16*xsZMax]
	}
	for n0 := 0; n0 < d.n; n0 += group {
		samples := min(group, d.n-n0)
		fillPhased(b.threads, img, buf, x[n0*xPlane:], samples, per, xPlane)
		fillPhased(b.threads, dyImg, dyBuf, dy[n0*yPlane:], samples, gPer, yPlane)
		for u0 := 0; u0 < samples*tiles; u0 += blockTiles {
			j.u0, j.live = u0, min(blockTiles, samples*tiles-u0)
			j.lq = unaliased(roundUp(j.live, laneUnit), laneUnit)
			j.xsV, j.xsZ = unaliased(d.ci*j.lq, laneUnit), unaliased(coP*j.lq, laneUnit)
			b.wfBlock(j, s, offs, kPad)
		}
	}
	b.wfGradients(dw, s, d.co, d.ci, kPad, coP, f4)
	*j = wfJob{}
	wfJobs.Put(j)
	ws.putFloats(buf)
	ws.putFloats(dyBuf)
	ws.putFloats(v)
	ws.putFloats(z)
	ws.putFloats(s)
	ws.putInts(offs)
	for _, t := range [][]float32{vbBuf, zbBuf, kt} {
		if t != nil {
			ws.putFloats(t)
		}
	}
}

// wfBlock runs one block: the transforms, then the nxi sums into s
// ((nxi, kPad, coP) partial sums, tap-major per xi).
func (b *Backend) wfBlock(j *wfJob, s []float32, offs []int, kPad int) {
	units := j.ci + j.co
	parts := min(b.threads, units, max(1, j.nxi*units*j.lq/minParallel))
	for xi := 0; xi < j.nxi; xi++ { // Z's padding rows
		o := xi * j.xsZ
		clear(j.z[o+j.co*j.lq : o+j.coP*j.lq])
		if j.bf16 {
			clear(j.zb[o+j.co*j.lq : o+j.coP*j.lq])
		}
	}
	j.phase = 0
	j.chunks.reset(min(units, chunksPerPart*parts))
	runParts(j, parts, &j.done)
	for c := range offs {
		offs[c] = 0
		if c < j.ci {
			offs[c] = c * j.lq
		}
	}
	vs, zs := j.ci*j.lq, j.coP*j.lq
	for xi := range j.dots[:j.nxi] {
		dj := &j.dots[xi]
		*dj = dotJob{m: j.co, k: j.ci, lq: j.lq, offs: offs, dw: s[xi*kPad*j.coP:][:kPad*j.coP], ldw: j.coP}
		dj.chunk = dotChunk(j.co, j.lq)
		if j.bf16 {
			dj.bf16, dj.dygB, dj.srcB = true, j.zb[xi*j.xsZ:][:zs], j.vb[xi*j.xsV:][:vs]
			dj.chunk = max(32, dj.chunk/32*32)
		} else {
			dj.dyg, dj.src = j.z[xi*j.xsZ:][:zs], j.v[xi*j.xsV:][:vs]
		}
	}
	units = j.nxi * j.groups
	parts = min(b.threads, units, max(1, j.nxi*j.co*j.ci*j.lq/(1<<15)))
	j.phase = 1
	j.chunks.reset(min(units, chunksPerPart*parts))
	runParts(j, parts, &j.done)
}

// wfGradJob runs wfGradient or wfGradient4 with the parts cutting the
// input channels: each (co, ci) pair has one owner and the same
// operations whatever the thread count.
type wfGradJob struct {
	dw, s             []float32
	co, ci, kPad, ldw int
	f4                bool
	done              partsDone
}

var wfGradJobs = sync.Pool{New: func() any { return new(wfGradJob) }}

func (j *wfGradJob) runPart(part, parts int) {
	c0, c1 := partRange(j.ci, 1, part, parts)
	if j.f4 {
		wfGradient4(j.dw, j.s, j.co, j.ci, c0, c1, j.kPad, j.ldw)
		return
	}
	wfGradient(j.dw, j.s, j.co, j.ci, c0, c1, j.kPad, j.ldw)
}

// wfGradients adds G^T S G of every (co, ci) pair to dw on the backend's
// threads (F(4x4) when f4, else F(2x2)). On one thread they took 14-29 ns
// a pair by F(2x2) and 44-56 by F(4x4) (512x256 channels by F(2x2): 3.8
// ms; 256x128 by F(4x4): 1.5 ms) while the other cores waited.
func (b *Backend) wfGradients(dw, s []float32, co, ci, kPad, ldw int, f4 bool) {
	j := wfGradJobs.Get().(*wfGradJob)
	*j = wfGradJob{dw: dw, s: s, co: co, ci: ci, kPad: kPad, ldw: ldw, f4: f4}
	runParts(j, min(b.threads, ci, max(1, ci*co/4096)), &j.done)
	j.dw, j.s = nil, nil
	wfGradJobs.Put(j)
}

// wfGradient adds dg = G^T S G of each (co, ci) pair to dw (co, ci, 3, 3),
// S[xi] = s[(xi*kPad + ci)*ldw + co]; G^T = [1 1/2 1/2 0; 0 1/2 -1/2 0;
// 0 1/2 1/2 1], for the input channels [c0, c1). Input channels outer, so
// that the 16 rows of S are read in order.
func wfGradient(dw, s []float32, co, ci, c0, c1, kPad, ldw int) {
	xs := kPad * ldw
	var rows [16][]float32
	for c := c0; c < c1; c++ {
		for xi := range rows {
			rows[xi] = s[xi*xs+c*ldw:][:co]
		}
		for m := 0; m < co; m++ {
			var a [4][3]float32 // S G, row by row
			for r := 0; r < 4; r++ {
				s0, s1, s2, s3 := rows[4*r][m], rows[4*r+1][m], rows[4*r+2][m], rows[4*r+3][m]
				h := 0.5 * (s1 + s2)
				a[r] = [3]float32{s0 + h, 0.5 * (s1 - s2), h + s3}
			}
			g := dw[(m*ci+c)*9:][:9]
			for q := 0; q < 3; q++ {
				h := 0.5 * (a[1][q] + a[2][q])
				g[q] += a[0][q] + h
				g[3+q] += 0.5 * (a[1][q] - a[2][q])
				g[6+q] += h + a[3][q]
			}
		}
	}
}
