package cpu

import "sync"

// Backward-filter of strided convolutions (algo.go's gemm+im2col):
// dw (Co, Ci*KH*KW) += dy[n] (Co, block) x col^T (block, Ci*KH*KW) for each
// sample and block of whole output rows (at most im2colPixels, one slice of
// the GEMM's sum), through the packed GEMM, whose B panels (16 taps by the
// block's pixels) im2col writes transposed from the rows of col
// (conv_im2col.go). The parts cut the taps, the columns of dw, at
// multiples of 16; each part runs every sample and block in order, so each
// element of dw gets the same sum in the same order whatever the thread
// count.

type im2colFilterJob struct {
	d            convDims
	dw, dy, x    []float32
	rows, blocks int // output rows per block, blocks per sample
	ws           *workspace
	bf16         bool
	done         partsDone
}

var im2colFilterJobs = sync.Pool{New: func() any { return new(im2colFilterJob) }}

func (b *Backend) conv2dBackwardFilterIm2col(dw, db, dy, x []float32, d convDims) {
	k, p := d.ci*d.kh*d.kw, d.ho*d.wo
	if d.n > 0 && d.co > 0 && p > 0 {
		j := im2colFilterJobs.Get().(*im2colFilterJob)
		*j = im2colFilterJob{d: d, dw: dw, dy: dy, x: x, ws: b.ws, bf16: b.bf16}
		j.rows = min(d.ho, max(1, im2colPixels/d.wo))
		j.blocks = (d.ho + j.rows - 1) / j.rows
		flops := 2 * d.co * k * p * d.n
		runParts(j, min(b.threads, (k+gemmNR-1)/gemmNR, max(1, flops/gemmMinParallel)), &j.done)
		*j = im2colFilterJob{}
		im2colFilterJobs.Put(j)
	}
	if db != nil {
		b.biasGrad(db, dy, d.n, d.co, p)
	}
}

func (j *im2colFilterJob) runPart(part, parts int) {
	d := j.d
	k, p, nbMax := d.ci*d.kh*d.kw, d.ho*d.wo, j.rows*d.wo
	t0, t1 := partRange(k, gemmNR, part, parts)
	if t0 >= t1 {
		return
	}
	// Rows one float longer than a block: buildInto writes one past sh.
	src := getIm2colSrc(d)
	src.trans, src.ld = true, nbMax+1
	buf := j.ws.getFloats(im2colStageRows * (nbMax + 1))
	src.stage = buf
	gj := gemmJobs.Get().(*gemmJob)
	*gj = gemmJob{alpha: 1, lda: p, ws: j.ws, bf16: j.bf16, im2col: src}
	for n := 0; n < d.n; n++ {
		src.x = j.x[n*d.ci*d.h*d.w : (n+1)*d.ci*d.h*d.w]
		for blk := 0; blk < j.blocks; blk++ {
			oh0 := blk * j.rows
			src.q0 = oh0 * d.wo
			src.nb = (min(d.ho, oh0+j.rows) - oh0) * d.wo
			gj.a = j.dy[n*d.co*p+src.q0:]
			gj.pfOn = useAsm && im2colPrefetch && d.h*d.w >= im2colFilterPrefetchMin
			if gj.pfOn {
				j.prefetchPlan(&gj.pf, n, blk, t0, t1)
			}
			gj.block(0, d.co, t0, t1, 0, src.nb, j.dw, k, 1, nil)
		}
	}
	j.ws.putFloats(buf)
	putIm2colSrc(src)
	*gj = gemmJob{}
	gemmJobs.Put(gj)
}

// im2colFilterPrefetchMin is the least input plane (H*W) that prefetches:
// from 32x32 it helped 5-12%, at 16x16 it cost 1-4%.
const im2colFilterPrefetchMin = 1024

// prefetchPlan sets pf to ask, over the GEMM of block blk of sample n, for
// the input rows of the next block of taps [t0, t1)'s channels.
func (j *im2colFilterJob) prefetchPlan(pf *prefetchRuns, n, blk, t0, t1 int) {
	d := j.d
	if blk++; blk == j.blocks {
		n, blk = n+1, 0
	}
	if n == d.n {
		*pf = prefetchRuns{}
		return
	}
	taps := d.kh * d.kw
	c0, c1 := t0/taps, (t1-1)/taps+1
	tiles := (d.co + 2*gemmMR - 1) / (2 * gemmMR) * ((t1 - t0 + 2*gemmNR - 1) / (2 * gemmNR))
	oh0 := blk * j.rows
	im2colPrefetchPlan(pf, d, j.x, n, oh0, min(d.ho, oh0+j.rows), c0, c1, tiles)
}

// im2colStageRows: the rows of col packT makes for one panel of 16 taps:
// from the first tap's (ci, kh) group (up to 2 taps before it) to the
// panel's end, and the whole last group.
const im2colStageRows = 2 + gemmNR + 2

// packT writes op(B) = col^T, rows (pixels of the block) [pc, pc+kc),
// columns (taps) [jc, jc+nc), as the GEMM's B panels (packB's layout):
// the panel's rows of col are made in stage, then transposed into the
// panel (8x8 blocks in assembly).
func (s *im2colSrc) packT(bp []float32, pc, kc, jc, nc int) {
	ld, kc8 := s.ld, kc&^7
	if !useAsm {
		kc8 = 0
	}
	for jr := 0; jr < nc; jr += gemmNR {
		nr := min(gemmNR, nc-jr)
		base := s.stageRows(jc+jr, nr)
		for x := nr; x < gemmNR; x++ {
			clear(s.stage[(base+x)*ld+pc:][:kc])
		}
		panel := bp[jr*kc : (jr+gemmNR)*kc]
		if kc8 > 0 {
			for h := 0; h < gemmNR; h += 8 {
				src := s.stage[(base+h)*ld+pc:]
				_, _ = src[7*ld+kc8-1], panel[h+(kc8-1)*gemmNR+7]
				transposeKernel(kc8, &panel[h], &src[0], ld)
			}
		}
		for x := 0; x < gemmNR; x++ {
			row := s.stage[(base+x)*ld+pc:][:kc]
			for p := kc8; p < kc; p++ {
				panel[p*gemmNR+x] = row[p]
			}
		}
	}
}

// stageRows makes the block's rows of col for taps [t0, t0+nr) in stage
// and returns the row of t0.
func (s *im2colSrc) stageRows(t0, nr int) int {
	ld, nb := s.ld, s.nb
	if !s.s2 {
		for x := 0; x < nr; x++ {
			s.colRow(s.stage[x*ld:][:nb], t0+x, s.q0)
		}
		return 0
	}
	g0 := t0 / 3
	for g := g0; g <= (t0+nr-1)/3; g++ {
		r := 3 * (g - g0)
		s.buildInto(g, s.stage[r*ld:][:nb+1], s.stage[(r+1)*ld:][:nb], s.stage[(r+2)*ld:][:nb])
	}
	return t0 - 3*g0
}
