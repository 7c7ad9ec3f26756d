package cpu

import "sync"

// Fast convolutions. Shapes as in ref_conv.go: x: (N, Ci, H, W),
// w: (Co, Ci, KH, KW), y: (N, Co, Ho, Wo). Forward overwrites y; backward
// accumulates into dx, dw, db.
//
// Every pass is one of two sums over a per-sample source laid out so that
// pixel runs are contiguous (conv_direct.go):
//   forward            direct conv: y[n] = w x phased(x[n]) + b;
//                      strided (algo.go picks): y[n] = w x col(x[n]) + b (packed GEMM,
//                      col made straight into its B panels, conv_im2col.go)
//   backward-data      direct conv (stride 1): dx[n] += w^T(flipped) x padded(dy[n]);
//                      other strides: col = w^T x dy[n] (packed GEMM), dx[n] += col2im(col),
//                      in blocks of output rows that stay in L2 (conv_col2im.go)
//   backward-filter    dot products: dw += dy[n] . phased(x[n]);
//                      strided (algo.go picks): dw += dy[n] x col(x[n])^T (packed GEMM,
//                      conv_im2col_filter.go)
// Each sample's sum is cut over the threads (pixel tiles), so batch 1 keeps
// every core busy; forward and stride-1 backward-data run a group of samples
// as one parallel region of (sample, tile) pairs, backward-filter one sample
// after the other. A 1x1 stride-1 unpadded conv (the stitch) is a GEMM over
// H*W: strips of the whole batch or a packed GEMM per sample
// (conv1x1_fast.go, conv1x1_batch.go).
// 3x3 stride-1 layers with enough channels take Winograd F(2x2, 3x3) for
// forward and backward-data instead (conv_winograd.go, winogradWorth).
// algo.go picks among these per pass (and names the choice for profiles).

func (d convDims) isPointwise() bool {
	return d.kh == 1 && d.kw == 1 && d.sh == 1 && d.sw == 1 && d.ph == 0 && d.pw == 0
}

// inputImage is the phased copy of x[n] that the forward and backward-filter passes read.
func (d convDims) inputImage() phasedImage {
	return makePhasedImage(d.ci, d.h, d.w, d.sh, d.sw, d.ph, d.pw, d.h+2*d.ph, d.w+2*d.pw)
}

// inputTaps writes the tap offsets (ci, kh, kw) into the input view and
// returns the largest.
func (d convDims) inputTaps(offs []int, img phasedImage) int {
	maxOff := 0
	for ci := 0; ci < d.ci; ci++ {
		for kh := 0; kh < d.kh; kh++ {
			for kw := 0; kw < d.kw; kw++ {
				o := img.tapOffset(ci, kh, kw)
				offs[(ci*d.kh+kh)*d.kw+kw] = o
				maxOff = max(maxOff, o)
			}
		}
	}
	return maxOff
}

func (b *Backend) conv2dFast(y, x, w, bias []float32, d convDims) {
	switch b.forwardAlgo(d) {
	case algoStrips, algoGemm:
		b.conv1x1Fast(y, x, w, bias, d)
		return
	case algoWinograd4:
		b.winograd4(y, x, w, bias, d.n, d.ci, d.h, d.w, d.co, d.ho, d.wo, d.ph, d.pw, false)
		return
	case algoWinograd:
		b.winograd(y, x, w, bias, d.n, d.ci, d.h, d.w, d.co, d.ho, d.wo, d.ph, d.pw, false)
		return
	case algoGemmIm2col:
		b.conv2dIm2col(y, x, w, bias, d)
		return
	}
	ws := b.ws
	k, plane, xPlane := d.ci*d.kh*d.kw, d.ho*d.wo, d.ci*d.h*d.w
	ap := ws.getFloats(roundUp(d.co, convMR) * k)
	packConvA(b.threads, ap, d.co, k, weightView{w: w, row: k, inner: k, step: 1})
	var pb []float32
	if bias != nil {
		pb = ws.getZeros(roundUp(d.co, convMR))
		copy(pb, bias)
	}
	img := d.inputImage()
	offs := ws.getInts(k)
	per := img.size()
	group := convSampleGroup(d.n, per, b.threads)
	buf := ws.getFloats(group * per)
	j := directConvJobs.Get().(*directConvJob)
	j.m, j.k, j.ap, j.offs, j.bias, j.accumulate = d.co, k, ap, offs, pb, false
	j.maxOff = d.inputTaps(offs, img)
	j.g, j.oh, j.ow, j.src = img.g, d.ho, d.wo, buf
	j.srcStride, j.outStride = per, d.co*plane
	for n0 := 0; n0 < d.n; n0 += group {
		j.samples = min(group, d.n-n0)
		fillPhased(b.threads, img, buf, x[n0*xPlane:], j.samples, per, xPlane)
		j.out = y[n0*d.co*plane:]
		j.run(b.threads)
	}
	*j = directConvJob{}
	directConvJobs.Put(j)
	ws.putInts(offs)
	ws.putFloats(ap)
	ws.putFloats(buf)
	if pb != nil {
		ws.putFloats(pb)
	}
}

func (b *Backend) conv2dBackwardDataFast(dx, dy, w []float32, d convDims) {
	switch b.backwardDataAlgo(d) {
	case algoWinograd4:
		b.winograd4(dx, dy, w, nil, d.n, d.co, d.ho, d.wo, d.ci, d.h, d.w, 2-d.ph, 2-d.pw, true)
		return
	case algoGemmCol2im:
		b.conv2dBackwardDataGemm(dx, dy, w, d)
		return
	case algoStrips, algoGemm:
		b.conv1x1BackwardDataFast(dx, dy, w, d)
		return
	case algoWinograd:
		b.winograd(dx, dy, w, nil, d.n, d.co, d.ho, d.wo, d.ci, d.h, d.w, 2-d.ph, 2-d.pw, true)
		return
	}
	// Stride 1: dx[ci][ih][iw] += sum_{co,kh,kw} w[co][ci][kh][kw] *
	// dy[co][ih+ph-kh][iw+pw-kw], a forward conv of dy padded by k-1-p with
	// the flipped, transposed weights.
	ws := b.ws
	k, plane, dyPlane := d.co*d.kh*d.kw, d.h*d.w, d.co*d.ho*d.wo
	ap := ws.getFloats(roundUp(d.ci, convMR) * k)
	taps := d.kh * d.kw
	packConvA(b.threads, ap, d.ci, k, weightView{w: w, row: taps, inner: taps, step: 1, outer: d.ci * taps})
	img := makePhasedImage(d.co, d.ho, d.wo, 1, 1, d.kh-1-d.ph, d.kw-1-d.pw, d.h+d.kh-1, d.w+d.kw-1)
	offs := ws.getInts(k)
	maxOff := 0
	for co := 0; co < d.co; co++ {
		for kh := 0; kh < d.kh; kh++ {
			for kw := 0; kw < d.kw; kw++ {
				o := img.tapOffset(co, d.kh-1-kh, d.kw-1-kw)
				offs[(co*d.kh+kh)*d.kw+kw] = o
				maxOff = max(maxOff, o)
			}
		}
	}
	per := img.size()
	group := convSampleGroup(d.n, per, b.threads)
	buf := ws.getFloats(group * per)
	j := directConvJobs.Get().(*directConvJob)
	j.m, j.k, j.ap, j.offs, j.maxOff, j.bias, j.accumulate = d.ci, k, ap, offs, maxOff, nil, true
	j.g, j.oh, j.ow, j.src = img.g, d.h, d.w, buf
	j.srcStride, j.outStride = per, d.ci*plane
	for n0 := 0; n0 < d.n; n0 += group {
		j.samples = min(group, d.n-n0)
		fillPhased(b.threads, img, buf, dy[n0*dyPlane:], j.samples, per, dyPlane)
		j.out = dx[n0*d.ci*plane:]
		j.run(b.threads)
	}
	*j = directConvJob{}
	directConvJobs.Put(j)
	ws.putInts(offs)
	ws.putFloats(ap)
	ws.putFloats(buf)
}

func (b *Backend) conv2dBackwardFilterFast(dw, db, dy, x []float32, d convDims) {
	switch a := backwardFilterAlgo(d, b.bf16); a {
	case algoDirect:
	case algoGemmIm2col:
		b.conv2dBackwardFilterIm2col(dw, db, dy, x, d)
		return
	case algoWinograd, algoWinograd4:
		b.winogradFilter(dw, dy, x, d, a == algoWinograd4)
		if db != nil {
			b.biasGrad(db, dy, d.n, d.co, d.ho*d.wo)
		}
		return
	default:
		b.conv1x1BackwardFilterFast(dw, db, dy, x, d)
		return
	}
	if b.bf16 {
		b.conv2dBackwardFilterBF16(dw, db, dy, x, d)
		return
	}
	ws := b.ws
	k, plane, xPlane := d.ci*d.kh*d.kw, d.ho*d.wo, d.ci*d.h*d.w
	kPad, mPad := roundUp(k, dotNR), roundUp(d.co, dotMR)
	img := d.inputImage()
	offs := ws.getInts(kPad)
	d.inputTaps(offs, img)
	clear(offs[k:])
	part := ws.getZeros(mPad * kPad)
	buf := ws.getFloats(img.size())
	j := dotJobs.Get().(*dotJob)
	j.m, j.k, j.offs, j.dw, j.ldw, j.src = d.co, k, offs, part, mPad, buf
	// dy on the grid of the input view: rows g apart, zero columns between.
	j.lq = roundUp(d.ho*img.g, convSeg)
	grid := ws.getFloats(mPad * j.lq)
	j.dyg = grid
	j.chunk = dotChunk(d.co, j.lq)
	gj := gridJobs.Get().(*gridJob)
	gj.rows, gj.h, gj.w, gj.g, gj.lq, gj.dst = d.co, d.ho, d.wo, img.g, j.lq, grid
	for n := 0; n < d.n; n++ {
		gj.src = dy[n*d.co*plane : (n+1)*d.co*plane]
		runParts(gj, min(b.threads, mPad), &gj.done)
		fillPhased(b.threads, img, buf, x[n*xPlane:(n+1)*xPlane], 1, 0, 0)
		j.run(b.threads)
	}
	addTapMajor(dw, part, d.co, k, mPad)
	j.dyg, j.src, j.offs, j.dw = nil, nil, nil, nil
	dotJobs.Put(j)
	gj.src, gj.dst = nil, nil
	gridJobs.Put(gj)
	ws.putInts(offs)
	ws.putFloats(part)
	ws.putFloats(buf)
	ws.putFloats(grid)
	if db != nil {
		b.biasGrad(db, dy, d.n, d.co, plane)
	}
}

// gridJob copies rows of planes (h, w) onto a grid of pitch g, zero elsewhere:
// dst[r*lq + i*g + c] = src[(r*h+i)*w + c]; rows past the source are zero.
type gridJob struct {
	rows, h, w, g, lq int
	src, dst          []float32
	done              partsDone
}

var gridJobs = sync.Pool{New: func() any { return new(gridJob) }}

func (j *gridJob) runPart(part, parts int) {
	total := len(j.dst) / j.lq
	r0, r1 := partRange(total, 1, part, parts)
	for r := r0; r < r1; r++ {
		out := j.dst[r*j.lq : (r+1)*j.lq]
		if r >= j.rows {
			clear(out)
			continue
		}
		n := min(j.w, j.g)
		copyRows(out, j.g, j.src[r*j.h*j.w:], j.w, j.h, n)
		for i := 0; i < j.h; i++ {
			zeroFew(out[i*j.g+n : (i+1)*j.g])
		}
		clear(out[j.h*j.g:])
	}
}

// biasGradJob: db[c] += sum over (n, s) of dy[n, c, s], parts cutting C;
// each channel is summed in float64 in a fixed order.
type biasGradJob struct {
	db, dy  []float32
	n, c, s int
	done    partsDone
}

var biasGradJobs = sync.Pool{New: func() any { return new(biasGradJob) }}

func (j *biasGradJob) runPart(part, parts int) {
	c0, c1 := partRange(j.c, 1, part, parts)
	for c := c0; c < c1; c++ {
		var acc float64
		for i := 0; i < j.n; i++ {
			acc += sumFloat32(j.dy[(i*j.c+c)*j.s : (i*j.c+c+1)*j.s])
		}
		j.db[c] += float32(acc)
	}
}

// sumFloat32 adds x in float64 with eight independent partial sums.
func sumFloat32(x []float32) float64 {
	// Eight running sums (element i to sum i%8, the tail to sum 0), combined
	// pairwise; the assembly runs of 8 add in the same order (same bits).
	var s [8]float64
	i := 0
	if useAsm {
		if i = len(x) &^ 7; i > 0 {
			sumKernel(i, &x[0], &s[0])
		}
	} else {
		for ; i+8 <= len(x); i += 8 {
			for l := range s {
				s[l] += float64(x[i+l])
			}
		}
	}
	for ; i < len(x); i++ {
		s[0] += float64(x[i])
	}
	return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]))
}

func (b *Backend) biasGrad(db, dy []float32, n, c, s int) {
	j := biasGradJobs.Get().(*biasGradJob)
	j.db, j.dy, j.n, j.c, j.s = db, dy, n, c, s
	runParts(j, min(b.threads, c, max(1, n*c*s/minParallel)), &j.done)
	j.db, j.dy = nil, nil
	biasGradJobs.Put(j)
}
