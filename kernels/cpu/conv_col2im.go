package cpu

import "sync"

// Backward-data of strides above 1 (conv_fast.go's gemm+col2im): for each
// sample, col (Ci*KH*KW, Ho*Wo) = w^T x dy[n], then dx[n] += col2im(col).
// The whole col of a sample is megabytes, so it is made in blocks of output
// rows (and, for wide layers, of input channels) that stay in L2: each
// block's GEMM writes its piece of col and col2im adds it into dx right
// away. w^T is packed once per call for the GEMMs of all blocks. The parts
// are (sample, channel group) units; each dx element is summed over (oh,
// kh) in ascending oh whatever the blocks and units, so the result does not
// depend on the thread count.

// col2imMinPixels is the least number of output pixels (GEMM columns) in a
// block, col2imBudget the most floats in a block of col (256 KiB).
const (
	col2imMinPixels = 128
	col2imBudget    = 1 << 16
)

type col2imJob struct {
	d              convDims
	dx, dy, w      []float32
	apre           []float32 // w^T packed (nil with bf16: each block packs its own)
	mPad           int       // rows of apre (Ci*KH*KW rounded up to gemmMR)
	rows, groups   int       // output rows per block, channel groups per sample
	unit, maxChans int       // channel-group boundaries are multiples of unit
	packing        bool      // the parts pack apre (else they run units)
	ws             *workspace
	bf16           bool
	done           partsDone
}

var col2imJobs = sync.Pool{New: func() any { return new(col2imJob) }}

func (b *Backend) conv2dBackwardDataGemm(dx, dy, w []float32, d convDims) {
	j := col2imJobs.Get().(*col2imJob)
	j.d, j.dx, j.dy, j.w, j.ws, j.bf16 = d, dx, dy, w, b.ws, b.bf16
	j.blocking(b.threads)
	k := d.ci * d.kh * d.kw
	if !b.bf16 {
		j.mPad = roundUp(k, gemmMR)
		j.apre = b.ws.getFloats(j.mPad * d.co)
		j.packing = true
		runParts(j, min(b.threads, max(1, j.mPad*d.co/minParallel), j.mPad/gemmMR), &j.done)
		j.packing = false
	}
	runParts(j, min(b.threads, d.n*j.groups), &j.done)
	if j.apre != nil {
		b.ws.putFloats(j.apre)
	}
	j.dx, j.dy, j.w, j.apre, j.ws = nil, nil, nil, nil, nil
	col2imJobs.Put(j)
}

// blocking picks the block of output rows and the channel groups: blocks of
// at least col2imMinPixels pixels, groups whose col block fits
// col2imBudget, and units (sample, group) that share out evenly over the
// threads.
func (j *col2imJob) blocking(threads int) {
	d := j.d
	taps := d.kh * d.kw
	// Group boundaries at whole A panels: c0*taps a multiple of gemmMR.
	j.unit = gemmMR / gcd(taps, gemmMR)
	j.rows = min(d.ho, max(1, (col2imMinPixels+d.wo-1)/d.wo))
	chans := max(j.unit, col2imBudget/(taps*j.rows*d.wo)/j.unit*j.unit)
	units := (d.ci + j.unit - 1) / j.unit
	j.groups = min(units, (d.ci+chans-1)/chans)
	if (d.n*j.groups)%threads != 0 && d.n*j.groups < 4*threads {
		j.groups = min(units, roundUp(j.groups, threads))
	}
	j.maxChans = 0
	for g := 0; g < j.groups; g++ {
		c0, c1 := partRange(d.ci, j.unit, g, j.groups)
		j.maxChans = max(j.maxChans, c1-c0)
	}
	// Taller blocks where the groups leave room.
	j.rows = max(j.rows, min(d.ho, col2imBudget/(taps*j.maxChans*d.wo)))
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (j *col2imJob) runPart(part, parts int) {
	d := j.d
	k, p := d.ci*d.kh*d.kw, d.ho*d.wo
	gj := gemmJobs.Get().(*gemmJob)
	*gj = gemmJob{transA: true, alpha: 1, a: j.w, lda: k, ldb: p, ws: j.ws, bf16: j.bf16}
	if j.packing {
		lo, hi := partRange(j.mPad, gemmMR, part, parts)
		for pc := 0; pc < d.co; pc += gemmKC {
			kc := min(gemmKC, d.co-pc)
			gj.packA(j.apre[pc*j.mPad+lo*kc:], lo, min(hi, k)-lo, pc, kc)
		}
	} else {
		j.runUnits(gj, part, parts)
	}
	*gj = gemmJob{}
	gemmJobs.Put(gj)
}

// runUnits runs this part's (sample, channel group) units, block by block.
func (j *col2imJob) runUnits(gj *gemmJob, part, parts int) {
	d := j.d
	taps, p := d.kh*d.kw, d.ho*d.wo
	gj.apre, gj.apreM = j.apre, j.mPad
	u0, u1 := partRange(d.n*j.groups, 1, part, parts)
	col := j.ws.getFloats(j.maxChans * taps * j.rows * d.wo)
	for u := u0; u < u1; u++ {
		n, g := u/j.groups, u%j.groups
		c0, c1 := partRange(d.ci, j.unit, g, j.groups)
		if c0 >= c1 {
			continue
		}
		m0, mg := c0*taps, (c1-c0)*taps
		gj.a, gj.apreRow = j.w[m0:], m0
		dyN := j.dy[n*d.co*p : (n+1)*d.co*p]
		dxN := j.dx[n*d.ci*d.h*d.w : (n+1)*d.ci*d.h*d.w]
		for oh0 := 0; oh0 < d.ho; oh0 += j.rows {
			oh1 := min(d.ho, oh0+j.rows)
			nb := (oh1 - oh0) * d.wo
			gj.bm = dyN[oh0*d.wo:]
			gj.block(0, mg, 0, nb, 0, d.co, col, nb, 0, nil)
			col2imBlock(d, col, nb, dxN, c0, c1, oh0, oh1)
		}
	}
	j.ws.putFloats(col)
}

// col2imBlock adds the block of col for channels [c0, c1) and output rows
// [oh0, oh1) (rows (ci-c0, kh, kw), ldc apart; columns (oh-oh0, ow)) into
// dxN (Ci, H, W), channel by channel, oh ascending.
func col2imBlock(d convDims, col []float32, ldc int, dxN []float32, c0, c1, oh0, oh1 int) {
	s2 := d.sw == 2 && d.kw == 3 && d.pw == 1
	for ci := c0; ci < c1; ci++ {
		plane := dxN[ci*d.h*d.w : (ci+1)*d.h*d.w]
		for oh := oh0; oh < oh1; oh++ {
			for kh := 0; kh < d.kh; kh++ {
				ih := oh*d.sh - d.ph + kh
				if ih < 0 || ih >= d.h {
					continue
				}
				dst := plane[ih*d.w : (ih+1)*d.w]
				src := col[((ci-c0)*d.kh+kh)*d.kw*ldc+(oh-oh0)*d.wo:]
				if s2 {
					col2imS2Row(dst, src[:d.wo], src[ldc:][:d.wo], src[2*ldc:][:d.wo])
					continue
				}
				for kw := 0; kw < d.kw; kw++ {
					for ow, v := range src[kw*ldc:][:d.wo] {
						if iw := ow*d.sw - d.pw + kw; iw >= 0 && iw < d.w {
							dst[iw] += v
						}
					}
				}
			}
		}
	}
}

// col2imS2Row adds one output row's three taps (kw 0, 1, 2: r0, r1, r2) of
// a stride-2, pad-1 conv into the input row dst: pixel ow's kw = 1 tap
// lands on 2*ow, its kw = 2 tap and pixel ow+1's kw = 0 tap on 2*ow+1
// (summed first); pixel 0's kw = 0 tap falls in the padding.
func col2imS2Row(dst, r0, r1, r2 []float32) {
	wo := len(r1)
	full := wo - 1 // pairs with both odd taps inside the row
	_, _, _ = dst[2*full], r0[full], r2[full]
	i := 0
	if useAsm {
		if i = full &^ 7; i > 0 {
			col2imS2Kernel(i, &dst[0], &r0[0], &r1[0], &r2[0])
		}
	}
	for ; i < full; i++ {
		dst[2*i] += r1[i]
		dst[2*i+1] += r2[i] + r0[i+1]
	}
	dst[2*full] += r1[full]
	if 2*full+1 < len(dst) {
		dst[2*full+1] += r2[full]
	}
}
