package cpu

import "sync"

// The 1x1, stride-1, unpadded conv (the stitch) is a GEMM over the H*W pixels
// of each sample, with no copy of the image: per sample n, with P = H*W,
//   forward          y[n] (Co, P) = w (Co, Ci) x x[n] (Ci, P) + b (added in the tile stores)
//   backward-data    dx[n] (Ci, P) += w^T x dy[n]
//   backward-filter  dw (Co, Ci) += dy[n] (Co, P) x x[n]^T (split-K in the GEMM)
// It goes through the packed GEMM rather than the direct kernel because its
// planes are often 2^k floats apart: the direct kernel would read 32 or more
// rows that share one cache set, while packing copies them into contiguous
// panels once.

func (b *Backend) conv1x1Fast(y, x, w, bias []float32, d convDims) {
	p := d.h * d.w
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
	for n := 0; n < d.n; n++ {
		b.sgemm(true, false, d.ci, p, d.co, 1, w, d.ci, dy[n*d.co*p:(n+1)*d.co*p], p, 1, dx[n*d.ci*p:(n+1)*d.ci*p], p)
	}
}

func (b *Backend) conv1x1BackwardFilterFast(dw, db, dy, x []float32, d convDims) {
	p := d.h * d.w
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
