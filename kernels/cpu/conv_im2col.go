package cpu

import "sync"

// Forward pass of strided convolutions (algo.go's gemm+im2col): for each
// sample and each block of im2colPixels output pixels, y[n][:, block] =
// W (Co, Ci*KH*KW) x col (Ci*KH*KW, block) + b through the packed GEMM
// (gemm.go), whose B packing is replaced by im2col: each KC-deep slice of
// col is made straight into the GEMM's B panels (L2-sized), so col is never
// stored whole and x is read in place (no phased copy). The parts are
// (sample, block) units, each writing its own columns of y with the same
// slices of the sum whatever the thread count (bitwise deterministic).

// im2colPixels is the least output pixels (GEMM columns) of a block of
// whole output rows: the B panels of a slice, KC x 256 floats, take 256 KiB
// of L2.
const im2colPixels = 256

// im2colSrc is the source that packB reads instead of B: sample x
// (Ci, H, W) and the block's output pixels [q0, q0+nb), whole rows.
type im2colSrc struct {
	d      convDims
	x      []float32
	q0, nb int
	row    []float32 // one row of col (generic shapes)
	// Stride 2, 3 taps, pad 1 in width (s2): for one (ci, kh), key, the
	// block's three rows of col: kw 1 reads the even columns of the
	// input rows (ev), kw 2 the odd ones (od), kw 0 the odd ones one
	// pixel later (sh, zero at each row's first pixel).
	s2         bool
	key        int
	ev, od, sh []float32
	trans      bool      // B is col^T (backward-filter, packT)
	stage      []float32 // packT: im2colStageRows rows of col, ld apart
	ld         int
}

var im2colSrcs = sync.Pool{New: func() any { return new(im2colSrc) }}

func getIm2colSrc(d convDims) *im2colSrc {
	s := im2colSrcs.Get().(*im2colSrc)
	*s = im2colSrc{d: d, s2: d.sw == 2 && d.kw == 3 && d.pw == 1}
	return s
}

func putIm2colSrc(s *im2colSrc) {
	*s = im2colSrc{}
	im2colSrcs.Put(s)
}

type im2colJob struct {
	d             convDims
	y, x, w, bias []float32
	rows, blocks  int       // output rows per block, blocks per sample
	mparts        int       // row groups of y per block (more units than blocks for small batches)
	apre          []float32 // w packed for the GEMM (with bf16: as pair panels, bits in float32s)
	mPad          int       // rows of apre (Co rounded up to gemmMR)
	ws            *workspace
	bf16          bool
	done          partsDone
}

var im2colJobs = sync.Pool{New: func() any { return new(im2colJob) }}

func (b *Backend) conv2dIm2col(y, x, w, bias []float32, d convDims) {
	p := d.ho * d.wo
	if d.n == 0 || d.co == 0 || p <= 0 {
		return
	}
	j := im2colJobs.Get().(*im2colJob)
	*j = im2colJob{d: d, y: y, x: x, w: w, bias: bias, ws: b.ws, bf16: b.bf16}
	j.rows = min(d.ho, max(1, (im2colPixels+d.wo-1)/d.wo))
	j.blocks = (d.ho + j.rows - 1) / j.rows
	k := d.ci * d.kh * d.kw
	j.mPad = roundUp(d.co, gemmMR)
	j.apre = b.ws.getFloats(j.mPad * apreDepth(k, b.bf16))
	j.prepack()
	flops := 2 * d.co * d.ci * d.kh * d.kw * p * d.n
	parts := min(b.threads, max(1, flops/gemmMinParallel))
	// Few blocks (batch 1): cut the rows of y too, at 12-row tiles.
	j.mparts = 1
	if blocks := d.n * j.blocks; blocks < 2*parts {
		j.mparts = min((d.co+2*gemmMR-1)/(2*gemmMR), (2*parts+blocks-1)/blocks)
	}
	runParts(j, min(parts, d.n*j.blocks*j.mparts), &j.done)
	b.ws.putFloats(j.apre)
	*j = im2colJob{}
	im2colJobs.Put(j)
}

func (j *im2colJob) runPart(part, parts int) {
	d := j.d
	k, p, nbMax := d.ci*d.kh*d.kw, d.ho*d.wo, j.rows*d.wo
	src := getIm2colSrc(d)
	buf := j.ws.getFloats(3*nbMax + 1)
	if src.s2 {
		src.ev, src.od, src.sh = buf[:nbMax], buf[nbMax:2*nbMax], buf[2*nbMax:]
	} else {
		src.row = buf[:nbMax]
	}
	gj := gemmJobs.Get().(*gemmJob)
	*gj = gemmJob{alpha: 1, a: j.w, lda: k, ws: j.ws, bf16: j.bf16, im2col: src, apreM: j.mPad}
	if j.bf16 {
		gj.apreB = u32(j.apre)
	} else {
		gj.apre = j.apre
	}
	u0, u1 := partRange(d.n*j.blocks*j.mparts, 1, part, parts)
	for u := u0; u < u1; u++ {
		bi, mp := u/j.mparts, u%j.mparts
		n, blk := bi/j.blocks, bi%j.blocks
		m0, m1 := partRange(d.co, 2*gemmMR, mp, j.mparts)
		oh0 := blk * j.rows
		q0 := oh0 * d.wo
		src.nb = (min(d.ho, oh0+j.rows) - oh0) * d.wo
		src.x, src.q0, src.key = j.x[n*d.ci*d.h*d.w:(n+1)*d.ci*d.h*d.w], q0, -1
		gj.pfOn = useAsm && im2colPrefetch && mp == j.mparts-1 && u+1 < u1 && d.ci*d.h*d.w >= im2colPrefetchMin
		if gj.pfOn {
			j.prefetchPlan(&gj.pf, bi+1)
		}
		gj.block(m0, m1, 0, src.nb, 0, k, j.y[n*d.co*p+q0:], p, 0, j.bias)
	}
	j.ws.putFloats(buf)
	putIm2colSrc(src)
	*gj = gemmJob{}
	gemmJobs.Put(gj)
}

// im2colPrefetch: the GEMMs ask for the input rows of the next block as
// they go (a switch for benchmarks).
var im2colPrefetch = true

// im2colPrefetchMin is the least sample size (floats) that prefetches: it
// helped 4-14% from 128K floats (128x32x32 and larger), cost up to 5% on
// the small ones.
const im2colPrefetchMin = 1 << 17

// prefetchPlan sets pf to ask, over a block's GEMM, for the input rows
// that block bi's (sample bi/blocks) im2col reads.
func (j *im2colJob) prefetchPlan(pf *prefetchRuns, bi int) {
	d := j.d
	n, oh0 := bi/j.blocks, bi%j.blocks*j.rows
	nb := (min(d.ho, oh0+j.rows) - oh0) * d.wo
	tiles := (d.co + 2*gemmMR - 1) / (2 * gemmMR) * ((nb + 2*gemmNR - 1) / (2 * gemmNR)) * ((d.ci*d.kh*d.kw + gemmKC - 1) / gemmKC)
	im2colPrefetchPlan(pf, d, j.x, n, oh0, min(d.ho, oh0+j.rows), 0, d.ci, tiles)
}

// im2colPrefetchPlan sets pf to ask, over tiles tiles of a GEMM, for the
// rows of sample n of x, channels [c0, c1), that im2col reads for output
// rows [oh0, oh1).
func im2colPrefetchPlan(pf *prefetchRuns, d convDims, x []float32, n, oh0, oh1, c0, c1, tiles int) {
	*pf = prefetchRuns{}
	ih0, ih1 := max(0, oh0*d.sh-d.ph), min(d.h, (oh1-1)*d.sh-d.ph+d.kh)
	if ih0 >= ih1 || c0 >= c1 {
		return
	}
	xN := x[n*d.ci*d.h*d.w : (n+1)*d.ci*d.h*d.w]
	pf.runs[0] = runs{base: xN[c0*d.h*d.w+ih0*d.w:], n: (ih1 - ih0) * d.w, count: c1 - c0, step: d.h * d.w}
	pf.perTile = (pf.runs[0].n*(c1-c0)/16+tiles-1)/tiles + 1
}

// prepack writes w (Co, K) as the GEMM's A panels, slice by slice of the
// sum, as block (gemm.go) and blockBF16 (bf16.go) read them.
func (j *im2colJob) prepack() {
	d := j.d
	k := d.ci * d.kh * d.kw
	gj := gemmJobs.Get().(*gemmJob)
	*gj = gemmJob{alpha: 1, a: j.w, lda: k}
	var tmp []float32
	if j.bf16 {
		tmp = j.ws.getFloats(j.mPad * min(gemmKC, k))
	}
	for pc := 0; pc < k; pc += gemmKC {
		kc := min(gemmKC, k-pc)
		if !j.bf16 {
			gj.packA(j.apre[pc*j.mPad:], 0, d.co, pc, kc)
			continue
		}
		kp := (kc + 1) / 2
		gj.packA(tmp, 0, d.co, pc, kc)
		pairs := u32(j.apre[pc/2*j.mPad:])
		for i0 := 0; i0 < j.mPad; i0 += gemmMR {
			toPairs(pairs[i0*kp:(i0+gemmMR)*kp], tmp[i0*kc:(i0+gemmMR)*kc], kc, gemmMR)
		}
	}
	if tmp != nil {
		j.ws.putFloats(tmp)
	}
	*gj = gemmJob{}
	gemmJobs.Put(gj)
}

// pack writes rows [pc, pc+kc) and columns [jc, jc+nc) of the block's col
// as the GEMM's B panels (packB's layout), each row of col cut into the
// panels from ev, od or sh (s2), else from s.row.
func (s *im2colSrc) pack(bp []float32, pc, kc, jc, nc int) {
	if s.trans {
		s.packT(bp, pc, kc, jc, nc)
		return
	}
	whole := nc / gemmNR * gemmNR
	for p := 0; p < kc; p++ {
		var row []float32
		if t := pc + p; s.s2 {
			if g := t / 3; g != s.key {
				s.build(g)
				s.key = g
			}
			switch t % 3 {
			case 0:
				row = s.sh[jc : jc+nc]
			case 1:
				row = s.ev[jc : jc+nc]
			default:
				row = s.od[jc : jc+nc]
			}
		} else {
			row = s.row[:nc]
			s.colRow(row, t, s.q0+jc)
		}
		for jr := 0; jr < whole; jr += gemmNR {
			v := *(*[gemmNR]float32)(row[jr:])
			*(*[gemmNR]float32)(bp[jr*kc+p*gemmNR:]) = v
		}
		if whole < nc {
			dst := bp[whole*kc+p*gemmNR:][:gemmNR]
			n := copy(dst, row[whole:])
			clear(dst[n:])
		}
	}
}

// build writes ev, od and sh for channel g/KH, kernel row g%KH.
func (s *im2colSrc) build(g int) { s.buildInto(g, s.sh, s.ev, s.od) }

// buildInto writes the block's three rows of col for channel g/KH, kernel
// row g%KH (stride 2, 3 taps, pad 1 in width): for each output row, input
// row ih = oh*sh-ph+kh split into its even (ev, kw 1) and odd (od, kw 2)
// columns (w is 2*wo or 2*wo-1; the odd column past the image is zero),
// and sh (kw 0) the odd ones shifted one pixel right.
func (s *im2colSrc) buildInto(g int, sh, ev, od []float32) {
	d := s.d
	ci, kh := g/d.kh, g%d.kh
	plane := s.x[ci*d.h*d.w : (ci+1)*d.h*d.w]
	oh0 := s.q0 / d.wo
	if useAsm && d.w == 2*d.wo && d.wo%8 == 0 {
		s.buildAsm(plane, oh0, kh, sh, ev, od)
		return
	}
	nOdd := d.w / 2
	for r := 0; r < s.nb/d.wo; r++ {
		ev, od := ev[r*d.wo:][:d.wo], od[r*d.wo:][:d.wo]
		ih := (oh0+r)*d.sh - d.ph + kh
		if ih < 0 || ih >= d.h {
			clear(ev)
			clear(od)
			continue
		}
		src := plane[ih*d.w : (ih+1)*d.w]
		gatherEven(ev, src)
		gatherOdd(od[:nOdd], src)
		clear(od[nOdd:])
	}
	copy(sh[1:s.nb], od[:s.nb-1])
	for q := 0; q < s.nb; q += d.wo {
		sh[q] = 0
	}
}

// buildAsm is buildInto's loop for w = 2*wo, wo a multiple of 8: runs of
// rows inside the image through tapRowsKernel, which writes sh[nb]
// (sh has one float of slack).
func (s *im2colSrc) buildAsm(plane []float32, oh0, kh int, sh, ev, od []float32) {
	d := s.d
	rows, wo := s.nb/d.wo, d.wo
	inside := func(r int) bool {
		ih := (oh0+r)*d.sh - d.ph + kh
		return ih >= 0 && ih < d.h
	}
	for r := 0; r < rows; {
		if !inside(r) {
			clear(ev[r*wo : (r+1)*wo])
			clear(od[r*wo : (r+1)*wo])
			clear(sh[r*wo : (r+1)*wo])
			r++
			continue
		}
		r1 := r + 1
		for r1 < rows && inside(r1) {
			r1++
		}
		src := plane[((oh0+r)*d.sh-d.ph+kh)*d.w:]
		_, _ = src[(r1-r-1)*d.sh*d.w+d.w-1], sh[r1*wo]
		_, _ = ev[r1*wo-1], od[r1*wo-1]
		tapRowsKernel(r1-r, wo, &ev[r*wo], &od[r*wo], &sh[r*wo], wo, &src[0], d.sh*d.w)
		r = r1
	}
}

// colRow writes row t (tap (ci, kh, kw)) of col for output pixels
// [q, q+len(row)): x[ci][oh*sh-ph+kh][ow*sw-pw+kw], zero in the padding.
func (s *im2colSrc) colRow(row []float32, t, q int) {
	d := s.d
	ci, kh, kw := t/(d.kh*d.kw), t/d.kw%d.kh, t%d.kw
	plane := s.x[ci*d.h*d.w : (ci+1)*d.h*d.w]
	// The output columns whose tap lands inside the image: [owLo, owHi).
	owLo := 0
	if d.pw > kw {
		owLo = (d.pw - kw + d.sw - 1) / d.sw
	}
	owHi := 0
	if last := d.w - 1 + d.pw - kw; last >= 0 {
		owHi = last/d.sw + 1
	}
	owHi = min(owHi, d.wo)
	for i := 0; i < len(row); {
		oh, ow := (q+i)/d.wo, (q+i)%d.wo
		n := min(len(row)-i, d.wo-ow)
		out := row[i : i+n]
		i += n
		ih := oh*d.sh - d.ph + kh
		if ih < 0 || ih >= d.h {
			clear(out)
			continue
		}
		a, b := max(ow, owLo), min(ow+n, owHi)
		if a >= b {
			clear(out)
			continue
		}
		clear(out[:a-ow])
		clear(out[b-ow:])
		src := plane[ih*d.w+a*d.sw-d.pw+kw : ih*d.w+(b-1)*d.sw-d.pw+kw+1]
		dst := out[a-ow : b-ow]
		switch d.sw {
		case 1:
			copy(dst, src)
		case 2:
			gatherEven(dst, src)
		default:
			for i := range dst {
				dst[i] = src[i*d.sw]
			}
		}
	}
}
