package cpu

import "sync"

// Fast conv-transpose with kernel == stride (convTDims in ref_conv.go):
// x: (N, Ci, H, W), w: (Ci, Co, KH, KW), y: (N, Co, H*KH, W*KW). With
// CK = Co*KH*KW the layer is a GEMM over the H*W input pixels:
//   forward          z (CK, HW) = w^T x x[n] + b, then scatter z into y[n]
//   backward-data    z = gather(dy[n]); dx[n] (Ci, HW) += w x z
//   backward-filter  z = gather(dy[n]); dw (Ci, CK) += x[n] . z
// all on the direct kernels with flat planes (one row of HW pixels, rows of
// z a multiple of 8 floats apart). The 2x2 kernel (the U-Net's upsampling)
// runs conv_transpose_2x2.go instead, without z, except backward-filter on
// rows of W not a multiple of 4.

// flatPitch is the distance between planes of HW pixels in the flat buffers:
// a multiple of 8 floats, and 16 floats more when that is a multiple of 256,
// because the direct kernel reads up to 288 planes at once and planes 2^k
// floats apart (k >= 8) fall into a few L1 sets (BenchmarkConvTranspose,
// 128x64x32x32 and 64x32x64x64: 10-40% faster with the extra 16 floats,
// although the forward pass then copies x).
func flatPitch(hw int) int {
	p := roundUp(hw, convSeg)
	if p%256 == 0 {
		p += 16
	}
	return p
}

// scatterJob moves z (samples, CK, pitch) to or from y[n0..] (Co, H*KH,
// W*KW), parts cutting the (sample, Co) pairs. toY: y = z (forward);
// otherwise z = y with zero tails (gather). z's samples are CK*pitch apart.
type scatterJob struct {
	d       convTDims
	n0      int // first sample of y
	samples int
	pitch   int
	z, y    []float32 // y is the whole batch tensor
	toY     bool
	done    partsDone
}

var scatterJobs = sync.Pool{New: func() any { return new(scatterJob) }}

func (j *scatterJob) runPart(part, parts int) {
	d, hw := j.d, j.d.h*j.d.w
	ck := d.co * d.kh * d.kw
	u0, u1 := partRange(j.samples*d.co, 1, part, parts)
	for u := u0; u < u1; u++ {
		s, co := u/d.co, u%d.co
		z := j.z[s*ck*j.pitch:]
		if d.kw == 2 {
			// Both kernel columns of a kernel row at once: y's row is
			// their interleave.
			for i := 0; i < d.kh; i++ {
				r0 := z[((co*d.kh+i)*2)*j.pitch:][:j.pitch]
				r1 := z[((co*d.kh+i)*2+1)*j.pitch:][:j.pitch]
				for h := 0; h < d.h; h++ {
					yr := j.y[d.yIndex(j.n0+s, co, h, 0, i, 0):][:2*d.w]
					z0, z1 := r0[h*d.w:(h+1)*d.w], r1[h*d.w:(h+1)*d.w]
					if j.toY {
						interleave2(yr, z0, z1)
					} else {
						gatherEven(z0, yr)
						gatherOdd(z1, yr)
					}
				}
				if !j.toY {
					clear(r0[hw:])
					clear(r1[hw:])
				}
			}
			continue
		}
		for i := 0; i < d.kh; i++ {
			for jj := 0; jj < d.kw; jj++ {
				row := z[((co*d.kh+i)*d.kw+jj)*j.pitch:][:j.pitch]
				for h := 0; h < d.h; h++ {
					base := d.yIndex(j.n0+s, co, h, 0, i, jj)
					zr := row[h*d.w : (h+1)*d.w]
					if j.toY {
						for w, v := range zr {
							j.y[base+w*d.kw] = v
						}
					} else {
						for w := range zr {
							zr[w] = j.y[base+w*d.kw]
						}
					}
				}
				if !j.toY {
					clear(row[hw:])
				}
			}
		}
	}
}

func (b *Backend) scatterConvT(z, y []float32, n0, samples, pitch int, d convTDims, toY bool) {
	j := scatterJobs.Get().(*scatterJob)
	j.d, j.n0, j.samples, j.pitch, j.z, j.y, j.toY = d, n0, samples, pitch, z, y, toY
	runParts(j, min(b.threads, samples*d.co), &j.done)
	j.z, j.y = nil, nil
	scatterJobs.Put(j)
}

// flatten returns src (rows, hw) with planes pitch apart: src itself when
// hw == pitch, else a copy in buf with zero tails.
func (b *Backend) flatten(buf, src []float32, rows, hw, pitch int) []float32 {
	if hw == pitch {
		return src
	}
	j := gridJobs.Get().(*gridJob)
	j.rows, j.h, j.w, j.g, j.lq, j.src, j.dst = rows, 1, hw, pitch, pitch, src, buf
	runParts(j, min(b.threads, rows), &j.done)
	j.src, j.dst = nil, nil
	gridJobs.Put(j)
	return buf
}

func (b *Backend) convTranspose2dFast(y, x, w, bias []float32, d convTDims) {
	if t2Fits(d) {
		b.convTranspose2x2(y, x, w, bias, d)
		return
	}
	ws := b.ws
	hw, ck := d.h*d.w, d.co*d.kh*d.kw
	pitch := flatPitch(hw)
	ap := ws.getFloats(roundUp(ck, convMR) * d.ci)
	packConvA(b.threads, ap, ck, d.ci, weightView{w: w, row: 1, inner: d.ci, step: ck})
	var pb []float32
	if bias != nil {
		pb = ws.getZeros(roundUp(ck, convMR))
		for r := 0; r < ck; r++ {
			pb[r] = bias[r/(d.kh*d.kw)]
		}
	}
	offs := ws.getInts(d.ci)
	for ci := range offs {
		offs[ci] = ci * pitch
	}
	j := directConvJobs.Get().(*directConvJob)
	j.m, j.k, j.ap, j.offs, j.maxOff, j.bias, j.accumulate = ck, d.ci, ap, offs, (d.ci-1)*pitch, pb, false
	j.g, j.oh, j.ow = pitch, 1, hw
	var z, xbuf []float32
	if hw == pitch {
		// x is already flat: a group of samples (sampleGroup) is one
		// parallel region, z rows hw apart (a multiple of 8).
		group := sampleGroup(d.n, ck*pitch)
		z = ws.getFloats(group * ck * pitch)
		j.srcStride, j.out, j.outStride = d.ci*hw, z, ck*pitch
		for n0 := 0; n0 < d.n; n0 += group {
			j.src, j.samples = x[n0*d.ci*hw:], min(group, d.n-n0)
			j.run(b.threads)
			b.scatterConvT(z, y, n0, j.samples, pitch, d, true)
		}
	} else {
		z, xbuf = ws.getFloats(ck*pitch), ws.getFloats(d.ci*pitch)
		j.out, j.samples = z, 1
		for n := 0; n < d.n; n++ {
			j.src = b.flatten(xbuf, x[n*d.ci*hw:(n+1)*d.ci*hw], d.ci, hw, pitch)
			j.run(b.threads)
			b.scatterConvT(z, y, n, 1, hw, d, true) // the kernel writes rows hw apart
		}
		ws.putFloats(xbuf)
	}
	j.ap, j.offs, j.src, j.out, j.bias = nil, nil, nil, nil, nil
	directConvJobs.Put(j)
	ws.putInts(offs)
	ws.putFloats(ap)
	ws.putFloats(z)
	if pb != nil {
		ws.putFloats(pb)
	}
}

func (b *Backend) convTranspose2dBackwardDataFast(dx, dy, w []float32, d convTDims) {
	if t2Fits(d) {
		b.convTranspose2x2BackwardData(dx, dy, w, d)
		return
	}
	ws := b.ws
	hw, ck := d.h*d.w, d.co*d.kh*d.kw
	pitch := flatPitch(hw)
	ap := ws.getFloats(roundUp(d.ci, convMR) * ck)
	packConvA(b.threads, ap, d.ci, ck, weightView{w: w, row: ck, inner: ck, step: 1})
	offs := ws.getInts(ck)
	for t := range offs {
		offs[t] = t * pitch
	}
	// z holds a group of samples' gathered dy: one parallel region each.
	group := sampleGroup(d.n, ck*pitch)
	z := ws.getFloats(group * ck * pitch)
	j := directConvJobs.Get().(*directConvJob)
	j.m, j.k, j.ap, j.offs, j.maxOff, j.bias, j.accumulate = d.ci, ck, ap, offs, (ck-1)*pitch, nil, true
	j.g, j.oh, j.ow, j.src, j.srcStride = pitch, 1, hw, z, ck*pitch
	j.outStride = d.ci * hw
	for n0 := 0; n0 < d.n; n0 += group {
		j.samples = min(group, d.n-n0)
		b.scatterConvT(z, dy, n0, j.samples, pitch, d, false)
		j.out = dx[n0*d.ci*hw:]
		j.run(b.threads)
	}
	j.ap, j.offs, j.src, j.out = nil, nil, nil, nil
	directConvJobs.Put(j)
	ws.putInts(offs)
	ws.putFloats(ap)
	ws.putFloats(z)
}

func (b *Backend) convTranspose2dBackwardFilterFast(dw, db, dy, x []float32, d convTDims) {
	if t2FilterFits(d) {
		b.convTranspose2x2BackwardFilter(dw, db, dy, x, d)
		return
	}
	ws := b.ws
	hw, ck := d.h*d.w, d.co*d.kh*d.kw
	pitch := flatPitch(hw)
	kPad, mPad := roundUp(ck, dotNR), roundUp(d.ci, dotMR)
	offs := ws.getInts(kPad)
	for t := range offs {
		offs[t] = 0
		if t < ck {
			offs[t] = t * pitch
		}
	}
	z := ws.getFloats(ck * pitch)
	part := ws.getZeros(mPad * kPad)
	var xbuf []float32
	inPlace := hw == pitch && d.ci%dotMR == 0
	if !inPlace {
		xbuf = ws.getFloats(mPad * pitch)
	}
	j := dotJobs.Get().(*dotJob)
	j.m, j.k, j.offs, j.dw, j.ldw, j.lq, j.src = d.ci, ck, offs, part, mPad, pitch, z
	j.chunk = dotChunk(d.ci, pitch)
	for n := 0; n < d.n; n++ {
		xn := x[n*d.ci*hw : (n+1)*d.ci*hw]
		if inPlace {
			j.dyg = xn
		} else {
			gj := gridJobs.Get().(*gridJob)
			gj.rows, gj.h, gj.w, gj.g, gj.lq, gj.src, gj.dst = d.ci, 1, hw, pitch, pitch, xn, xbuf
			runParts(gj, min(b.threads, mPad), &gj.done)
			gj.src, gj.dst = nil, nil
			gridJobs.Put(gj)
			j.dyg = xbuf
		}
		b.scatterConvT(z, dy, n, 1, pitch, d, false)
		j.run(b.threads)
	}
	for ci := 0; ci < d.ci; ci++ {
		dst := dw[ci*ck : (ci+1)*ck]
		for t := range dst {
			dst[t] += part[t*mPad+ci]
		}
	}
	j.dyg, j.src, j.offs, j.dw = nil, nil, nil, nil
	dotJobs.Put(j)
	ws.putInts(offs)
	ws.putFloats(z)
	ws.putFloats(part)
	if xbuf != nil {
		ws.putFloats(xbuf)
	}
	if db != nil {
		b.biasGrad(db, dy, d.n, d.co, hw*d.kh*d.kw)
	}
}

// interleave2 sets dst[2i] = a[i], dst[2i+1] = b[i] for i < len(a).
func interleave2(dst, a, b []float32) {
	n := len(a)
	if n == 0 {
		return
	}
	_, _ = dst[2*n-1], b[n-1]
	i := 0
	if useAsm {
		if i = n &^ 7; i > 0 {
			interleaveKernel(i, &dst[0], &a[0], &b[0])
		}
	}
	for ; i < n; i++ {
		dst[2*i], dst[2*i+1] = a[i], b[i]
	}
}
