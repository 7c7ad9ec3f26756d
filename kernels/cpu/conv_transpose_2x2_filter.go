package cpu

import "sync"

// Backward-filter of the 2x2 stride-2 conv-transpose with dy read in place:
// x2 is x with every pixel written twice, so that 8 floats of x2 pair with
// 8 floats of a dy row (4 pixels, kernel columns 0 and 1 in the even and
// odd lanes). The taps are the (co, i) pairs, dy row 2h+i of channel co;
// dotKernelP4x3 sums 4 channels of x2 against 3 taps over image rows.
//
//   part[q*ldp + 2ci + j] += sum_{h, w} x[ci][h][w] * dy[co][2h+i][2w+j], q = 2co+i
//
// Parts cut the tap groups, so every sum has one owner and a fixed order
// (samples in turn, rows in chunks).

// t2FilterFits: the shapes backward-filter runs here (whole 4-pixel
// segments: rows of 2W floats a multiple of 8).
func t2FilterFits(d convTDims) bool { return t2Fits(d) && d.w%4 == 0 }

// t2DotFloats bounds the x2 floats of a pass (all channels), which stay in
// L2 while the tap groups go by: image rows of one sample, or whole samples.
const t2DotFloats = 1 << 17

type t2DotJob struct {
	x2        []float32 // (roundUp(ci, 4), ldx): a channel's samples in turn
	ldx, xs   int       // channel and sample strides of x2
	dy        []float32 // the group's first sample
	dys       int       // sample stride of dy
	samples   int
	ci, taps  int
	h, w      int
	part      []float32 // (roundUp(taps, 3), ldp)
	ldp       int
	chunkRows int // image rows per pass: the x2 rows of a pass stay in L2
	chunks    chunker
	done      partsDone
}

var t2DotJobs = sync.Pool{New: func() any { return new(t2DotJob) }}

func (j *t2DotJob) run(threads int) {
	groups := (j.taps + dotNR - 1) / dotNR
	parts := min(threads, groups, max(1, j.samples*j.ci*j.taps*j.h*j.w/(1<<14)))
	j.chunks.reset(min(groups, chunksPerPart*parts))
	runParts(j, parts, &j.done)
}

func (j *t2DotJob) runPart(part, parts int) {
	groups := (j.taps + dotNR - 1) / dotNR
	for {
		g0, g1, ok := j.chunks.claimUnits(groups)
		if !ok {
			return
		}
		if j.chunkRows < j.h {
			for s := 0; s < j.samples; s++ {
				for h0 := 0; h0 < j.h; h0 += j.chunkRows {
					j.runGroups(s, 1, h0, min(j.chunkRows, j.h-h0), g0, g1)
				}
			}
			continue
		}
		// Whole samples a pass: as many as fit the pass's floats.
		sb := max(1, t2DotFloats/(roundUp(j.ci, dotMR)*2*j.h*j.w))
		for s := 0; s < j.samples; s += sb {
			j.runGroups(s, min(sb, j.samples-s), 0, j.h, g0, g1)
		}
	}
}

// runGroups adds image rows [h0, h0+rows) of samples [s, s+ns) to the sums
// of tap groups [g0, g1); several samples only with whole planes.
func (j *t2DotJob) runGroups(s, ns, h0, rows, g0, g1 int) {
	n := 2 * j.w
	x2 := j.x2[s*j.xs+h0*n:]
	dy := j.dy[s*j.dys:]
	hw4 := 4 * j.h * j.w
	for grp := g0; grp < g1; grp++ {
		var o [dotNR]int
		for t := range o {
			q := min(grp*dotNR+t, j.taps-1) // padding taps repeat the last
			o[t] = q/2*hw4 + q%2*n + h0*2*n
		}
		c := 0
		if useAVX512 && useAsm && n%16 == 0 {
			for ; c+2*dotMR <= j.ci; c += 2 * dotMR {
				microDotPZ(rows, n, x2[c*j.ldx:], j.ldx, dy, &o, 2*n, j.part[grp*dotNR*j.ldp+2*c:], j.ldp, ns, j.dys)
			}
		}
		for ; c < j.ci; c += dotMR {
			for i := 0; i < ns; i++ {
				microDotP(rows, n, x2[c*j.ldx+i*j.xs:], j.ldx, dy[i*j.dys:], &o, 2*n, j.part[grp*dotNR*j.ldp+2*c:], j.ldp)
			}
		}
	}
}

// microDotP: out[t*ldo+2r+j] += sum_{h<rows, l<n, l%2==j} x[r*ldx+h*n+l] *
// dy[o_t+h*ldy+l] for r < 4, t < 3 (dotKernelP4x3).
func microDotP(rows, n int, x []float32, ldx int, dy []float32, o *[dotNR]int, ldy int, out []float32, ldo int) {
	if rows == 0 || n == 0 {
		return
	}
	_ = x[(dotMR-1)*ldx+rows*n-1]
	_, _, _ = dy[o[0]+(rows-1)*ldy+n-1], dy[o[1]+(rows-1)*ldy+n-1], dy[o[2]+(rows-1)*ldy+n-1]
	_ = out[(dotNR-1)*ldo+2*dotMR-1]
	if useAsm {
		dotKernelP4x3(rows, n, &x[0], ldx, &dy[0], o[0], o[1], o[2], ldy, &out[0], ldo)
		return
	}
	for t := 0; t < dotNR; t++ {
		for r := 0; r < dotMR; r++ {
			var acc [2]float32
			for h := 0; h < rows; h++ {
				xr, dr := x[r*ldx+h*n:][:n], dy[o[t]+h*ldy:][:n]
				for l := range xr {
					acc[l%2] += xr[l] * dr[l]
				}
			}
			out[t*ldo+2*r] += acc[0]
			out[t*ldo+2*r+1] += acc[1]
		}
	}
}

// dupJob writes x2 for a group of samples: parts cut the (sample, channel)
// planes; padding channels are zero.
type dupJob struct {
	x2, x   []float32
	ci, ciP int
	hw, ldx int
	samples int
	done    partsDone
}

var dupJobs = sync.Pool{New: func() any { return new(dupJob) }}

func (j *dupJob) runPart(part, parts int) {
	r0, r1 := partRange(j.samples*j.ciP, 1, part, parts)
	for r := r0; r < r1; r++ {
		s, c := r/j.ciP, r%j.ciP
		dst := j.x2[c*j.ldx+s*2*j.hw:][:2*j.hw]
		if c >= j.ci {
			clear(dst)
			continue
		}
		src := j.x[(s*j.ci+c)*j.hw:][:j.hw]
		interleave2(dst, src, src)
	}
}

func (b *Backend) convTranspose2x2BackwardFilter(dw, db, dy, x []float32, d convTDims) {
	ws := b.ws
	hw, ck := d.h*d.w, d.co*4
	taps, ciP := ck/2, roundUp(d.ci, dotMR)
	ldp := 2 * ciP
	part := ws.getZeros(roundUp(taps, dotNR) * ldp)
	group := sampleGroup(d.n, ciP*flatPitch(2*hw))
	ldx := flatPitch(group * 2 * hw) // x2: (ciP, group, 2hw), channels ldx apart
	x2 := ws.getFloats(ciP * ldx)
	j := t2DotJobs.Get().(*t2DotJob)
	j.x2, j.ldx, j.xs, j.dys, j.ci, j.taps, j.h, j.w = x2, ldx, 2*hw, ck*hw, d.ci, taps, d.h, d.w
	j.part, j.ldp = part, ldp
	j.chunkRows = max(1, min(d.h, t2DotFloats/(ciP*2*d.w)))
	dj := dupJobs.Get().(*dupJob)
	dj.x2, dj.ci, dj.ciP, dj.hw, dj.ldx = x2, d.ci, ciP, hw, ldx
	for n0 := 0; n0 < d.n; n0 += group {
		samples := min(group, d.n-n0)
		dj.x, dj.samples = x[n0*d.ci*hw:], samples
		runParts(dj, min(b.threads, samples*ciP), &dj.done)
		j.dy, j.samples = dy[n0*ck*hw:], samples
		j.run(b.threads)
	}
	for c := 0; c < d.ci; c++ {
		dst := dw[c*ck : (c+1)*ck]
		for q := 0; q < taps; q++ {
			dst[2*q] += part[q*ldp+2*c]
			dst[2*q+1] += part[q*ldp+2*c+1]
		}
	}
	dj.x, dj.x2 = nil, nil
	dupJobs.Put(dj)
	j.x2, j.dy, j.part = nil, nil, nil
	t2DotJobs.Put(j)
	ws.putFloats(x2)
	ws.putFloats(part)
	if db != nil {
		b.biasGrad(db, dy, d.n, d.co, hw*4)
	}
}

// microDotPZ is microDotP for 8 rows of x in the AVX-512 kernel, over ns
// samples (x's rows*n floats apart, dy's dys); n a multiple of 16.
func microDotPZ(rows, n int, x []float32, ldx int, dy []float32, o *[dotNR]int, ldy int, out []float32, ldo, ns, dys int) {
	if rows == 0 || n == 0 || ns == 0 {
		return
	}
	_ = x[(2*dotMR-1)*ldx+ns*rows*n-1]
	last := (ns-1)*dys + (rows-1)*ldy + n - 1
	_, _, _ = dy[o[0]+last], dy[o[1]+last], dy[o[2]+last]
	_ = out[(dotNR-1)*ldo+4*dotMR-1]
	dotKernelPZ8x3(rows, n, &x[0], ldx, &dy[0], o[0], o[1], o[2], ldy, &out[0], ldo, ns, dys)
}
