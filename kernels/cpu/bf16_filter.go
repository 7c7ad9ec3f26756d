package cpu

import "sync"

// The BF16 direct backward-filter lays a group of samples out so that one
// dot over q sums them all: the phased image as chains of planes, one chain
// per (channel, phase) holding the group's samples step values apart, and
// every dy row as the samples' grids one after the other, step apart. Tap t
// of sample s then reads x[offs[t] + s*step + q'] against
// dy[m][s*step + q'] for q' < step, and one long dot covers the group: one
// pass over the taps, one parallel region and one reduction per kernel call
// for all its samples, where a per-sample layout paid them per sample
// (costly on small planes and on two threads). step is the plane, or the
// plane less its last row where that row and the first are zero borders
// (bf16Step), so that consecutive samples share it. A read past a plane
// (the grid's zero column, the last row's right border) lands on the next
// plane's first row or value, a top or left border: zero, as in the
// per-sample layout.

// A group takes samples until its dot runs over bf16GroupPixels pixels:
// past that the kernel's per-call costs and the parallel regions are few,
// and more samples only make copies that fall out of the caches before the
// dot reads them. Its bfloat16 copies (image and dy grid) stay under
// bf16GroupElems values (2 MiB): the 128 and 64 px layers (and the 128 px
// stride-2 one) take one sample a group, as before, measured faster than
// 4 or 8 together in quiet moments (though slower under load, where fewer
// parallel regions win); 32 px layers take 3, 16 px 4, 8 px all 8.
var bf16GroupPixels, bf16GroupElems = 16384, 1 << 20

// bf16Prep writes one group's bfloat16 copies: units [0, cnt*ci) fill the
// phased planes of (sample, channel) pairs, the next mPad*cnt units the dy
// rows of (row, sample) pairs.
type bf16Prep struct {
	img          phasedImage // one sample, all channels
	x, dy        []float32   // the group's first sample
	xb, gb       []uint16
	scratch      []float32 // per part: one channel's phased planes (float32)
	cnt, co, lq  int
	ho, wo, mPad int
	step, chain  int // sample stride in a chain of planes; chain stride
	done         partsDone
}

var bf16Preps = sync.Pool{New: func() any { return new(bf16Prep) }}

// one is the phased image of a single channel.
func (j *bf16Prep) one() phasedImage { c := j.img; c.c = 1; return c }

func (j *bf16Prep) runPart(part, parts int) {
	ci := j.img.c
	one := j.one()
	ps, phases := one.planeSize(), one.sh*one.sw
	// Parts cut the work, not the units: an image unit fills phases planes
	// from a source channel (4 and 4 times the pixels for stride 2), a dy
	// unit one grid.
	nx, wx, wd := j.cnt*ci, phases*ps, j.step
	total := nx*wx + j.cnt*j.mPad*wd
	unitAt := func(c int) int {
		if c < nx*wx {
			return (c + wx - 1) / wx
		}
		return nx + (c-nx*wx+wd-1)/wd
	}
	lo, hi := unitAt(total*part/parts), unitAt(total*(part+1)/parts)
	scratch := j.scratch[part*one.size():][:one.size()]
	hw, xPlane := j.img.h*j.img.w, ci*j.img.h*j.img.w
	for u := lo; u < hi; u++ {
		if v := u - j.cnt*ci; v >= 0 {
			j.gridRow(v/j.cnt, v%j.cnt, scratch)
			continue
		}
		s, c := u/ci, u%ci
		n := j.step // the next sample writes the shared row
		if s == j.cnt-1 {
			n = ps
		}
		if phases == 1 && j.img.w >= 64 {
			j.planeRows(j.xb[c*j.chain+s*j.step:][:n], j.x[s*xPlane+c*hw:][:hw])
			continue
		}
		one.fill(scratch, j.x[s*xPlane+c*hw:][:hw], 0, 1)
		for ph := 0; ph < phases; ph++ {
			cvtBF16(j.xb[(c*phases+ph)*j.chain+s*j.step:][:n], scratch[ph*ps:][:n])
		}
	}
}

// planeRows writes the rows of a stride-1 phased plane (phasedImage.fill)
// that dst holds, straight to bfloat16: long rows, no float32 copy.
func (j *bf16Prep) planeRows(dst []uint16, img []float32) {
	p := j.img
	for r := 0; r < len(dst)/p.g; r++ {
		row := dst[r*p.g : (r+1)*p.g]
		ih := r - p.top
		if ih < 0 || ih >= p.h {
			clear(row)
			continue
		}
		lo := min(p.left, p.g)
		k := min(p.w, p.g-lo)
		clear(row[:lo])
		cvtBF16(row[lo:lo+k], img[ih*p.w:ih*p.w+k])
		clear(row[lo+k:])
	}
}

// gridRow writes row m of sample s's dy onto its grid (zeros for the
// padding rows m >= co), and the row's tail after the last sample. Short
// rows go through a float32 grid in scratch: one conversion, not one a row.
func (j *bf16Prep) gridRow(m, s int, scratch []float32) {
	grid := j.gb[m*j.lq+s*j.step:][:j.step]
	if s == j.cnt-1 {
		// The last grid runs to the row's end: its ho rows, then zeros.
		grid = j.gb[m*j.lq+s*j.step : (m+1)*j.lq]
	}
	if m >= j.co {
		clear(grid)
		return
	}
	g, plane := j.img.g, j.ho*j.wo
	src := j.dy[(s*j.co+m)*plane:][:plane]
	// Columns past g (a 1x1 kernel with padding) read only the zero border:
	// they are left out, as gridJob leaves them.
	w := min(j.wo, g)
	if j.wo < 64 {
		f := scratch[:len(grid)]
		for i := 0; i < j.ho; i++ {
			row := f[i*g : (i+1)*g]
			copy(row, src[i*j.wo:i*j.wo+w])
			clear(row[w:])
		}
		clear(f[j.ho*g:])
		cvtBF16(grid, f)
		return
	}
	for i := 0; i < j.ho; i++ {
		row := grid[i*g : (i+1)*g]
		cvtBF16(row[:w], src[i*j.wo:i*j.wo+w])
		clear(row[w:])
	}
	clear(grid[j.ho*g:])
}

// bf16Step is the sample stride of a chain of planes: a plane's rows, less
// one where its last row and its first are zero borders (stride 1, a zero
// row above and below the image), which consecutive samples then share;
// the grid of dy (ho rows) must fit in it.
func bf16Step(img phasedImage, ho int) int {
	if img.sh == 1 && img.top >= 1 && img.hg-img.top-img.h >= 1 && ho < img.hg {
		return (img.hg - 1) * img.g
	}
	return img.planeSize()
}

// bf16Taps writes the tap offsets into a group laid out as above (chains of
// planes chain values apart) and returns the largest.
func bf16Taps(offs []int, img phasedImage, d convDims, chain int) int {
	maxOff := 0
	for c := 0; c < d.ci; c++ {
		for kh := 0; kh < d.kh; kh++ {
			for kw := 0; kw < d.kw; kw++ {
				pl := (c*img.sh+kh%img.sh)*img.sw + kw%img.sw
				o := pl*chain + (kh/img.sh)*img.g + kw/img.sw
				offs[(c*d.kh+kh)*d.kw+kw] = o
				maxOff = max(maxOff, o)
			}
		}
	}
	return maxOff
}

// conv2dBackwardFilterBF16 is the direct backward-filter (conv_fast.go) on
// bfloat16 copies of groups of samples (above): rows of dy in groups of 8
// (the row count padded to 8), pixels in runs of 32.
func (b *Backend) conv2dBackwardFilterBF16(dw, db, dy, x []float32, d convDims) {
	ws := b.ws
	k, plane, xPlane := d.ci*d.kh*d.kw, d.ho*d.wo, d.ci*d.h*d.w
	kPad, mPad := roundUp(k, dotNR), roundUp(d.co, 2*dotMR)
	img := d.inputImage()
	ps, phases, step := img.planeSize(), img.sh*img.sw, bf16Step(img, d.ho)
	perGroup := max(1, min(ceilDiv(bf16GroupPixels, step), bf16GroupElems/((d.ci*phases+mPad)*step)))
	nb := (d.n + perGroup - 1) / perGroup // groups
	nb = (d.n + nb - 1) / nb              // samples per group
	offs := ws.getInts(kPad)
	part := ws.getZeros(mPad * kPad)
	pj := bf16Preps.Get().(*bf16Prep)
	*pj = bf16Prep{img: img, co: d.co, ho: d.ho, wo: d.wo, mPad: mPad, step: step}
	parts := min(b.threads, nb*(d.ci+mPad))
	one := pj.one()
	scratch := ws.getFloats(parts * one.size())
	pj.scratch = scratch
	lqMax := roundUp(nb*step, 32)
	xbBuf := ws.getFloats((d.ci*phases*(nb*step+ps) + 2*lqMax + 1) / 2)
	gbBuf := ws.getFloats(mPad * lqMax / 2)
	j := dotJobs.Get().(*dotJob)
	for n0 := 0; n0 < d.n; n0 += nb {
		cnt := min(nb, d.n-n0)
		// The last sample's grid needs only its ho rows.
		lq, chain := roundUp((cnt-1)*step+d.ho*img.g, 32), (cnt-1)*step+ps
		clear(offs[k:])
		maxOff := bf16Taps(offs, img, d, chain)
		// Every read, x[o+q] for q < lq, lies inside xb; past the planes it is zero.
		planes := d.ci * phases * chain
		xb := u16(xbBuf)[:max(planes, maxOff+lq)]
		clear(xb[planes:])
		pj.x, pj.dy = x[n0*xPlane:(n0+cnt)*xPlane], dy[n0*d.co*plane:(n0+cnt)*d.co*plane]
		pj.xb, pj.gb, pj.cnt, pj.lq, pj.chain = xb, u16(gbBuf)[:mPad*lq], cnt, lq, chain
		runParts(pj, min(parts, cnt*(d.ci+mPad)), &pj.done)
		*j = dotJob{m: d.co, k: k, offs: offs, dw: part, ldw: mPad, lq: lq}
		j.bf16, j.dygB, j.srcB = true, pj.gb, xb
		j.chunk = max(32, bf16Chunk(d.co, lq)/32*32)
		j.run(b.threads)
	}
	addTapMajorParallel(b.threads, dw, part, d.co, k, mPad)
	*j = dotJob{}
	dotJobs.Put(j)
	*pj = bf16Prep{}
	bf16Preps.Put(pj)
	ws.putInts(offs)
	ws.putFloats(part)
	ws.putFloats(scratch)
	ws.putFloats(gbBuf)
	ws.putFloats(xbBuf)
	if db != nil {
		b.biasGrad(db, dy, d.n, d.co, plane)
	}
}

// bf16ChunkScale: the BF16 dot's passes take the pixels of dotChunk for
// m/bf16ChunkScale rows: its dy rows are half as long in bytes, and longer
// passes spread the kernel's closing reduction over more products.
const bf16ChunkScale = 2

// bf16Chunk is the pixels per pass of the BF16 dot.
func bf16Chunk(m, lq int) int {
	return dotChunk(max(1, m/bf16ChunkScale), lq)
}

// bf16L1Values: the dy values (8 rows of a pass) that runGroupsB keeps in
// L1 (32 KiB on Zen 4) beside the x runs: passes of up to 1024 pixels.
const bf16L1Values = 8 << 10

// runGroupsB is runGroups for bfloat16 with the loops over rows and tap
// groups swapped: a pass keeps 8 rows of dy in L1 across the tap groups
// (whose x runs overlap, about one run per group, from L2), where the group
// loop outside streams all the pass's dy rows from L2 for every group. It
// takes passes of up to bf16L1Values/8 pixels (the deep layers': the long
// passes of the others keep the group loop outside, their x in L1). Every
// sum gets the same kernel calls in the same order, so the same bits.
func (j *dotJob) runGroupsB(g0, g1 int) {
	for q0 := 0; q0 < j.lq; q0 += j.chunk {
		n := min(j.chunk, j.lq-q0)
		for r := 0; r < j.m; r += 2 * dotMR {
			dy := j.dygB[r*j.lq+q0:]
			for grp := g0; grp < g1; grp++ {
				var o [dotNR]int
				for x := range o {
					o[x] = j.offs[grp*dotNR+x] + q0
				}
				microDotB(n, dy, j.lq, j.srcB, &o, j.dw[grp*dotNR*j.ldw+r:], j.ldw)
			}
		}
	}
}

// tapMajorJob is addTapMajor with parts cutting the rows of dw (16 at a
// time) and the taps in tiles of 16, so that the 16 lines of part that a
// tile reads serve 16 rows: one add per element, the same bits.
type tapMajorJob struct {
	dw, part []float32
	m, k     int
	ldp      int
	done     partsDone
}

var tapMajorJobs = sync.Pool{New: func() any { return new(tapMajorJob) }}

func (j *tapMajorJob) runPart(part, parts int) {
	i0, i1 := partRange(j.m, 16, part, parts)
	for t0 := 0; t0 < j.k; t0 += 16 {
		t1 := min(j.k, t0+16)
		for i := i0; i < i1; i++ {
			row := j.dw[i*j.k+t0 : i*j.k+t1]
			for t := range row {
				row[t] += j.part[(t0+t)*j.ldp+i]
			}
		}
	}
}

// addTapMajorParallel is addTapMajor on up to threads goroutines.
func addTapMajorParallel(threads int, dw, part []float32, m, k, ldp int) {
	j := tapMajorJobs.Get().(*tapMajorJob)
	*j = tapMajorJob{dw: dw, part: part, m: m, k: k, ldp: ldp}
	runParts(j, min(threads, (m+15)/16, max(1, m*k/minParallel)), &j.done)
	*j = tapMajorJob{}
	tapMajorJobs.Put(j)
}
