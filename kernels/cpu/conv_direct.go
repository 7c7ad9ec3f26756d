package cpu

import (
	"sync"
	"sync/atomic"
)

// Direct convolution without im2col: the output is cut into 8-pixel
// segments along its rows, three segments and four output channels make one
// micro-kernel tile, and each tap's inputs are read straight from a phased
// image (conv_geom.go) at a per-tap offset. Only the weights are packed.
//
//   out[m][oh][ow] (+)= bias[m] + sum_t a[m][t] * src[offs[t] + oh*g + ow]
//
// The forward pass and the stride-1 backward-data pass are both this sum.

// convKC is the number of taps per pass over a tile: the inputs of 288 taps
// (32 channels of a 3x3 conv) of a tile, about 3 cache lines per (channel,
// kernel row), and the 4x288 weight panel stay in L1 (~23 KiB of 32).
const convKC = 288

// weightView reads a conv's weights as an (m, k) matrix:
//
//	a(i, t) = w[i*row + (t/inner)*outer + (t%inner)*step]
//
// Forward: (Co, Ci*KH*KW) is {row: k, inner: k, step: 1}. Stride-1
// backward-data reads the transpose per tap, (Ci, Co*KH*KW):
// {row: KH*KW, inner: KH*KW, step: 1, outer: Ci*KH*KW} (the tap flip lives in
// the offsets). Conv-transpose uses {row: 1, inner: k, step: m} and {row: k,
// inner: k, step: 1}.
type weightView struct {
	w                       []float32
	row, inner, step, outer int
}

// packConvA writes a (m, k) as panels of convMR rows: ap[(panel*k+t)*4+r],
// rows past m zero. Large matrices are packed on up to threads goroutines
// (each panel has one writer, so the result does not depend on the split).
func packConvA(threads int, ap []float32, m, k int, a weightView) {
	panels := (m + convMR - 1) / convMR
	parts := min(threads, panels, max(1, m*k/minParallel))
	if parts <= 1 {
		packPanels(ap, m, k, a, 0, panels)
		return
	}
	j := packJobs.Get().(*packJob)
	j.ap, j.m, j.k, j.a = ap, m, k, a
	runParts(j, parts, &j.done)
	*j = packJob{}
	packJobs.Put(j)
}

type packJob struct {
	ap   []float32
	m, k int
	a    weightView
	done partsDone
}

var packJobs = sync.Pool{New: func() any { return new(packJob) }}

func (j *packJob) runPart(part, parts int) {
	lo, hi := partRange((j.m+convMR-1)/convMR, 1, part, parts)
	packPanels(j.ap, j.m, j.k, j.a, lo, hi)
}

// packPanels packs panels [p0, p1).
func packPanels(ap []float32, m, k int, a weightView, p0, p1 int) {
	if a.row == 1 && a.inner >= k && a.step >= m && m%convMR == 0 {
		// The transposed view (conv-transpose forward): w's row t holds
		// the panels' rows side by side; read it in order.
		for t := 0; t < k; t++ {
			src := a.w[t*a.step:][:m]
			for p := p0; p < p1; p++ {
				*(*[convMR]float32)(ap[(p*k+t)*convMR:]) = *(*[convMR]float32)(src[p*convMR:])
			}
		}
		return
	}
	for p := p0; p < p1; p++ {
		panel := ap[p*k*convMR : (p+1)*k*convMR]
		for r := 0; r < convMR; r++ {
			i := p*convMR + r
			if i >= m {
				for t := 0; t < k; t++ {
					panel[t*convMR+r] = 0
				}
				continue
			}
			t := 0
			for o := 0; t < k; o++ {
				src := a.w[i*a.row+o*a.outer:]
				for in := 0; in < a.inner && t < k; in++ {
					panel[t*convMR+r] = src[in*a.step]
					t++
				}
			}
		}
	}
}

type directConvJob struct {
	m, k       int
	ap         []float32 // packed weights: (ceil(m/4), k, 4)
	offs       []int     // (k) tap offsets into src
	maxOff     int
	src        []float32 // the samples' phased images, srcStride apart
	g          int       // row pitch of src
	oh, ow     int       // output rows and columns
	out        []float32 // (samples, m, oh, ow), outStride apart
	bias       []float32 // (roundUp(m, 4)) or nil
	accumulate bool
	// samples computed by one run and the distance between consecutive
	// samples in src and out.
	samples              int
	srcStride, outStride int
	chunks               chunker
	done                 partsDone
	// t2 is not t2Off for the 2x2 stride-2 conv-transpose's passes
	// (conv_transpose_2x2.go), which read and write y's interleaved rows.
	t2 t2Mode
}

var directConvJobs = sync.Pool{New: func() any { return new(directConvJob) }}

func (j *directConvJob) segments() (perRow, total int) {
	seg := convSeg
	if j.t2 != t2Off {
		seg = j.t2Seg()
	}
	perRow = (j.ow + seg - 1) / seg
	return perRow, j.oh * perRow
}

func (j *directConvJob) tiles() int {
	_, s := j.segments()
	return (s + convNS - 1) / convNS
}

// run computes the samples on up to threads goroutines, parts cutting the
// (sample, pixel tile) pairs: one parallel region for a batch of small
// planes instead of one per sample.
func (j *directConvJob) run(threads int) {
	units := j.samples * j.tiles()
	parts := min(threads, units, max(1, j.samples*j.m*j.k*j.oh*j.ow/(1<<15)))
	j.chunks.reset(min(units, chunksPerPart*parts))
	runParts(j, parts, &j.done)
}

func (j *directConvJob) runPart(part, parts int) {
	tp := j.tiles()
	units := j.samples * tp
	for {
		u0, u1, ok := j.chunks.claimUnits(units)
		if !ok {
			return
		}
		for u := u0; u < u1; {
			n, t0 := u/tp, u%tp
			t1 := min(tp, t0+u1-u)
			if j.t2 != t2Off {
				j.runTilesT2(j.src[n*j.srcStride:], j.out[n*j.outStride:], t0, t1)
				u += t1 - t0
				continue
			}
			j.runTiles(j.src[n*j.srcStride:], j.out[n*j.outStride:], t0, t1)
			u += t1 - t0
		}
	}
}

// chunksPerPart: each part's share is cut into this many chunks, handed out
// in turn, so that a goroutine slowed by other work on its core takes fewer
// of them. Every output element belongs to one chunk and is computed the
// same way whoever runs it, so results do not depend on the hand-out.
const chunksPerPart = 4

// chunker hands out chunk indices 0..n-1 to the parts of a task.
type chunker struct {
	next atomic.Int64
	n    int
}

func (c *chunker) reset(n int) {
	c.n = n
	c.next.Store(0)
}

func (c *chunker) claim() (int, bool) {
	i := int(c.next.Add(1) - 1)
	return i, i < c.n
}

// claimUnits claims the next chunk of units [0, units) cut into c.n near-equal
// chunks and returns its range; ok is false when none is left.
func (c *chunker) claimUnits(units int) (u0, u1 int, ok bool) {
	i, ok := c.claim()
	if !ok {
		return 0, 0, false
	}
	u0, u1 = partRange(units, 1, i, c.n)
	return u0, u1, true
}

// runTiles computes tiles [t0, t1) of one sample's output from its phased image.
func (j *directConvJob) runTiles(src, out []float32, t0, t1 int) {
	perRow, total := j.segments()
	plane := j.oh * j.ow
	var stage [convMR * convNS * convSeg]float32
	stageSegs := convSegs{cOff: [convNS]int{0, convSeg, 2 * convSeg}}
	for k0 := 0; k0 < j.k; k0 += convKC {
		kc := min(convKC, j.k-k0)
		accumulate := j.accumulate || k0 > 0
		bias := j.bias
		if k0 > 0 {
			bias = nil
		}
		offs := j.offs[k0 : k0+kc]
		for t := t0; t < t1; t++ {
			var sg convSegs
			var lens [convNS]int
			staged := false
			for s := 0; s < convNS; s++ {
				seg := t*convNS + s
				if seg >= total {
					// No segment left: compute a copy of the first, keep nothing.
					sg.srcOff[s], sg.cOff[s], lens[s] = sg.srcOff[0], sg.cOff[0], 0
					staged = true
					continue
				}
				row, col := seg/perRow, seg%perRow*convSeg
				sg.srcOff[s], sg.cOff[s] = row*j.g+col, row*j.ow+col
				lens[s] = min(convSeg, j.ow-col)
				if lens[s] < convSeg {
					staged = true
				}
			}
			stageSegs.srcOff = sg.srcOff
			p0 := 0
			if !staged && useAsm && convPanelsKernel {
				// The full panels in one call.
				p0 = j.m / convMR
				j.microConvPanels(kc, k0, offs, src, out, plane, &sg, bias, accumulate, p0)
			}
			for p := p0; p*convMR < j.m; p++ {
				a := j.ap[(p*j.k+k0)*convMR:]
				var pb []float32
				if bias != nil {
					pb = bias[p*convMR : (p+1)*convMR]
				}
				rows := min(convMR, j.m-p*convMR)
				panelOut := out[p*convMR*plane:]
				if !staged && rows == convMR {
					microConv(kc, a, offs, j.maxOff, src, panelOut, plane, &sg, pb, accumulate)
					continue
				}
				microConv(kc, a, offs, j.maxOff, src, stage[:], convNS*convSeg, &stageSegs, pb, false)
				for r := 0; r < rows; r++ {
					for s := 0; s < convNS; s++ {
						dst := panelOut[r*plane+sg.cOff[s]:][:lens[s]]
						staged := stage[r*convNS*convSeg+s*convSeg:][:lens[s]]
						if accumulate {
							for l := range dst {
								dst[l] += staged[l]
							}
						} else {
							copy(dst, staged)
						}
					}
				}
			}
		}
	}
}

// convPanelsKernel: runTiles computes a tile's full panels in one call of
// convKernelM4x24 instead of one call of convKernel4x24 per panel (the
// same sums in the same order). A variable so benchmarks can compare.
var convPanelsKernel = true

// microConvPanels is microConv for panels [0, panels) of one tile (all
// full and unstaged), out at panel 0's rows.
func (j *directConvJob) microConvPanels(kc, k0 int, offs []int, src, out []float32, plane int, sg *convSegs, bias []float32, accumulate bool, panels int) {
	if panels == 0 {
		return
	}
	astride, cstride := j.k*convMR, convMR*plane
	a := j.ap[k0*convMR:]
	_, _ = a[(panels-1)*astride+convMR*kc-1], offs[kc-1]
	for s := 0; s < convNS; s++ {
		_ = src[sg.srcOff[s]+j.maxOff+convSeg-1]
		_ = out[(panels-1)*cstride+sg.cOff[s]+(convMR-1)*plane+convSeg-1]
	}
	var bp *float32
	if bias != nil {
		_ = bias[panels*convMR-1]
		bp = &bias[0]
	}
	convKernelM4x24(kc, &a[0], &offs[0], &src[sg.srcOff[0]], &src[sg.srcOff[1]], &src[sg.srcOff[2]],
		&out[sg.cOff[0]], &out[sg.cOff[1]], &out[sg.cOff[2]], plane, bp, boolInt(accumulate), panels, astride, cstride)
}

// dotJob is the backward-filter sum as dot products over output pixels:
//
//	dw[t][m] += sum_q dyg[m][q] * src[offs[t] + q]
//
// where dyg is dy laid out on the grid of src (rows g floats apart, zeros
// past the last column) so that q runs over one contiguous range. Parts cut
// the taps, so every dw element has one owner and a fixed summation order.
type dotJob struct {
	m, k   int
	dyg    []float32 // (roundUp(m, 4), lq)
	lq     int       // a multiple of 8
	src    []float32 // one sample's phased image
	offs   []int     // (roundUp(k, 3)); padding taps read offset 0
	dw     []float32 // (roundUp(k, 3), roundUp(m, 4)) partial sums, tap-major
	ldw    int       // roundUp(m, 4)
	chunk  int       // pixels per pass: the dy rows of a pass stay in L2
	chunks chunker   // tap-group ranges handed out to the parts
	// bf16: dyg and src as bfloat16 (dygB, srcB), rows in groups of 8,
	// lq and chunk multiples of 32 (conv2dBackwardFilterBF16).
	bf16       bool
	dygB, srcB []uint16
	done       partsDone
}

var dotJobs = sync.Pool{New: func() any { return new(dotJob) }}

func (j *dotJob) run(threads int) {
	groups := (j.k + dotNR - 1) / dotNR
	parts := min(threads, groups, max(1, j.m*j.k*j.lq/(1<<15)))
	j.chunks.reset(min(groups, chunksPerPart*parts))
	runParts(j, parts, &j.done)
}

func (j *dotJob) runPart(part, parts int) {
	groups := (j.k + dotNR - 1) / dotNR
	for {
		g0, g1, ok := j.chunks.claimUnits(groups)
		if !ok {
			return
		}
		j.runGroups(g0, g1)
	}
}

// runGroups computes the sums of tap groups [g0, g1) (dotNR taps each).
func (j *dotJob) runGroups(g0, g1 int) {
	if j.bf16 && 2*dotMR*j.chunk <= bf16L1Values {
		j.runGroupsB(g0, g1)
		return
	}
	if dotRowsOuter && !j.bf16 && min(j.chunk, j.lq) >= dotRowsMinLanes {
		j.runGroupsRows(g0, g1)
		return
	}
	for q0 := 0; q0 < j.lq; q0 += j.chunk {
		n := min(j.chunk, j.lq-q0)
		for grp := g0; grp < g1; grp++ {
			var o [dotNR]int
			for x := range o {
				o[x] = j.offs[grp*dotNR+x] + q0
			}
			if j.bf16 {
				for r := 0; r < j.m; r += 2 * dotMR {
					microDotB(n, j.dygB[r*j.lq+q0:], j.lq, j.srcB, &o, j.dw[grp*dotNR*j.ldw+r:], j.ldw)
				}
				continue
			}
			r := 0
			if useAVX512 && useAsm {
				for ; r+2*dotMR <= j.ldw; r += 2 * dotMR {
					microDotZ(n, j.dyg[r*j.lq+q0:], j.lq, j.src, &o, j.dw[grp*dotNR*j.ldw+r:], j.ldw)
				}
			}
			for ; r < j.m; r += dotMR {
				microDot(n, j.dyg[r*j.lq+q0:], j.lq, j.src, &o, j.dw[grp*dotNR*j.ldw+r:], j.ldw)
			}
		}
	}
}

// dotRowsOuter switches the FP32 sums to runGroupsRows (off: the tap
// groups outer, kept for the old/new benchmark).
var dotRowsOuter = true

// dotRowsMinLanes: passes of fewer pixels keep the tap groups outer. On
// short rows a call's fixed costs (its 24 sums reduced and added into dw)
// dominate, and the taps-outer order walks dw in order: on Zen 5, 16x16
// and 8x8 planes with 256 to 512 channels ran 5-25% slower rows-outer,
// 32x32 and larger planes 5-20% faster (BenchmarkConv3x3Algo's -oldorder
// variants, bench/RESULTS.md section 10).
const dotRowsMinLanes = 256

// runGroupsRows is runGroups' FP32 sums with the dy rows outer: a kernel
// call's 8 (AVX2: 4) dy rows stay in L1 while the tap groups' src rows
// stream past them, 3 rows of src per 24 multiply-adds from L2 instead of
// 8 rows of dy. Every dw element still sums its chunks in order, so the
// results are the bits of the taps-outer order.
func (j *dotJob) runGroupsRows(g0, g1 int) {
	for q0 := 0; q0 < j.lq; q0 += j.chunk {
		n := min(j.chunk, j.lq-q0)
		r := 0
		if useAVX512 && useAsm {
			for ; r+2*dotMR <= j.ldw; r += 2 * dotMR {
				for grp := g0; grp < g1; grp++ {
					o := j.tapOffsets(grp, q0)
					microDotZ(n, j.dyg[r*j.lq+q0:], j.lq, j.src, &o, j.dw[grp*dotNR*j.ldw+r:], j.ldw)
				}
			}
		}
		for ; r < j.m; r += dotMR {
			for grp := g0; grp < g1; grp++ {
				o := j.tapOffsets(grp, q0)
				microDot(n, j.dyg[r*j.lq+q0:], j.lq, j.src, &o, j.dw[grp*dotNR*j.ldw+r:], j.ldw)
			}
		}
	}
}

// tapOffsets is the src offsets of tap group grp's dotNR taps at pixel q0.
func (j *dotJob) tapOffsets(grp, q0 int) [dotNR]int {
	var o [dotNR]int
	for x := range o {
		o[x] = j.offs[grp*dotNR+x] + q0
	}
	return o
}

// addTapMajor adds the dot job's tap-major partial sums part[t*ldp + m]
// into dw (m rows of k taps, row-major).
func addTapMajor(dw, part []float32, m, k, ldp int) {
	for i := 0; i < m; i++ {
		row := dw[i*k : (i+1)*k]
		for t := range row {
			row[t] += part[t*ldp+i]
		}
	}
}

// dotChunk picks the pixels per pass so that m rows of dy take about 512 KiB.
func dotChunk(m, lq int) int {
	c := (1 << 17) / max(m, 1)
	c = max(256, min(2048, c)) / convSeg * convSeg
	return min(c, lq)
}
