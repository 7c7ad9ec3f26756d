package cpu

import "sync"

// pointwiseJob is a 1x1 conv's forward or backward-data over the whole batch
// in one parallel region:
//
//	out[s] (m, p) (+)= a (m, k) x in[s] (k, p) (+ bias[i] in row i)
//
// with a = w (Co, Ci) for the forward and w^T for backward-data. The work is
// cut into groups of strips of gemmNR pixels of one sample (the units the
// parts share out); for each group, the part copies in[s][:, group] (k rows,
// p floats apart) into small panels that stay in L1 while every gemmMR-row
// panel of a (packed once per call) sweeps over them. The packed GEMM
// instead copies whole blocks of in first, which on these short sums
// (k = 24-256) costs as much as the products: the copied block has left L1
// by the time the products read it.
type pointwiseJob struct {
	out, in    []float32 // out (n, m, p), in (n, k, p)
	ap         []float32 // a in panels: ap[(panel*k + t)*gemmMR + r]
	bias       []float32 // (m) or nil
	n, m, k, p int
	accumulate bool
	ws         *workspace
	done       partsDone
}

var pointwiseJobs = sync.Pool{New: func() any { return new(pointwiseJob) }}

// usePointwise switches the path on (benchmarks compare it with the GEMM);
// pointwiseAlways takes it for planes of any size (benchmarks).
var usePointwise, pointwiseAlways = true, false

// pointwiseMaxPlane is the largest H*W the strips take: on larger planes the
// GEMM's row-by-row packing, which reads each plane row as one long run,
// is faster (BenchmarkConv1x1Algo: strips/gemm 0.91-0.94 on 128x128 planes,
// 1.0-1.03 on 64x64, 1.1-1.8 on 32x32 and smaller). With the 12x32 kernel
// (widePointwise) the strips win up to 128x128 (Zen 5: strips/gemm
// 1.15-1.27 on 128x128 planes, 1.4-2.0 on 64x64): pointwiseMaxPlaneZ.
const (
	pointwiseMaxPlane  = 64 * 64
	pointwiseMaxPlaneZ = 128 * 128
)

// pointwiseFits: the strip panels and a's panels are sized for sums up to
// one GEMM slice; longer sums and large planes go through the GEMM.
func pointwiseFits(k, p int) bool {
	maxPlane := pointwiseMaxPlane
	if widePointwise() {
		maxPlane = pointwiseMaxPlaneZ
	}
	return usePointwise && k <= gemmKC && (pointwiseAlways || p <= maxPlane)
}

// pointwise runs the job on the backend's threads; transA picks w^T.
func (b *Backend) pointwise(out, in, w, bias []float32, n, m, k, p int, transA, accumulate bool) {
	ws := b.ws
	ap := ws.getFloats(roundUp(m, gemmMR) * k)
	packed := gemmJob{transA: transA, alpha: 1, a: w, lda: k}
	if transA {
		packed.lda = m
	}
	packed.packA(ap, 0, m, 0, k)
	j := pointwiseJobs.Get().(*pointwiseJob)
	j.out, j.in, j.ap, j.bias = out, in, ap, bias
	j.n, j.m, j.k, j.p, j.accumulate, j.ws = n, m, k, p, accumulate, ws
	units := n * pointwiseGroups(k, p)
	runParts(j, min(b.threads, units, max(1, 2*n*m*k*p/gemmMinParallel)), &j.done)
	j.out, j.in, j.ap, j.bias, j.ws = nil, nil, nil, nil, nil
	pointwiseJobs.Put(j)
	ws.putFloats(ap)
}

// pointwiseZ runs the whole pairs of strips through the AVX-512 12x32
// kernel where the CPU has it (off: the 6x16 kernel alone, kept for the
// old/new benchmark). The kernels sum each output in the same order, so the
// bits do not change (TestPointwiseWide).
var pointwiseZ = true

// pointwiseGroup is how many strips a part copies at once: G*16 floats of
// each of the k rows, read as one run (rows p floats apart are far apart:
// one 64-byte line per row would leave each read waiting on memory), into
// G panels of at most 16 KiB together, which stay in L1 while they are used.
//
// With the 12x32 kernel a group has at least two strips (a pair), 32 KiB
// of panels at k = 256: on Zen 5 (48 KiB L1) 256x256 channels on 8x8
// planes ran 1.3-1.5x faster than one strip at a time through the 6x16
// kernel (BenchmarkConv1x1Algo, bench/RESULTS.md section 10).
func pointwiseGroup(k int) int {
	g := max(1, min(8, 256/k))
	if g == 1 && widePointwise() {
		g = 2
	}
	return g
}

// widePointwise reports whether the strips run the 12x32 kernel.
func widePointwise() bool { return pointwiseZ && useAVX512 && useAsm }

// pointwiseGroups is the number of groups per sample.
func pointwiseGroups(k, p int) int {
	w := pointwiseGroup(k) * gemmNR
	return (p + w - 1) / w
}

func (j *pointwiseJob) runPart(part, parts int) {
	m, k, p := j.m, j.k, j.p
	g, perSample := pointwiseGroup(k), pointwiseGroups(k, p)
	lo, hi := partRange(j.n*perSample, 1, part, parts)
	bp := j.ws.getFloats(g * k * gemmNR)
	var edge [gemmMR * gemmNR]float32
	for u := lo; u < hi; u++ {
		s, c0 := u/perSample, u%perSample*g*gemmNR
		nc := min(g*gemmNR, p-c0)
		in := j.in[s*k*p : (s+1)*k*p]
		out := j.out[s*m*p : (s+1)*m*p]
		// bp[(panel*k + t)*gemmNR + x] = in[t, c0+panel*gemmNR+x], columns
		// past nc zero.
		whole := nc / gemmNR * gemmNR
		for t := 0; t < k; t++ {
			row := in[t*p+c0 : t*p+c0+nc]
			for jr := 0; jr < whole; jr += gemmNR {
				v := *(*[gemmNR]float32)(row[jr:]) // four 16-byte moves, not memmove
				*(*[gemmNR]float32)(bp[jr*k+t*gemmNR:]) = v
			}
			if whole < nc {
				dst := bp[whole*k+t*gemmNR : whole*k+(t+1)*gemmNR]
				clear(dst[copy(dst, row[whole:]):])
			}
		}
		jr0 := 0
		if widePointwise() {
			jr0 = tilesZ(out[c0:], p, j.ap, bp, m, nc, k, j.bias, j.accumulate, nil)
		}
		for jr := jr0; jr < nc; jr += gemmNR {
			nr := min(gemmNR, nc-jr)
			bPanel := bp[jr*k : (jr+gemmNR)*k]
			for ir := 0; ir < m; ir += gemmMR {
				mr := min(gemmMR, m-ir)
				aPanel := j.ap[ir*k : (ir+gemmMR)*k]
				var rowBias []float32
				if j.bias != nil {
					rowBias = j.bias[ir : ir+mr]
				}
				off := ir*p + c0 + jr
				if nr == gemmNR {
					microGemmRows(mr, k, aPanel, bPanel, out[off:], p, rowBias, j.accumulate)
					continue
				}
				microGemmRows(mr, k, aPanel, bPanel, edge[:], gemmNR, rowBias, false)
				storeTile(out[off:], p, edge[:], gemmNR, mr, nr, j.accumulate)
			}
		}
	}
	j.ws.putFloats(bp)
}
