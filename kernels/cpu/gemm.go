package cpu

import "sync"

// Packed, cache-blocked SGEMM (the BLIS loop nest). For each NC-wide column
// block of C and each KC-deep slice of the sum, op(B) is packed into panels
// of gemmNR columns (kept in L2/L3); for each MC-tall row block, alpha*op(A)
// is packed into panels of gemmMR rows (kept in L2); the micro-kernel then
// sweeps the gemmMR x gemmNR tiles, one B panel (KC x 16 floats, 16 KiB) in L1
// at a time. Partial tiles go through a small stack tile.
const (
	gemmKC = 256  // 6*256 + 16*256 floats: the A and B panels fit Zen 4's 32 KiB L1d
	gemmMC = 144  // A block MC*KC*4 = 144 KiB of the 1 MiB L2
	gemmNC = 3072 // B block KC*NC*4 = 3 MiB, in L3
)

// gemmMinParallel is the flop count below which one goroutine is faster.
const gemmMinParallel = 1 << 18

// gemmJob is one call's arguments; it is a task cut along N or M.
type gemmJob struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a              []float32 // op(a): (m, k); stored (m, lda) or (k, lda) when transA
	lda            int
	bm             []float32 // op(b): (k, n); stored (k, ldb) or (n, ldb) when transB
	ldb            int
	c              []float32 // (m, ldc)
	bias           []float32 // (m) or nil: added to every column of C
	ldc            int
	ws             *workspace
	bf16           bool      // operands rounded to bfloat16, products summed in float32 (bf16.go)
	splitN         bool      // parts cut the columns (else the rows)
	splitK         bool      // parts cut the sum into partial (below)
	partial        []float32 // splitK: (parts, m, n) partial sums
	// apre, when set, is op(A) already packed (FP32 only): for the slice of
	// the sum at pc, rows [0, apreM) as packA writes them at
	// apre[pc*apreM:]; row i of this job is row apreRow+i there (apreRow
	// a multiple of gemmMR).
	apre           []float32
	apreB          []uint32 // blockBF16's pair panels of op(A), likewise (pc/2*apreM: per slice)
	apreM, apreRow int
	pf             prefetchRuns // when pfOn, asked for some lines after each tile
	pfOn           bool
	im2col         *im2colSrc // when set, B is the block's col, made by packB (conv_im2col.go)
	done           partsDone
}

var gemmJobs = sync.Pool{New: func() any { return new(gemmJob) }}

// sgemm is the fast path's GEMM entry point; same contract as gemmRef.
func (b *Backend) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, bm []float32, ldb int, beta float32, c []float32, ldc int) {
	b.sgemmThreads(b.Threads(), transA, transB, m, n, k, alpha, a, lda, bm, ldb, beta, c, ldc)
}

// sgemmThreads is sgemm on at most threads goroutines (1 inside a part of
// another task, which must not start tasks).
func (b *Backend) sgemmThreads(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, bm []float32, ldb int, beta float32, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	j := gemmJobs.Get().(*gemmJob)
	j.transA, j.transB, j.m, j.n, j.k = transA, transB, m, n, k
	j.alpha, j.beta = alpha, beta
	j.a, j.lda, j.bm, j.ldb, j.c, j.ldc = a, lda, bm, ldb, c, ldc
	b.runGemm(j, threads)
}

// sgemmBias: c (m, n) = a (m, k) x bm (k, n) + bias[i] in row i, the bias
// added as the micro-kernel stores its tile (no second pass over c).
func (b *Backend) sgemmBias(m, n, k int, a []float32, lda int, bm []float32, ldb int, bias, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	j := gemmJobs.Get().(*gemmJob)
	j.transA, j.transB, j.m, j.n, j.k = false, false, m, n, k
	j.alpha, j.beta = 1, 0
	j.a, j.lda, j.bm, j.ldb, j.c, j.ldc = a, lda, bm, ldb, c, ldc
	j.bias = bias
	b.runGemm(j, b.Threads())
}

// runGemm cuts the job over up to threads goroutines, runs it and returns
// it to the pool.
func (b *Backend) runGemm(j *gemmJob, threads int) {
	m, n, k := j.m, j.n, j.k
	j.ws = b.ws
	j.bf16 = b.bf16
	tilesM, tilesN := (m+gemmMR-1)/gemmMR, (n+gemmNR-1)/gemmNR
	parts := threads
	if 2*m*n*k < gemmMinParallel {
		parts = 1
	}
	// Cut the wider side of C: each part packs the other operand itself,
	// which costs little next to its share of the products.
	// With few tiles of C and a long sum (a weight gradient over pixels),
	// cutting the sum balances better: each part sums a range of k into
	// its own buffer, and the buffers are added in part order.
	j.splitK = parts > 1 && max(tilesM, tilesN) < 4*parts && k >= 2*parts*gemmKC && m*n <= 1<<16
	if j.splitK {
		j.partial = j.ws.getFloats(parts * m * n)
	}
	j.splitN = tilesN >= tilesM || tilesM < parts
	if !j.splitK {
		parts = min(parts, max(tilesM, tilesN))
	}
	runParts(j, parts, &j.done)
	if j.splitK {
		j.reducePartials(parts)
		j.ws.putFloats(j.partial)
	}
	j.a, j.bm, j.c, j.ws, j.partial, j.bias = nil, nil, nil, nil, nil, nil
	gemmJobs.Put(j)
}

func (j *gemmJob) runPart(part, parts int) {
	switch {
	case j.splitK:
		lo, hi := partRange(j.k, gemmKC, part, parts)
		j.block(0, j.m, 0, j.n, lo, hi, j.partial[part*j.m*j.n:(part+1)*j.m*j.n], j.n, 0, nil)
	case j.splitN:
		lo, hi := partRange(j.n, gemmNR, part, parts)
		j.block(0, j.m, lo, hi, 0, j.k, j.c, j.ldc, j.beta, j.bias)
	default:
		lo, hi := partRange(j.m, gemmMR, part, parts)
		j.block(lo, hi, 0, j.n, 0, j.k, j.c, j.ldc, j.beta, j.bias)
	}
}

// reducePartials: C = sum of the parts' sums (in part order) + beta*C + bias.
func (j *gemmJob) reducePartials(parts int) {
	mn := j.m * j.n
	for i := 0; i < j.m; i++ {
		row := j.c[i*j.ldc : i*j.ldc+j.n]
		for x := range row {
			v := j.partial[i*j.n+x]
			for p := 1; p < parts; p++ {
				v += j.partial[p*mn+i*j.n+x]
			}
			if j.beta != 0 {
				v += j.beta * row[x]
			}
			if j.bias != nil {
				v += j.bias[i]
			}
			row[x] = v
		}
	}
}

// block computes rows [m0, m1) and columns [n0, n1) of
// c = alpha*op(A)[:, k0:k1]*op(B)[k0:k1, :] + beta*c (+ bias[i] in row i).
func (j *gemmJob) block(m0, m1, n0, n1, k0, k1 int, c []float32, ldc int, beta float32, bias []float32) {
	if m0 >= m1 || n0 >= n1 {
		return
	}
	if beta != 0 && beta != 1 {
		for i := m0; i < m1; i++ {
			row := c[i*ldc+n0 : i*ldc+n1]
			for x := range row {
				row[x] *= beta
			}
		}
	}
	if k0 >= k1 {
		for i := m0; i < m1; i++ {
			row := c[i*ldc+n0 : i*ldc+n1]
			if beta == 0 {
				clear(row)
			}
			if bias != nil {
				for x := range row {
					row[x] += bias[i]
				}
			}
		}
		return
	}
	if j.bf16 {
		j.blockBF16(m0, m1, n0, n1, k0, k1, c, ldc, beta, bias)
		return
	}
	ncMax := min(gemmNC, roundUp(n1-n0, gemmNR))
	kcMax := min(gemmKC, k1-k0)
	bp := j.ws.getFloats(kcMax * ncMax)
	var ap []float32
	if j.apre == nil {
		ap = j.ws.getFloats(kcMax * min(gemmMC, roundUp(m1-m0, gemmMR)))
	}
	var edge [gemmMR * gemmNR]float32
	for jc := n0; jc < n1; jc += gemmNC {
		nc := min(gemmNC, n1-jc)
		for pc := k0; pc < k1; pc += gemmKC {
			kc := min(gemmKC, k1-pc)
			j.packB(bp, pc, kc, jc, nc)
			accumulate := pc > k0 || beta != 0
			tileBias := bias
			if pc > k0 {
				tileBias = nil // added once, with the first slice of the sum
			}
			for ic := m0; ic < m1; ic += gemmMC {
				mc := min(gemmMC, m1-ic)
				ap := ap
				if j.apre != nil {
					ap = j.apre[pc*j.apreM+(j.apreRow+ic)*kc:]
				} else {
					j.packA(ap, ic, mc, pc, kc)
				}
				jr0 := 0
				if useAVX512 && useAsm {
					// 12x32 tiles over pairs of panels; what is left of N
					// (fewer than 32 columns) goes through the 16-wide loop.
					var zBias []float32
					if tileBias != nil {
						zBias = tileBias[ic:]
					}
					var pf *prefetchRuns
					if j.pfOn {
						pf = &j.pf
					}
					jr0 = tilesZ(c[ic*ldc+jc:], ldc, ap, bp, mc, nc, kc, zBias, accumulate, pf)
				}
				for jr := jr0; jr < nc; jr += gemmNR {
					nr := min(gemmNR, nc-jr)
					bPanel := bp[jr*kc : (jr+gemmNR)*kc]
					for ir := 0; ir < mc; ir += gemmMR {
						mr := min(gemmMR, mc-ir)
						aPanel := ap[ir*kc : (ir+gemmMR)*kc]
						off := (ic+ir)*ldc + jc + jr
						var rowBias []float32
						if tileBias != nil {
							rowBias = tileBias[ic+ir : ic+ir+mr]
						}
						if j.pfOn {
							j.pf.next()
						}
						if nr == gemmNR {
							microGemmRows(mr, kc, aPanel, bPanel, c[off:], ldc, rowBias, accumulate)
							continue
						}
						microGemmRows(mr, kc, aPanel, bPanel, edge[:], gemmNR, rowBias, false)
						storeTile(c[off:], ldc, edge[:], gemmNR, mr, nr, accumulate)
					}
				}
			}
		}
	}
	if ap != nil {
		j.ws.putFloats(ap)
	}
	j.ws.putFloats(bp)
}

// tilesZ runs the AVX-512 12x32 kernel over the whole pairs of 16-column
// panels of a packed block (the packed GEMM's, and the 1x1 strips'): c is
// the block's corner (rows ldc apart), ap its mc rows in 6-row panels of
// kc, bp its nc columns in 16-column panels of kc, bias (mc) or nil; pf,
// when not nil, is asked for some lines after each tile. It returns the
// first column it left to the 16-wide loop.
func tilesZ(c []float32, ldc int, ap, bp []float32, mc, nc, kc int, bias []float32, accumulate bool, pf *prefetchRuns) int {
	pairs := nc / (2 * gemmNR) * 2 * gemmNR
	for jr := 0; jr < pairs; jr += 2 * gemmNR {
		b0 := bp[jr*kc : (jr+gemmNR)*kc]
		b1 := bp[(jr+gemmNR)*kc : (jr+2*gemmNR)*kc]
		for ir := 0; ir < mc; ir += 2 * gemmMR {
			mr := min(2*gemmMR, mc-ir)
			a0 := ap[ir*kc : (ir+gemmMR)*kc]
			a1 := a0
			if mr > gemmMR {
				a1 = ap[(ir+gemmMR)*kc : (ir+2*gemmMR)*kc]
			}
			var rowBias []float32
			if bias != nil {
				rowBias = bias[ir : ir+mr]
			}
			microGemmZ(mr, kc, a0, a1, b0, b1, c[ir*ldc+jr:], ldc, rowBias, accumulate)
			if pf != nil {
				pf.next()
			}
		}
	}
	return pairs
}

// storeTile writes the rows x cols corner of a tile computed into a stack
// buffer (tile, rows ldt apart) to c (rows ldc apart), adding to c when
// accumulate: the partial tiles at the edges of C.
func storeTile(c []float32, ldc int, tile []float32, ldt, rows, cols int, accumulate bool) {
	for r := 0; r < rows; r++ {
		row, src := c[r*ldc:][:cols], tile[r*ldt:][:cols]
		if !accumulate {
			copy(row, src)
			continue
		}
		for x := range row {
			row[x] += src[x]
		}
	}
}

func roundUp(n, unit int) int { return (n + unit - 1) / unit * unit }

// packA writes alpha*op(A)[ic:ic+mc, pc:pc+kc] as panels of gemmMR rows:
// ap[(panel*kc + p)*gemmMR + r], rows past mc zero.
func (j *gemmJob) packA(ap []float32, ic, mc, pc, kc int) {
	a, lda, alpha := j.a, j.lda, j.alpha
	for ir := 0; ir < mc; ir += gemmMR {
		mr := min(gemmMR, mc-ir)
		panel := ap[ir*kc : (ir+gemmMR)*kc]
		if mr < gemmMR {
			clear(panel)
		}
		if j.transA {
			// op(A)[i][p] = a[p*lda+i]: each p gives mr contiguous values.
			for p := 0; p < kc; p++ {
				src := a[(pc+p)*lda+ic+ir:][:mr]
				if mr == gemmMR && alpha == 1 {
					*(*[gemmMR]float32)(panel[p*gemmMR:]) = *(*[gemmMR]float32)(src)
					continue
				}
				dst := panel[p*gemmMR:][:mr]
				for r, v := range src {
					dst[r] = alpha * v
				}
			}
			continue
		}
		if mr == gemmMR {
			packA6(panel, a, (ic+ir)*lda+pc, lda, kc, alpha)
			continue
		}
		for r := 0; r < mr; r++ {
			src := a[(ic+ir+r)*lda+pc:][:kc]
			for p, v := range src {
				panel[p*gemmMR+r] = alpha * v
			}
		}
	}
}

// packA6 interleaves six rows of a (starting at a[off], lda apart, kc long)
// into panel[p*6+r]: six sequential reads, one sequential write, and whole
// 6-float groups so that the compiler drops the bounds checks.
func packA6(panel, a []float32, off, lda, kc int, alpha float32) {
	r0, r1, r2 := a[off:][:kc], a[off+lda:][:kc], a[off+2*lda:][:kc]
	r3, r4, r5 := a[off+3*lda:][:kc], a[off+4*lda:][:kc], a[off+5*lda:][:kc]
	panel = panel[:gemmMR*kc]
	if alpha == 1 {
		for p := range r0 {
			d := (*[gemmMR]float32)(panel[p*gemmMR:])
			d[0], d[1], d[2], d[3], d[4], d[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
		}
		return
	}
	for p := range r0 {
		d := (*[gemmMR]float32)(panel[p*gemmMR:])
		d[0], d[1], d[2] = alpha*r0[p], alpha*r1[p], alpha*r2[p]
		d[3], d[4], d[5] = alpha*r3[p], alpha*r4[p], alpha*r5[p]
	}
}

// packB writes op(B)[pc:pc+kc, jc:jc+nc] as panels of gemmNR columns:
// bp[(panel*kc + p)*gemmNR + x], columns past nc zero.
func (j *gemmJob) packB(bp []float32, pc, kc, jc, nc int) {
	if j.im2col != nil {
		j.im2col.pack(bp, pc, kc, jc, nc)
		return
	}
	b, ldb := j.bm, j.ldb
	if !j.transB {
		// Row by row: each row of B is read as one sequential run and its
		// 16-float pieces go to their panels. (Panel by panel would read
		// kc rows at once, ldb floats apart: with ldb a large power of two,
		// as for a 1x1 conv over a 128x128 plane, those rows share one
		// cache set and outnumber the prefetcher's streams.)
		whole := nc / gemmNR * gemmNR
		for p := 0; p < kc; p++ {
			row := b[(pc+p)*ldb+jc:][:nc]
			for jr := 0; jr < whole; jr += gemmNR {
				// Through a local value the compiler copies with four
				// 16-byte moves instead of calling memmove.
				v := *(*[gemmNR]float32)(row[jr:])
				*(*[gemmNR]float32)(bp[jr*kc+p*gemmNR:]) = v
			}
			if whole < nc {
				dst := bp[whole*kc+p*gemmNR:][:gemmNR]
				n := copy(dst, row[whole:])
				clear(dst[n:])
			}
		}
		return
	}
	for jr := 0; jr < nc; jr += gemmNR {
		nr := min(gemmNR, nc-jr)
		panel := bp[jr*kc : (jr+gemmNR)*kc]
		if nr < gemmNR {
			clear(panel)
		}
		// op(B)[p][x] = b[x*ldb+p]: each column x is contiguous in p.
		for x := 0; x < nr; x++ {
			src := b[(jc+jr+x)*ldb+pc:][:kc]
			for p, v := range src {
				panel[p*gemmNR+x] = v
			}
		}
	}
}
