package cpu

import "sync"

// The 1x1, stride-1, unpadded conv (the stitch) is a GEMM over the H*W pixels
// of each sample, with no copy of the image: per sample n, with P = H*W,
//   forward          y[n] (Co, P) = w (Co, Ci) x x[n] (Ci, P) + b (added in the tile stores)
//   backward-data    dx[n] (Ci, P) += w^T x dy[n]
//   backward-filter  dw (Co, Ci) += dy[n] (Co, P) x x[n]^T: dot products of the
//                    rows read in place (conv1x1BackwardFilterDot) when P is a
//                    multiple of 8, else the GEMM (split-K)
// Forward and backward-data run as strips of pixels over the whole batch
// (pointwiseJob, conv1x1_batch.go) when the sum is at most one GEMM slice
// and the planes at most 64x64 (128x128 with the AVX-512 12x32 kernel),
// else as one packed GEMM per sample. Neither
// reads the planes in place in the micro-kernel: they are often 2^k floats
// apart, so 32 or more rows would share one cache set; both copy them into
// contiguous panels first.

func (b *Backend) conv1x1Fast(y, x, w, bias []float32, d convDims) {
	p := d.h * d.w
	if forwardAlgo(d) == algoStrips {
		b.pointwise(y, x, w, bias, d.n, d.co, d.ci, p, false, false)
		return
	}
	for n := 0; n < d.n; n++ {
		yn, xn := y[n*d.co*p:(n+1)*d.co*p], x[n*d.ci*p:(n+1)*d.ci*p]
		if bias != nil {
			b.sgemmBias(d.co, p, d.ci, w, d.ci, xn, p, bias, yn, p)
		} else {
			b.sgemm(false, false, d.co, p, d.ci, 1, w, d.ci, xn, p, 0, yn, p)
		}
	}
}

func (b *Backend) conv1x1BackwardDataFast(dx, dy, w []float32, d convDims) {
	p := d.h * d.w
	if backwardDataAlgo(d) == algoStrips {
		b.pointwise(dx, dy, w, nil, d.n, d.ci, d.co, p, true, true)
		return
	}
	for n := 0; n < d.n; n++ {
		b.sgemm(true, false, d.ci, p, d.co, 1, w, d.ci, dy[n*d.co*p:(n+1)*d.co*p], p, 1, dx[n*d.ci*p:(n+1)*d.ci*p], p)
	}
}

func (b *Backend) conv1x1BackwardFilterFast(dw, db, dy, x []float32, d convDims) {
	p := d.h * d.w
	if backwardFilterAlgo(d, false) == algoDot {
		b.conv1x1BackwardFilterDot(dw, dy, x, d)
		if db != nil {
			b.biasGrad(db, dy, d.n, d.co, p)
		}
		return
	}
	for n := 0; n < d.n; n++ {
		b.sgemm(false, true, d.co, d.ci, p, 1, dy[n*d.co*p:(n+1)*d.co*p], p, x[n*d.ci*p:(n+1)*d.ci*p], p, 1, dw, d.ci)
	}
	if db != nil {
		b.biasGrad(db, dy, d.n, d.co, p)
	}
}

// biasAddJob: y[n, c, s] += b[c], parts cutting the (n, c) planes.
type biasAddJob struct {
	y, bias []float32
	c, s    int
	done    partsDone
}

var biasAddJobs = sync.Pool{New: func() any { return new(biasAddJob) }}

func (j *biasAddJob) runPart(part, parts int) {
	p0, p1 := partRange(len(j.y)/j.s, 1, part, parts)
	for p := p0; p < p1; p++ {
		v := j.bias[p%j.c]
		row := j.y[p*j.s : (p+1)*j.s]
		for i := range row {
			row[i] += v
		}
	}
}

func (b *Backend) biasAdd(y, bias []float32, n, c, s int) {
	if s == 0 {
		return
	}
	j := biasAddJobs.Get().(*biasAddJob)
	j.y, j.bias, j.c, j.s = y, bias, c, s
	runParts(j, min(b.threads, n*c, max(1, n*c*s/minParallel)), &j.done)
	j.y, j.bias = nil, nil
	biasAddJobs.Put(j)
}

// conv1x1BackwardFilterDot is the weight gradient as dot products of dy's
// rows with x's rows (the backward-filter kernel of the 3x3 convs, taps =
// input channels), read in place: dw (Co, Ci) is tiny and the sum runs over
// H*W, so the packed GEMM would copy both activations to multiply them once.
// Needs H*W a multiple of 8 (whole 8-float runs). dy's rows are the
// kernel's 4-row tiles: with Co not a multiple of 4 (the U-Net's 2-class
// head) each sample's dy is copied into rows padded with zeros, whose sums
// are dropped.
func (b *Backend) conv1x1BackwardFilterDot(dw, dy, x []float32, d convDims) {
	ws := b.ws
	p := d.h * d.w
	kPad, mPad := roundUp(d.ci, dotNR), roundUp(d.co, dotMR)
	offs := ws.getInts(kPad)
	for t := range offs {
		offs[t] = 0 // padding taps read channel 0; their sums are dropped
		if t < d.ci {
			offs[t] = t * p
		}
	}
	var dyPad []float32
	if mPad != d.co {
		dyPad = ws.getZeros(mPad * p)
	}
	part := ws.getZeros(mPad * kPad) // (kPad, mPad): tap-major partial sums
	j := dotJobs.Get().(*dotJob)
	j.m, j.k, j.offs, j.dw, j.ldw, j.lq = mPad, d.ci, offs, part, mPad, p
	j.chunk = dotChunk(mPad, p)
	for n := 0; n < d.n; n++ {
		j.dyg, j.src = dy[n*d.co*p:(n+1)*d.co*p], x[n*d.ci*p:(n+1)*d.ci*p]
		if dyPad != nil {
			copy(dyPad, j.dyg) // rows past d.co stay zero
			j.dyg = dyPad
		}
		j.run(b.threads)
	}
	addTapMajor(dw, part, d.co, d.ci, mPad)
	j.dyg, j.src, j.offs, j.dw = nil, nil, nil, nil
	dotJobs.Put(j)
	ws.putInts(offs)
	ws.putFloats(part)
	if dyPad != nil {
		ws.putFloats(dyPad)
	}
}
