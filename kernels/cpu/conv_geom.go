package cpu

import "sync"

// phasedImage describes the copy of an image that the direct convolution
// kernels read: the image with zero borders (padded), split by stride phase.
// Plane (c, a, b) holds padded[c][a + sh*r][b + sw*q] at [r][q]; its rows are
// g floats apart. For stride 1 there is one plane per channel: the padded
// image itself (its right border shared with the next row's left border).
// With this layout the input of tap (kh, kw) for output pixel
// (oh, ow) sits at tapOffset(c, kh, kw) + oh*g + ow, so a run of output pixels
// along a row reads a contiguous run of floats for every stride.
type phasedImage struct {
	c, h, w   int // source image: (c, h, w)
	sh, sw    int // strides: phases per axis
	top, left int // zero rows above and columns left of the image
	hg, g     int // rows of a phase plane and its row pitch
}

func makePhasedImage(c, h, w, sh, sw, top, left, hp, wp int) phasedImage {
	g := (wp + sw - 1) / sw
	if sw == 1 && wp-w-left <= left {
		// Rows [left zeros, image row]: a row's right border is the next
		// row's left border, so no column is stored twice and the grid
		// of the backward-filter sum wastes one column per row, not two.
		g = left + w
	}
	return phasedImage{c: c, h: h, w: w, sh: sh, sw: sw, top: top, left: left,
		hg: (hp + sh - 1) / sh, g: g}
}

func (p phasedImage) planeSize() int { return p.hg * p.g }

// size is the buffer length: the planes plus zero slack, so that the kernels
// may read whole 8-float segments (and whole padded rows) past the last pixel.
func (p phasedImage) size() int { return p.c*p.sh*p.sw*p.planeSize() + 2*p.g + 4*convSeg }

// tapOffset is where tap (kh, kw) of channel c starts: the input of output
// pixel (oh, ow) is at tapOffset + oh*g + ow.
func (p phasedImage) tapOffset(c, kh, kw int) int {
	plane := (c*p.sh+kh%p.sh)*p.sw + kw%p.sw
	return plane*p.planeSize() + (kh/p.sh)*p.g + kw/p.sw
}

// fill writes channels [c0, c1) of the phased copy of src (c, h, w) into dst,
// and the slack after the last plane when c1 is the last channel.
func (p phasedImage) fill(dst, src []float32, c0, c1 int) {
	ps := p.planeSize()
	for c := c0; c < c1; c++ {
		if p.sh == 1 && p.sw == 1 && fastFill {
			p.fillPadded(dst[c*ps:][:ps], src[c*p.h*p.w:][:p.h*p.w])
			continue
		}
		if p.sh <= 2 && p.sw == 2 && useAsm && fastFill {
			p.fillPhases2(dst[2*p.sh*c*ps:][:2*p.sh*ps], src[c*p.h*p.w:][:p.h*p.w])
			continue
		}
		if p.sh == 1 && p.sw == 4 && useAVX512 && fastFill {
			p.fillPhases4(dst[4*c*ps:][:4*ps], src[c*p.h*p.w:][:p.h*p.w])
			continue
		}
		img := src[c*p.h*p.w : (c+1)*p.h*p.w]
		for a := 0; a < p.sh; a++ {
			// The column phases of one source row one after the other: the
			// second reads the row from L1.
			for r := 0; r < p.hg; r++ {
				ih := a + p.sh*r - p.top
				for b := 0; b < p.sw; b++ {
					row := dst[((c*p.sh+a)*p.sw+b)*ps+r*p.g:][:p.g]
					if ih < 0 || ih >= p.h {
						clear(row)
						continue
					}
					p.fillRow(row, img[ih*p.w:(ih+1)*p.w], b)
				}
			}
		}
	}
	if c1 == p.c {
		clear(dst[p.c*p.sh*p.sw*ps : p.size()])
	}
}

// fillPadded writes the padded copy of one stride-1 channel img (h, w)
// into plane: zero rows above and below, each image row between left zeros
// and (unless they are the next row's) right zeros, the rows' runs copied
// by copyRows.
func (p phasedImage) fillPadded(plane, img []float32) {
	r0 := min(max(p.top, 0), p.hg)
	r1 := min(max(p.top+p.h, r0), p.hg)
	clear(plane[:r0*p.g])
	lo := min(p.left, p.g)
	n := min(p.w, p.g-lo)
	for r := r0; r < r1; r++ {
		row := plane[r*p.g:][:p.g]
		zeroFew(row[:lo])
		zeroFew(row[lo+n:])
	}
	if r1 > r0 {
		copyRows(plane[r0*p.g+lo:], p.g, img[(r0-p.top)*p.w:], p.w, r1-r0, n)
	}
	clear(plane[r1*p.g:])
}

// fastFill: fill takes fillPadded and fillPhases2 (whole channels; a
// variable so benchmarks can compare with the row-by-row copy).
var fastFill = true

// fillPhases2 writes the phases of one channel img (h, w) with column
// stride 2 and row stride 1 or 2 (the Winograd path's and the stride-2
// convs' copies) into planes: all zero, then for each row phase the image
// rows' even and odd columns by deinterleaveKernel, the columns past its
// runs of 8 in a loop.
func (p phasedImage) fillPhases2(planes, img []float32) {
	clear(planes)
	ps := p.planeSize()
	for a := 0; a < p.sh; a++ {
		// Rows r of phase a read image row a + sh*r - top.
		r0 := min(max(ceilDiv(p.top-a, p.sh), 0), p.hg)
		r1 := min(max(ceilDiv(p.top+p.h-a, p.sh), r0), p.hg)
		if r1 > r0 {
			p.fillRowPhase(planes[2*a*ps:][:2*ps], img[(a+p.sh*r0-p.top)*p.w:], r0, r1-r0)
		}
	}
}

// phaseRuns says where the image columns of each residue go in the column
// phases (2 or 4) of planes, from row r0: image columns par + phases*i
// (par < phases) go to dst[par][i], cnt[par] of them (0: none). Phase b's
// index q0 holds image column phases*q0 + b - left, so residue par is
// phase (par + left) mod phases, from its first index at or right of the
// image's left edge.
func (p phasedImage) phaseRuns(planes []float32, r0, phases int) (dst [4][]float32, cnt [4]int) {
	ps := p.planeSize()
	for b := 0; b < phases; b++ {
		q0 := 0
		if p.left > b {
			q0 = (p.left - b + phases - 1) / phases
		}
		par := (b - p.left) & (phases - 1)
		if q0 >= p.g || p.w <= par {
			continue
		}
		cnt[par] = min(p.g-q0, (p.w-1-par)/phases+1)
		dst[par] = planes[b*ps+r0*p.g+q0 : (b+1)*ps]
	}
	return dst, cnt
}

// fillRowPhase writes rows [r0, r0+rows) of the two column phases of one
// row phase (planes) from the image rows src, sh*w floats apart.
func (p phasedImage) fillRowPhase(planes, src []float32, r0, rows int) {
	step := p.sh * p.w
	dst, cnt := p.phaseRuns(planes, r0, 2)
	k := min(cnt[0], cnt[1]) &^ 7
	if k > 0 {
		_, _ = dst[0][(rows-1)*p.g+k-1], dst[1][(rows-1)*p.g+k-1]
		_ = src[(rows-1)*step+2*k-1]
		deinterleaveKernel(rows, k, &src[0], step, &dst[0][0], &dst[1][0], p.g)
	}
	for par := 0; par < 2; par++ {
		if cnt[par] <= k {
			continue
		}
		for r := 0; r < rows; r++ {
			d, s := dst[par][r*p.g:][:cnt[par]], src[r*step+par:]
			for i := k; i < len(d); i++ {
				d[i] = s[2*i]
			}
		}
	}
}

// fillPhases4 writes the four column phases of one channel img (h, w)
// with row stride 1 (the F(4x4, 3x3) Winograd path's copies) into planes:
// all zero, then the image rows' columns by deinterleave4KernelZ in runs of
// 16 per phase and deinterleave4x8KernelZ for a run of 8, the columns past
// them in a loop. Only where useAVX512.
func (p phasedImage) fillPhases4(planes, img []float32) {
	clear(planes)
	r0 := min(max(p.top, 0), p.hg)
	r1 := min(max(p.top+p.h, r0), p.hg)
	rows := r1 - r0
	if rows <= 0 {
		return
	}
	src := img[(r0-p.top)*p.w:]
	dst, cnt := p.phaseRuns(planes, r0, 4)
	least := min(cnt[0], cnt[1], cnt[2], cnt[3])
	k := least &^ 15
	if k > 0 {
		for par := range dst {
			_ = dst[par][(rows-1)*p.g+k-1]
		}
		_ = src[(rows-1)*p.w+4*k-1]
		deinterleave4KernelZ(rows, k, &src[0], p.w, &dst[0][0], &dst[1][0], &dst[2][0], &dst[3][0], p.g)
	}
	if least-k >= 8 {
		// One run of 8 more per phase (rows 32 wide: all of them).
		for par := range dst {
			_ = dst[par][(rows-1)*p.g+k+7]
		}
		_ = src[(rows-1)*p.w+4*k+31]
		deinterleave4x8KernelZ(rows, &src[4*k], p.w, &dst[0][k], &dst[1][k], &dst[2][k], &dst[3][k], p.g)
		k += 8
	}
	for par := 0; par < 4; par++ {
		for r := 0; r < rows && cnt[par] > k; r++ {
			d, s := dst[par][r*p.g:][:cnt[par]], src[r*p.w+par:]
			for i := k; i < len(d); i++ {
				d[i] = s[4*i]
			}
		}
	}
}

// ceilDiv is x/d rounded up, for d > 0.
func ceilDiv(x, d int) int {
	if x >= 0 {
		return (x + d - 1) / d
	}
	return -(-x / d)
}

// copyRows copies rows rows of n floats, srcStep apart in src, to dst,
// dstStep apart.
func copyRows(dst []float32, dstStep int, src []float32, srcStep, rows, n int) {
	if rows <= 0 || n <= 0 {
		return
	}
	_, _ = dst[(rows-1)*dstStep+n-1], src[(rows-1)*srcStep+n-1]
	head := 0
	if useAsm && n >= 8 {
		head = n &^ 7
		copyRowsKernel(rows, head, &dst[0], dstStep, &src[0], srcStep)
	}
	if head < n {
		for r := 0; r < rows; r++ {
			copy(dst[r*dstStep+head:][:n-head], src[r*srcStep+head:])
		}
	}
}

// fillJob fills the phased copies of samples, parts cutting the (sample,
// channel) pairs.
type fillJob struct {
	img                  phasedImage
	dst, src             []float32
	dstStride, srcStride int
	samples              int
	done                 partsDone
}

var fillJobs = sync.Pool{New: func() any { return new(fillJob) }}

func (j *fillJob) runPart(part, parts int) {
	lo, hi := partRange(j.samples*j.img.c, 1, part, parts)
	for u := lo; u < hi; {
		n, c0 := u/j.img.c, u%j.img.c
		c1 := min(j.img.c, c0+hi-u)
		j.img.fill(j.dst[n*j.dstStride:], j.src[n*j.srcStride:], c0, c1)
		u += c1 - c0
	}
}

// fillPhased writes the phased copies of samples images, srcStride floats
// apart in src, dstStride apart in dst, on up to threads goroutines.
func fillPhased(threads int, img phasedImage, dst, src []float32, samples, dstStride, srcStride int) {
	j := fillJobs.Get().(*fillJob)
	j.img, j.dst, j.src = img, dst, src
	j.samples, j.dstStride, j.srcStride = samples, dstStride, srcStride
	rows := samples * img.c
	parts := min(threads, rows, max(1, rows*img.h*img.w/minParallel))
	runParts(j, parts, &j.done)
	j.dst, j.src = nil, nil
	fillJobs.Put(j)
}

// fillRow writes row r of column phase b of a padded source row.
func (p phasedImage) fillRow(row, srcRow []float32, b int) {
	if p.sw == 1 {
		// Padded row: zeros, the image row, zeros.
		lo := min(p.left, p.g)
		zeroFew(row[:lo])
		n := copy(row[lo:], srcRow)
		zeroFew(row[lo+n:])
		return
	}
	// Column q reads iw = b + sw*q - left: zeros where that falls outside
	// [0, w), a strided copy between.
	q0 := min(len(row), (p.left-b+p.sw-1)/p.sw) // b < sw: not negative
	q1 := q0
	if last := p.w - 1 - b + p.left; last >= 0 {
		q1 = max(q0, min(len(row), last/p.sw+1))
	}
	clear(row[:q0])
	if q1 > q0 {
		src := srcRow[b+p.sw*q0-p.left:]
		if p.sw == 2 {
			gatherEven(row[q0:q1], src)
		} else {
			for q := range row[q0:q1] {
				row[q0+q] = src[p.sw*q]
			}
		}
	}
	clear(row[q1:])
}

// zeroFew clears s, in a loop when it is short (a row's borders: a call of
// the runtime's clear per border cost as much as the row's copy).
func zeroFew(s []float32) {
	if len(s) > 16 {
		clear(s)
		return
	}
	for i := 0; i < len(s); i++ {
		s[i] = 0
	}
}

// convGroupFloats bounds the phased copies made at once: samples are
// grouped so that a group's copies take about 4 MiB, which lets batches of
// small planes run as one parallel region without large buffers for big ones.
var convGroupFloats = 1 << 20 // a variable so tests can force small groups

// sampleGroup is how many samples of per floats each make one group.
func sampleGroup(n, per int) int {
	return max(1, min(n, convGroupFloats/max(per, 1)))
}

// convGroupThreadFloats bounds the phased copies of a group of the 3x3
// convs (direct and Winograd) per thread, at 256 KiB: a sample's copy is
// filled and then read by the kernel while it still sits in L2 (1 MiB per
// Zen 4 core, shared with the output being written). With one group of the
// whole batch (4 MiB), the copies of a batch of 64x64 planes went out to L3
// before the kernel read them: at one thread, batch 8, the 16-channel
// forward and backward-data passes ran 10-20% slower with caches flushed
// between calls (TestConvGroupBitwise checks the results do not change).
var convGroupThreadFloats = 1 << 16

// convSampleGroup is sampleGroup for the 3x3 convs run on threads threads:
// at most convGroupThreadFloats per thread (at least one sample).
func convSampleGroup(n, per, threads int) int {
	limit := min(convGroupFloats, max(1, threads)*convGroupThreadFloats)
	return max(1, min(n, limit/max(per, 1)))
}

// gatherEven sets dst[i] = src[2i]: the vector kernel for the runs of 8
// whose 16 source floats lie in src; a last run that ends with the last
// source float takes the window one float earlier and its odd elements;
// a loop for the rest (short rows).
func gatherEven(dst, src []float32) {
	i := 0
	if useAsm {
		i = min(len(dst), len(src)/2) &^ 7
		if i > 0 {
			_, _ = dst[i-1], src[2*i-1]
			evenKernel(i, &dst[0], &src[0])
		}
		if n := len(dst); i < n && n >= 9 {
			w := src[2*n-17:]
			_, _ = dst[n-1], w[15]
			oddKernel(8, &dst[n-8], &w[0])
			return
		}
	}
	for ; i < len(dst); i++ {
		dst[i] = src[2*i]
	}
}

// gatherOdd sets dst[i] = src[2i+1] for i < len(dst).
func gatherOdd(dst, src []float32) {
	n := len(dst)
	if n == 0 {
		return
	}
	_ = src[2*n-1]
	i := 0
	if useAsm {
		if i = n &^ 7; i > 0 {
			oddKernel(i, &dst[0], &src[0])
		}
	}
	for ; i < n; i++ {
		dst[i] = src[2*i+1]
	}
}
