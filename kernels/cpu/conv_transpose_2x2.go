package cpu

import "math"

// The 2x2 stride-2 conv-transpose (the U-Net decoder's upsampling) on the
// direct kernels without the scatter and gather of conv_transpose_fast.go:
//
//   forward: a tile is 4 rows (the taps (i, j) of output channel co) by three
//   segments of 8 input pixels of one image row; convKernelT4x24 stores the
//   rows of tap (i, 0) and (i, 1) interleaved, straight into y's row 2h+i.
//
//   backward-data: the taps are the (co, i) pairs; the weights of kernel
//   columns 0 and 1 sit side by side and are broadcast as one 64-bit pair
//   against 8 floats of dy's row 2h+i (4 pixels, both columns), so dy is
//   read in place; convKernelP4x12 adds the column pairs as it stores dx.
//
// Where the CPU has AVX-512 and the rows are wide enough (t2Wide), 16-lane
// kernels run the same tiles with segments twice as long (forward 16
// pixels, convKernelTZ4x48; backward-data 8, convKernelPZ4x24).
// One kernel call runs a tile for all whole panels (4 output channels of y
// or 4 input channels of dx); the 8-lane kernels' first panel also
// prefetches the next tile's source rows into L2 (the 16-lane kernels do
// not; a prefetching variant was not tried). Short segments (W not a
// multiple of the segment) and backward-data's last panel go through a
// stage.
// Backward-filter is in conv_transpose_2x2_filter.go.

// t2Mode says which 2x2 stride-2 conv-transpose pass a directConvJob runs.
type t2Mode uint8

const (
	t2Off          t2Mode = iota // an ordinary direct convolution
	t2Forward                    // out is y: interleaved stores (convKernelT4x24)
	t2BackwardData               // src is dy: pair taps (convKernelP4x12)
)

// t2PairSeg is backward-data's segment: 4 pixels, 8 floats of a dy row.
const t2PairSeg = 4

// t2Z runs the 16-lane kernels (convKernelTZ4x48, convKernelPZ4x24) where
// the CPU has AVX-512, with segments twice as long (off: the 8-lane
// kernels everywhere, kept for the old/new benchmark). Same bits
// (TestConvTranspose2x2Wide).
var t2Z = true

// wideT2 reports whether the 16-lane kernels run.
func wideT2() bool { return t2Z && useAVX512 && useAsm }

// t2StageFloats holds the largest staged tile: the 16-lane forward's 2
// output rows of 3 segments of 32 floats.
const t2StageFloats = 2 * convNS * 4 * convSeg

// t2NarrowSeg is a t2 job's segment in pixels on the 8-lane kernels:
// convSeg (forward) or t2PairSeg (backward-data).
func (j *directConvJob) t2NarrowSeg() int {
	if j.t2 == t2BackwardData {
		return t2PairSeg
	}
	return convSeg
}

// t2Wide: the job runs the 16-lane kernels, where the CPU has them and
// the rows hold at least one of their segments. Narrower rows would go
// through the stage and, in a sample's last row, the Go tile: the 8-lane
// kernels stay faster there.
func (j *directConvJob) t2Wide() bool { return wideT2() && j.ow >= 2*j.t2NarrowSeg() }

// t2Seg is a t2 job's segment in pixels: twice t2NarrowSeg with the
// 16-lane kernels (t2Wide).
func (j *directConvJob) t2Seg() int {
	if j.t2Wide() {
		return 2 * j.t2NarrowSeg()
	}
	return j.t2NarrowSeg()
}

// t2Read is the floats of src a segment's kernel reads per tap: its pixels
// (forward) or both kernel columns of them (backward-data).
func (j *directConvJob) t2Read() int {
	if j.t2 == t2BackwardData {
		return 2 * j.t2Seg()
	}
	return j.t2Seg()
}

// useT2 selects this file's passes; tests and benchmarks switch it off to
// compare with the scatter/gather passes of conv_transpose_fast.go.
var useT2 = true

// t2Fits: the passes of a conv-transpose this file runs.
func t2Fits(d convTDims) bool { return useT2 && d.kh == 2 && d.kw == 2 }

// t2Geometry returns segment seg's first source float, first output float
// and pixel count for a job of t2 mode m (image oh x ow, segments perRow a
// row, segLen pixels each).
func t2Geometry(m t2Mode, seg, perRow, segLen, oh, ow int) (srcOff, cOff, n int) {
	row, col := seg/perRow, seg%perRow*segLen
	n = min(segLen, ow-col)
	if m == t2Forward {
		return row*ow + col, 4*row*ow + 2*col, n
	}
	return 4*row*ow + 2*col, row*ow + col, n
}

// runTilesT2 computes tiles [t0, t1) of one sample of a t2 job: src is the
// sample's x planes (forward, offs pitch apart) or dy (backward-data), out
// its y or dx.
func (j *directConvJob) runTilesT2(src, out []float32, t0, t1 int) {
	perRow, total := j.segments()
	segLen, read, aRow, ldc := j.t2Seg(), j.t2Read(), convMR, 2*j.ow
	if j.t2 == t2BackwardData {
		aRow, ldc = 2*convMR, j.oh*j.ow
	}
	plane := j.oh * j.ow
	var stage [t2StageFloats]float32
	// The taps in near-equal passes of at most convKC (320: 160 + 160, a
	// little faster than 288 + 32).
	passes := (j.k + convKC - 1) / convKC
	kStep := (j.k + passes - 1) / passes
	for k0 := 0; k0 < j.k; k0 += kStep {
		kc := min(kStep, j.k-k0)
		accumulate := j.accumulate || k0 > 0
		bias := j.bias
		if k0 > 0 {
			bias = nil
		}
		offs := j.offs[k0 : k0+kc]
		for t := t0; t < t1; t++ {
			var sg convSegs
			var lens [convNS]int
			full, inside := true, true
			for s := 0; s < convNS; s++ {
				seg := t*convNS + s
				if seg >= total {
					// No segment left: compute a copy of the first. Without
					// accumulate the forward kernel may store it over the
					// first; else the tile goes through the stage.
					sg.srcOff[s], sg.cOff[s], lens[s] = sg.srcOff[0], sg.cOff[0], 0
					full = full && j.t2 == t2Forward && !accumulate
					continue
				}
				sg.srcOff[s], sg.cOff[s], lens[s] = t2Geometry(j.t2, seg, perRow, segLen, j.oh, j.ow)
				full = full && lens[s] == segLen
				// Within the sample (not merely the slice), so that a
				// sample's results do not depend on its place in the batch.
				inside = inside && sg.srcOff[s]+j.maxOff+read <= j.srcStride
			}
			p := 0
			if full && useAsm && j.m >= convMR {
				// The whole panels in one call; backward-data's last
				// panel of fewer than 4 channels goes through the stage.
				p = j.m / convMR
				j.microT2(kc, j.ap[k0*aRow:], offs, src, out, ldc, &sg, bias, accumulate, p, j.k*aRow, convMR*plane)
			}
			for ; p*convMR < j.m; p++ {
				a := j.ap[(p*j.k+k0)*aRow:]
				var pb []float32
				if bias != nil {
					pb = bias[p*convMR : (p+1)*convMR]
				}
				panelOut := out[p*convMR*plane:]
				rows := min(convMR, j.m-p*convMR) // forward: always 4
				j.stagedT2(kc, a, offs, src, panelOut, ldc, &sg, &lens, rows, pb, accumulate, inside, stage[:])
			}
		}
	}
}

// microT2 runs the t2 kernel on a tile of whole segments, straight into
// out, for panels panels: astride floats of a, cstride of out and 4 of
// bias apart.
func (j *directConvJob) microT2(kc int, a []float32, offs []int, src, out []float32, ldc int, sg *convSegs, bias []float32, accumulate bool, panels, astride, cstride int) {
	seg := j.t2Seg()
	aRow, last := convMR, ldc+2*seg-1
	if j.t2 == t2BackwardData {
		aRow, last = 2*convMR, (convMR-1)*ldc+seg-1
	}
	_, _ = a[(panels-1)*astride+aRow*kc-1], offs[kc-1]
	for s := 0; s < convNS; s++ {
		_ = src[sg.srcOff[s]+j.maxOff+j.t2Read()-1]
		_ = out[(panels-1)*cstride+sg.cOff[s]+last]
	}
	var bp *float32
	if bias != nil {
		_ = bias[panels*convMR-1]
		bp = &bias[0]
	}
	kernel := convKernelT4x24
	switch {
	case j.t2 == t2BackwardData && j.t2Wide():
		kernel = convKernelPZ4x24
	case j.t2 == t2BackwardData:
		kernel = convKernelP4x12
	case j.t2Wide():
		kernel = convKernelTZ4x48
	}
	kernel(kc, &a[0], &offs[0], &src[sg.srcOff[0]], &src[sg.srcOff[1]], &src[sg.srcOff[2]],
		&out[sg.cOff[0]], &out[sg.cOff[1]], &out[sg.cOff[2]], ldc, bp, boolInt(accumulate), panels, astride, cstride)
}

// stagedT2 computes a tile with short or missing segments into stage
// (forward: rows i 3*2*seg floats apart, segment s at 2*seg*s;
// backward-data: rows r 3*seg apart, segment s at seg*s; seg = t2Seg) and
// moves the segments' lens[s] pixels to out. inside: the kernel's
// whole-segment reads stay in src (else t2TileGo).
// rows: the panel's rows of dx in backward-data.
func (j *directConvJob) stagedT2(kc int, a []float32, offs []int, src, out []float32, ldc int, sg *convSegs, lens *[convNS]int, rows int, bias []float32, accumulate, inside bool, stage []float32) {
	fwd := j.t2 == t2Forward
	st := convSegs{srcOff: sg.srcOff}
	sld, per := convNS*j.t2Seg(), 1 // stage row length, floats per pixel
	if fwd {
		sld, rows, per = convNS*2*j.t2Seg(), 2, 2
	}
	for s := range st.cOff {
		st.cOff[s] = s * sld / convNS
	}
	if inside && useAsm {
		j.microT2(kc, a, offs, src, stage, sld, &st, bias, false, 1, 0, 0)
	} else {
		t2TileGo(fwd, kc, a, offs, src, stage, sld, &st, lens, bias)
	}
	for r := 0; r < rows; r++ {
		for s := 0; s < convNS; s++ {
			dst := out[sg.cOff[s]+r*ldc:][:per*lens[s]]
			v := stage[r*sld+st.cOff[s]:][:len(dst)]
			if accumulate {
				for l := range dst {
					dst[l] += v[l]
				}
			} else {
				copy(dst, v)
			}
		}
	}
}

// t2TileGo is convKernelT4x24 (fwd) or convKernelP4x12 in Go, without
// accumulate, for the lens[s] pixels of each segment. Its sums are the
// kernels' fused multiply-adds in the kernels' order, so a tile gives the
// same bits whichever computes it (the 8- and 16-lane kernels stage
// different tiles through here).
func t2TileGo(fwd bool, kc int, a []float32, offs []int, src, c []float32, ldc int, sg *convSegs, lens *[convNS]int, bias []float32) {
	for s := 0; s < convNS; s++ {
		for l := 0; l < lens[s]; l++ {
			for r := 0; r < convMR; r++ {
				var acc float32
				if fwd {
					for p := 0; p < kc; p++ {
						acc = fma32(a[p*convMR+r], src[sg.srcOff[s]+offs[p]+l], acc)
					}
					if bias != nil {
						acc += bias[r]
					}
					c[sg.cOff[s]+r/2*ldc+2*l+r%2] = acc
					continue
				}
				var acc1 float32 // kernel column 1, summed apart like the kernel's lanes
				for p := 0; p < kc; p++ {
					x := src[sg.srcOff[s]+offs[p]+2*l:]
					acc = fma32(a[p*2*convMR+2*r], x[0], acc)
					acc1 = fma32(a[p*2*convMR+2*r+1], x[1], acc1)
				}
				c[sg.cOff[s]+r*ldc+l] = acc + acc1
			}
		}
	}
}

// fma32 is x*y+z rounded once to float32, as VFMADD231PS computes it.
// x*y is exact in float64; the sum is rounded to odd in float64 (the
// nearest sum, moved one unit toward the exact value when inexact and its
// last bit is even), after which rounding to float32 gives the correctly
// rounded result (53 >= 24+2 bits), where float32(x*y + z) could round
// twice.
func fma32(x, y, z float32) float32 {
	p, q := float64(x)*float64(y), float64(z)
	s := p + q
	b := s - p
	e := (p - (s - b)) + (q - b) // s + e == p + q exactly
	if e != 0 && math.Float64bits(s)&1 == 0 {
		s = math.Nextafter(s, math.Copysign(math.Inf(1), e))
	}
	return float32(s)
}

// packT2Pairs packs backward-data's weights w (Ci, Co, 2, 2) as panels of
// convMR input channels by Co*2 taps (co, i), each tap the pair of kernel
// columns: ap[(panel*taps+q)*8+2r+j] = w[ci][2q+j], ci = panel*4+r; rows
// past Ci zero.
func packT2Pairs(ap, w []float32, ci, ck int) {
	taps := ck / 2
	for p := 0; p*convMR < ci; p++ {
		panel := ap[p*taps*2*convMR : (p+1)*taps*2*convMR]
		for r := 0; r < convMR; r++ {
			c := p*convMR + r
			for q := 0; q < taps; q++ {
				v0, v1 := float32(0), float32(0)
				if c < ci {
					v0, v1 = w[c*ck+2*q], w[c*ck+2*q+1]
				}
				panel[q*2*convMR+2*r], panel[q*2*convMR+2*r+1] = v0, v1
			}
		}
	}
}

// convTranspose2x2 is the forward pass: y = w^T x x + b, tiles straight
// into y. x is read in place when its planes are flat (flatPitch), else
// copied a group of samples at a time.
func (b *Backend) convTranspose2x2(y, x, w, bias []float32, d convTDims) {
	ws := b.ws
	hw, ck := d.h*d.w, d.co*4
	pitch := flatPitch(hw)
	ap := ws.getFloats(ck * d.ci)
	packConvA(b.threads, ap, ck, d.ci, weightView{w: w, row: 1, inner: d.ci, step: ck})
	var pb []float32
	if bias != nil {
		pb = ws.getFloats(ck)
		for r := range pb {
			pb[r] = bias[r/4]
		}
	}
	offs := ws.getInts(d.ci)
	for ci := range offs {
		offs[ci] = ci * pitch
	}
	j := directConvJobs.Get().(*directConvJob)
	j.t2, j.m, j.k, j.ap, j.offs, j.maxOff, j.bias, j.accumulate = t2Forward, ck, d.ci, ap, offs, (d.ci-1)*pitch, pb, false
	j.g, j.oh, j.ow, j.srcStride, j.outStride = d.w, d.h, d.w, d.ci*pitch, ck*hw
	group := d.n
	var xbuf []float32
	if hw != pitch {
		group = sampleGroup(d.n, d.ci*pitch)
		xbuf = ws.getFloats(group * d.ci * pitch)
	}
	for n0 := 0; n0 < d.n; n0 += group {
		j.samples = min(group, d.n-n0)
		j.src = b.flatten(xbuf, x[n0*d.ci*hw:(n0+j.samples)*d.ci*hw], j.samples*d.ci, hw, pitch)
		j.out = y[n0*ck*hw:]
		j.run(b.threads)
	}
	j.t2, j.ap, j.offs, j.src, j.out, j.bias = t2Off, nil, nil, nil, nil, nil
	directConvJobs.Put(j)
	ws.putInts(offs)
	ws.putFloats(ap)
	if xbuf != nil {
		ws.putFloats(xbuf)
	}
	if pb != nil {
		ws.putFloats(pb)
	}
}

// convTranspose2x2BackwardData: dx += w x dy with dy read in place, the
// whole batch one parallel region.
func (b *Backend) convTranspose2x2BackwardData(dx, dy, w []float32, d convTDims) {
	ws := b.ws
	hw, ck := d.h*d.w, d.co*4
	taps := ck / 2
	ap := ws.getFloats(roundUp(d.ci, convMR) * ck)
	packT2Pairs(ap, w, d.ci, ck)
	offs := ws.getInts(taps)
	for q := range offs {
		offs[q] = q/2*4*hw + q%2*2*d.w
	}
	j := directConvJobs.Get().(*directConvJob)
	j.t2, j.m, j.k, j.ap, j.offs, j.maxOff, j.bias, j.accumulate = t2BackwardData, d.ci, taps, ap, offs, offs[taps-1], nil, true
	j.g, j.oh, j.ow, j.src, j.srcStride, j.out, j.outStride = 2*d.w, d.h, d.w, dy, ck*hw, dx, d.ci*hw
	j.samples = d.n
	j.run(b.threads)
	j.t2, j.ap, j.offs, j.src, j.out = t2Off, nil, nil, nil, nil
	directConvJobs.Put(j)
	ws.putInts(offs)
	ws.putFloats(ap)
}
