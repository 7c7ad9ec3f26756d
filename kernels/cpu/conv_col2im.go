package cpu

import "sync"

// Backward-data of strides above 1 (conv_fast.go's gemm+col2im): for each
// sample, col (Ci*KH*KW, Ho*Wo) = w^T x dy[n], then dx[n] += col2im(col).
// The whole col of a sample is megabytes, so it is made in blocks of output
// rows (and, for wide layers, of input channels) that stay in L2: each
// block's GEMM writes its piece of col and col2im adds it into dx right
// away (stride 2, 3 taps, pad 1 in width: an AVX2 kernel interleaves the
// taps). w^T is packed once per call for the GEMMs of all blocks. While a
// block's GEMM runs it asks, a few lines after each tile, for the rows of dx
// its col2im will add into and the dy columns of the next block, so that
// the memory traffic overlaps the arithmetic. The parts are (sample,
// channel group) units; each dx element is summed over (oh, kh) in
// ascending oh whatever the blocks and units, so the result does not depend
// on the thread count.

// col2imMinPixels is the least number of output pixels (GEMM columns) in a
// block, col2imBudget the most floats in a block of col (256 KiB).
const (
	col2imMinPixels = 128
	col2imBudget    = 1 << 16
)

// col2imPrefetch: the GEMMs ask for the next lines of dx and dy as they go
// (a switch for benchmarks).
var col2imPrefetch = true

type col2imJob struct {
	d              convDims
	dx, dy, w      []float32
	apre           []float32 // w^T packed for the GEMM (with bf16: as pair panels, bits in float32s)
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
	if d.n == 0 || d.ci == 0 || d.ho <= 0 || d.wo <= 0 {
		return // nothing to add
	}
	j := col2imJobs.Get().(*col2imJob)
	j.d, j.dx, j.dy, j.w, j.ws, j.bf16 = d, dx, dy, w, b.ws, b.bf16
	j.blocking(b.threads)
	k := d.ci * d.kh * d.kw
	j.mPad = roundUp(k, gemmMR)
	j.apre = b.ws.getFloats(j.mPad * apreDepth(d.co, b.bf16))
	j.packing = true
	runParts(j, min(b.threads, max(1, j.mPad*d.co/minParallel), j.mPad/gemmMR), &j.done)
	j.packing = false
	runParts(j, min(b.threads, d.n*j.groups), &j.done)
	b.ws.putFloats(j.apre)
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
	rows := min(d.ho, max(1, (col2imMinPixels+d.wo-1)/d.wo))
	chans := max(j.unit, col2imBudget/(taps*rows*d.wo)/j.unit*j.unit)
	units := (d.ci + j.unit - 1) / j.unit
	j.groups = min(units, (d.ci+chans-1)/chans)
	// Taller blocks where the groups leave room (from the shape alone).
	j.rows = max(rows, min(d.ho, col2imBudget/(taps*j.groupChans()*d.wo)))
	if (d.n*j.groups)%threads != 0 && d.n*j.groups < 4*threads {
		j.groups = min(units, roundUp(j.groups, threads))
	}
	j.maxChans = j.groupChans()
}

// groupChans is the most channels in one of the groups.
func (j *col2imJob) groupChans() int {
	most := 0
	for g := 0; g < j.groups; g++ {
		c0, c1 := partRange(j.d.ci, j.unit, g, j.groups)
		most = max(most, c1-c0)
	}
	return most
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
	if j.packing {
		j.pack(part, parts)
		return
	}
	gj := gemmJobs.Get().(*gemmJob)
	*gj = gemmJob{transA: true, alpha: 1, a: j.w, lda: k, ldb: p, ws: j.ws, bf16: j.bf16}
	j.runUnits(gj, part, parts)
	*gj = gemmJob{}
	gemmJobs.Put(gj)
}

// apreDepth is the floats per row of the packed w^T: co, or with bf16 the
// pairs of each gemmKC slice of the sum.
func apreDepth(co int, bf16 bool) int {
	if !bf16 {
		return co
	}
	depth := 0
	for pc := 0; pc < co; pc += gemmKC {
		depth += (min(gemmKC, co-pc) + 1) / 2
	}
	return depth
}

// pack writes this part's panels of w^T into apre, slice by slice of the
// sum, as block (gemm.go) and blockBF16 (bf16.go) read them.
func (j *col2imJob) pack(part, parts int) {
	d := j.d
	k := d.ci * d.kh * d.kw
	lo, hi := partRange(j.mPad, gemmMR, part, parts)
	if lo >= hi {
		return
	}
	var tmp []float32
	if j.bf16 {
		tmp = j.ws.getFloats((hi - lo) * min(gemmKC, d.co))
	}
	for pc := 0; pc < d.co; pc += gemmKC {
		kc := min(gemmKC, d.co-pc)
		if !j.bf16 {
			packWT(j.apre[pc*j.mPad+lo*kc:], j.w[pc*k:], k, kc, lo, min(hi, k))
			continue
		}
		kp := (kc + 1) / 2
		packWT(tmp, j.w[pc*k:], k, kc, lo, min(hi, k))
		pairs := u32(j.apre[pc/2*j.mPad:])
		for i0 := lo; i0 < hi; i0 += gemmMR {
			toPairs(pairs[i0*kp:(i0+gemmMR)*kp], tmp[(i0-lo)*kc:(i0-lo+gemmMR)*kc], kc, gemmMR)
		}
	}
	if tmp != nil {
		j.ws.putFloats(tmp)
	}
}

// packWT writes rows [lo, hi) (lo a multiple of gemmMR) of w^T, w (kc, k)
// row-major, as the GEMM's A panels of kc from ap[0]: ap[((i-lo)/6*kc +
// p)*6 + i%6] = w[p*k + i], the rows of the last panel past k zero. Eight panels at a
// time, so that each row of w is read in 48-float runs (the rows of w are
// often a multiple of 4 KiB apart; read one panel at a time they would
// share a few cache sets).
func packWT(ap, w []float32, k, kc, lo, hi int) {
	const group = 8
	for g0 := lo; g0 < hi; g0 += group * gemmMR {
		g1 := min(hi, g0+group*gemmMR)
		whole := g0 + (min(g1, k)-g0)/gemmMR*gemmMR // panels inside k
		for p := 0; p < kc; p++ {
			row := w[p*k : (p+1)*k]
			for i0 := g0; i0 < whole; i0 += gemmMR {
				s := (*[gemmMR]float32)(row[i0:])
				d := (*[gemmMR]float32)(ap[(i0-lo)*kc+p*gemmMR:])
				d[0], d[1], d[2], d[3], d[4], d[5] = s[0], s[1], s[2], s[3], s[4], s[5]
			}
		}
		if whole < g1 {
			panel := ap[(whole-lo)*kc : (whole-lo+gemmMR)*kc]
			clear(panel)
			for p := 0; p < kc; p++ {
				copy(panel[p*gemmMR:][:gemmMR], w[p*k+whole:p*k+k])
			}
		}
	}
}

// runUnits runs this part's (sample, channel group) units, block by block.
func (j *col2imJob) runUnits(gj *gemmJob, part, parts int) {
	d := j.d
	taps, p := d.kh*d.kw, d.ho*d.wo
	gj.apreM = j.mPad
	if j.bf16 {
		gj.apreB = u32(j.apre)
	} else {
		gj.apre = j.apre
	}
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
			gj.pfOn = useAsm && col2imPrefetch
			if gj.pfOn {
				j.prefetchPlan(&gj.pf, dxN, dyN, c0, c1, oh0, oh1, mg)
			}
			gj.block(0, mg, 0, nb, 0, d.co, col, nb, 0, nil)
			col2imBlock(d, col, nb, dxN, c0, c1, oh0, oh1)
		}
	}
	j.ws.putFloats(col)
}

// col2imBlock adds the block of col for channels [c0, c1) and output rows
// [oh0, oh1) (rows (ci-c0, kh, kw), ldc apart; columns (oh-oh0, ow)) into
// dxN (Ci, H, W), channel by channel, kh descending: the taps that reach
// one input row then come in ascending oh, as across blocks, so the sums
// do not depend on where the blocks end.
func col2imBlock(d convDims, col []float32, ldc int, dxN []float32, c0, c1, oh0, oh1 int) {
	s2 := d.sw == 2 && d.kw == 3 && d.pw == 1
	for ci := c0; ci < c1; ci++ {
		plane := dxN[ci*d.h*d.w : (ci+1)*d.h*d.w]
		for kh := d.kh - 1; kh >= 0; kh-- {
			// The output rows whose tap kh lands inside the image.
			a, b := oh0, oh1
			for a < b && a*d.sh-d.ph+kh < 0 {
				a++
			}
			for b > a && (b-1)*d.sh-d.ph+kh >= d.h {
				b--
			}
			if a == b {
				continue
			}
			dst := plane[(a*d.sh-d.ph+kh)*d.w:]
			src := col[((ci-c0)*d.kh+kh)*d.kw*ldc+(a-oh0)*d.wo:]
			if s2 {
				col2imS2Rows(dst, d.sh*d.w, d.w, src, src[ldc:], src[2*ldc:], d.wo, b-a)
				continue
			}
			for oh := a; oh < b; oh++ {
				row := dst[(oh-a)*d.sh*d.w:][:d.w]
				for kw := 0; kw < d.kw; kw++ {
					for ow, v := range src[kw*ldc+(oh-a)*d.wo:][:d.wo] {
						if iw := ow*d.sw - d.pw + kw; iw >= 0 && iw < d.w {
							row[iw] += v
						}
					}
				}
			}
		}
	}
}

// col2imS2Rows adds rows output rows' three taps (kw 0, 1, 2: r0, r1, r2,
// rows wo apart) of a stride-2, pad-1 conv into input rows of width w
// (dst, step apart): pixel ow's kw = 1 tap lands on 2*ow, its kw = 2 tap
// and pixel ow+1's kw = 0 tap on 2*ow+1 (summed first); pixel 0's kw = 0
// tap falls in the padding. r0 holds one float past its last row (read,
// unused).
func col2imS2Rows(dst []float32, step, w int, r0, r1, r2 []float32, wo, rows int) {
	// The vector kernel takes runs of 8 pixels; it ends the row when the
	// row's last odd pixel is inside it (w even), else the loop below does.
	n8 := wo &^ 7
	last := n8 == wo && w == 2*wo
	if n8 == wo && !last {
		n8 -= 8
	}
	if !useAsm {
		n8 = 0
	}
	if n8 > 0 {
		_, _ = dst[(rows-1)*step+2*n8-1], r0[(rows-1)*wo+n8]
		_, _ = r1[(rows-1)*wo+n8-1], r2[(rows-1)*wo+n8-1]
		col2imS2Kernel(n8, rows, &dst[0], step, &r0[0], &r1[0], &r2[0], wo, boolInt(last))
		if n8 == wo {
			return
		}
	}
	for r := 0; r < rows; r++ {
		d := dst[r*step:][:w]
		s0, s1, s2 := r0[r*wo:][:wo], r1[r*wo:][:wo], r2[r*wo:][:wo]
		for i := n8; i < wo; i++ {
			d[2*i] += s1[i]
			if 2*i+1 < w {
				v := s2[i]
				if i+1 < wo {
					v += s0[i+1]
				}
				d[2*i+1] += v
			}
		}
	}
}

// prefetchPlan sets pf to ask, over the GEMM of the block of channels
// [c0, c1) (mg rows of col) and output rows [oh0, oh1), for the rows of dx
// that the block's col2im adds into and the columns of dy that the next
// block's GEMM packs.
func (j *col2imJob) prefetchPlan(pf *prefetchRuns, dxN, dyN []float32, c0, c1, oh0, oh1, mg int) {
	d := j.d
	*pf = prefetchRuns{}
	ih0, ih1 := max(0, oh0*d.sh-d.ph), min(d.h, (oh1-1)*d.sh-d.ph+d.kh)
	if ih0 < ih1 {
		pf.runs[0] = runs{base: dxN[c0*d.h*d.w+ih0*d.w:], n: (ih1 - ih0) * d.w, count: c1 - c0, step: d.h * d.w}
	}
	if next := min(d.ho, oh1+j.rows); oh1 < next {
		pf.runs[1] = runs{base: dyN[oh1*d.wo:], n: (next - oh1) * d.wo, count: d.co, step: d.ho * d.wo}
	}
	nb := (oh1 - oh0) * d.wo
	tiles := (mg + 2*gemmMR - 1) / (2 * gemmMR) * ((nb + 2*gemmNR - 1) / (2 * gemmNR))
	lines := (pf.runs[0].n*pf.runs[0].count + pf.runs[1].n*pf.runs[1].count) / 16
	pf.perTile = (lines+tiles-1)/tiles + 1
}

// runs are count runs of n floats, run r at base[r*step:].
type runs struct {
	base           []float32
	n, count, step int
}

// prefetchRuns asks for the cache lines of two sets of runs (into L2),
// perTile lines a call of next: spread over the tiles of a GEMM, so that
// the memory traffic overlaps the arithmetic. (In bursts, every few tiles,
// it helped less.)
type prefetchRuns struct {
	runs                   [2]runs
	set, run, off, perTile int
}

func (p *prefetchRuns) next() {
	for p.set < len(p.runs) && p.run >= p.runs[p.set].count {
		p.set, p.run, p.off = p.set+1, 0, 0
	}
	if p.set == len(p.runs) {
		return
	}
	r := &p.runs[p.set]
	k := min(p.perTile*16, r.n-p.off)
	start := p.run*r.step + p.off
	_ = r.base[start+k-1]
	prefetchKernel(&r.base[start], k, 1, 0)
	if p.off += k; p.off >= r.n {
		p.off = 0
		p.run++
	}
}
