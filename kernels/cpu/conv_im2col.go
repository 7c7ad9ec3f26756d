package cpu

import "sync"

// Forward pass of strided convolutions (algo.go's gemm+im2col): for each
// sample and each block of im2colPixels output pixels, y[n][:, block] =
// W (Co, Ci*KH*KW) x col (Ci*KH*KW, block) + b through the packed GEMM
// (gemm.go), whose B packing is replaced by im2col: each KC-deep slice of
// col is made straight into the GEMM's B panels (L2-sized), so col is never
// stored whole and x is read in place (no phased copy). The parts are
// (sample, block) units, each writing its own columns of y with the same
// slices of the sum whatever the thread count (bitwise deterministic).

// im2colPixels is the output pixels (GEMM columns) of a block: the B
// panels of a slice, KC x 256 floats, take 256 KiB of L2.
const im2colPixels = 256

// im2colSrc is the source that packB reads instead of B: sample x
// (Ci, H, W) and the first output pixel q0 of the block.
type im2colSrc struct {
	d   convDims
	x   []float32
	q0  int
	row []float32 // one row of col, im2colPixels floats
}

type im2colJob struct {
	d             convDims
	y, x, w, bias []float32
	blocks        int       // blocks per sample
	apre          []float32 // w packed for the GEMM (with bf16: as pair panels, bits in float32s)
	mPad          int       // rows of apre (Co rounded up to gemmMR)
	ws            *workspace
	bf16          bool
	done          partsDone
}

var im2colJobs = sync.Pool{New: func() any { return new(im2colJob) }}

func (b *Backend) conv2dIm2col(y, x, w, bias []float32, d convDims) {
	p := d.ho * d.wo
	if d.n == 0 || d.co == 0 || p <= 0 {
		return
	}
	j := im2colJobs.Get().(*im2colJob)
	*j = im2colJob{d: d, y: y, x: x, w: w, bias: bias, ws: b.ws, bf16: b.bf16}
	j.blocks = (p + im2colPixels - 1) / im2colPixels
	k := d.ci * d.kh * d.kw
	j.mPad = roundUp(d.co, gemmMR)
	j.apre = b.ws.getFloats(j.mPad * apreDepth(k, b.bf16))
	j.prepack()
	units := d.n * j.blocks
	flops := 2 * d.co * d.ci * d.kh * d.kw * p * d.n
	runParts(j, min(b.threads, units, max(1, flops/gemmMinParallel)), &j.done)
	b.ws.putFloats(j.apre)
	*j = im2colJob{}
	im2colJobs.Put(j)
}

func (j *im2colJob) runPart(part, parts int) {
	d := j.d
	k, p := d.ci*d.kh*d.kw, d.ho*d.wo
	src := &im2colSrc{d: d, row: j.ws.getFloats(im2colPixels)}
	gj := gemmJobs.Get().(*gemmJob)
	*gj = gemmJob{alpha: 1, a: j.w, lda: k, ws: j.ws, bf16: j.bf16, im2col: src, apreM: j.mPad}
	if j.bf16 {
		gj.apreB = u32(j.apre)
	} else {
		gj.apre = j.apre
	}
	u0, u1 := partRange(d.n*j.blocks, 1, part, parts)
	for u := u0; u < u1; u++ {
		n, blk := u/j.blocks, u%j.blocks
		q0 := blk * im2colPixels
		nb := min(p, q0+im2colPixels) - q0
		src.x, src.q0 = j.x[n*d.ci*d.h*d.w:(n+1)*d.ci*d.h*d.w], q0
		gj.block(0, d.co, 0, nb, 0, k, j.y[n*d.co*p+q0:], p, 0, j.bias)
	}
	j.ws.putFloats(src.row)
	*gj = gemmJob{}
	gemmJobs.Put(gj)
}

// prepack writes w (Co, K) as the GEMM's A panels, slice by slice of the
// sum, as block (gemm.go) and blockBF16 (bf16.go) read them.
func (j *im2colJob) prepack() {
	d := j.d
	k := d.ci * d.kh * d.kw
	gj := gemmJobs.Get().(*gemmJob)
	*gj = gemmJob{alpha: 1, a: j.w, lda: k}
	var tmp []float32
	if j.bf16 {
		tmp = j.ws.getFloats(j.mPad * min(gemmKC, k))
	}
	for pc := 0; pc < k; pc += gemmKC {
		kc := min(gemmKC, k-pc)
		if !j.bf16 {
			gj.packA(j.apre[pc*j.mPad:], 0, d.co, pc, kc)
			continue
		}
		kp := (kc + 1) / 2
		gj.packA(tmp, 0, d.co, pc, kc)
		pairs := u32(j.apre[pc/2*j.mPad:])
		for i0 := 0; i0 < j.mPad; i0 += gemmMR {
			toPairs(pairs[i0*kp:(i0+gemmMR)*kp], tmp[i0*kc:(i0+gemmMR)*kc], kc, gemmMR)
		}
	}
	if tmp != nil {
		j.ws.putFloats(tmp)
	}
	*gj = gemmJob{}
	gemmJobs.Put(gj)
}

// pack writes rows [pc, pc+kc) and columns [jc, jc+nc) of the block's col
// as the GEMM's B panels (packB's layout): each row of col is made in
// s.row, then cut into the panels.
func (s *im2colSrc) pack(bp []float32, pc, kc, jc, nc int) {
	whole := nc / gemmNR * gemmNR
	for p := 0; p < kc; p++ {
		row := s.row[:nc]
		s.colRow(row, pc+p, s.q0+jc)
		for jr := 0; jr < whole; jr += gemmNR {
			v := *(*[gemmNR]float32)(row[jr:])
			*(*[gemmNR]float32)(bp[jr*kc+p*gemmNR:]) = v
		}
		if whole < nc {
			dst := bp[whole*kc+p*gemmNR:][:gemmNR]
			n := copy(dst, row[whole:])
			clear(dst[n:])
		}
	}
}

// colRow writes row t (tap (ci, kh, kw)) of col for output pixels
// [q, q+len(row)): x[ci][oh*sh-ph+kh][ow*sw-pw+kw], zero in the padding.
func (s *im2colSrc) colRow(row []float32, t, q int) {
	d := s.d
	ci, kh, kw := t/(d.kh*d.kw), t/d.kw%d.kh, t%d.kw
	plane := s.x[ci*d.h*d.w : (ci+1)*d.h*d.w]
	// The output columns whose tap lands inside the image: [owLo, owHi).
	owLo := 0
	if d.pw > kw {
		owLo = (d.pw - kw + d.sw - 1) / d.sw
	}
	owHi := 0
	if last := d.w - 1 + d.pw - kw; last >= 0 {
		owHi = last/d.sw + 1
	}
	owHi = min(owHi, d.wo)
	for i := 0; i < len(row); {
		oh, ow := (q+i)/d.wo, (q+i)%d.wo
		n := min(len(row)-i, d.wo-ow)
		out := row[i : i+n]
		i += n
		ih := oh*d.sh - d.ph + kh
		if ih < 0 || ih >= d.h {
			clear(out)
			continue
		}
		a, b := max(ow, owLo), min(ow+n, owHi)
		if a >= b {
			clear(out)
			continue
		}
		clear(out[:a-ow])
		clear(out[b-ow:])
		src := plane[ih*d.w+a*d.sw-d.pw+kw : ih*d.w+(b-1)*d.sw-d.pw+kw+1]
		dst := out[a-ow : b-ow]
		switch d.sw {
		case 1:
			copy(dst, src)
		case 2:
			gatherEven(dst, src)
		default:
			for i := range dst {
				dst[i] = src[i*d.sw]
			}
		}
	}
}
