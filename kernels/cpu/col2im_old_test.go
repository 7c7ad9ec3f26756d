package cpu

import (
	"fmt"
	"sync"
	"testing"

	"suture/kernels"
	"suture/tensor"
)

// The stride-2 backward-data before blocking (one GEMM per sample into the
// whole col, then a scalar col2im), kept to compare against in one process.

// conv2dBackwardDataGemmOld is backward-data for strides above 1:
// col (Ci*KH*KW, Ho*Wo) = w^T x dy[n] with the packed GEMM, then dx[n] += col2im(col).
func (b *Backend) conv2dBackwardDataGemmOld(dx, dy, w []float32, d convDims) {
	k, p := d.ci*d.kh*d.kw, d.ho*d.wo
	col := b.ws.getFloats(k * p)
	j := oldCol2imJobs.Get().(*oldCol2imJob)
	j.d, j.col = d, col
	for n := 0; n < d.n; n++ {
		b.sgemm(true, false, k, p, d.co, 1, w, k, dy[n*d.co*p:(n+1)*d.co*p], p, 0, col, p)
		j.dx = dx[n*d.ci*d.h*d.w : (n+1)*d.ci*d.h*d.w]
		runParts(j, min(b.threads, d.ci), &j.done)
	}
	j.col, j.dx = nil, nil
	oldCol2imJobs.Put(j)
	b.ws.putFloats(col)
}

// oldCol2imJob accumulates col (Ci*KH*KW, Ho*Wo) into dx (Ci, H, W), parts cutting Ci.
type oldCol2imJob struct {
	d       convDims
	col, dx []float32
	done    partsDone
}

var oldCol2imJobs = sync.Pool{New: func() any { return new(oldCol2imJob) }}

func (j *oldCol2imJob) runPart(part, parts int) {
	d := j.d
	c0, c1 := partRange(d.ci, 1, part, parts)
	p := d.ho * d.wo
	for ci := c0; ci < c1; ci++ {
		for kh := 0; kh < d.kh; kh++ {
			for kw := 0; kw < d.kw; kw++ {
				row := j.col[((ci*d.kh+kh)*d.kw+kw)*p:][:p]
				for oh := 0; oh < d.ho; oh++ {
					ih := oh*d.sh - d.ph + kh
					if ih < 0 || ih >= d.h {
						continue
					}
					dst := j.dx[(ci*d.h+ih)*d.w : (ci*d.h+ih+1)*d.w]
					for ow, v := range row[oh*d.wo : (oh+1)*d.wo] {
						iw := ow*d.sw - d.pw + kw
						if iw >= 0 && iw < d.w {
							dst[iw] += v
						}
					}
				}
			}
		}
	}
}

// BenchmarkConv3x3s2BackwardDataOldNew: old and new backward-data of the
// U-Net's stride-2 3x3 convs, alternating in one process (GOMAXPROCS threads).
func BenchmarkConv3x3s2BackwardDataOldNew(b *testing.B) {
	sizes := [][4]int{{16, 32, 64, 64}, {32, 64, 32, 32}, {64, 128, 16, 16},
		{32, 64, 128, 128}, {64, 128, 64, 64}, {128, 256, 32, 32}, {256, 320, 16, 16}}
	for _, s := range sizes {
		n, ci, co, h, w := 8, s[0], s[1], s[2], s[3]
		be := New(0)
		g := tensor.NewRNG(8)
		wt := g.Rand(co, ci, 3, 3)
		dy, dx := g.Rand(n, co, h/2, w/2), tensor.New(n, ci, h, w)
		d := makeConvDims(dx.Shape, wt.Shape, kernels.Conv(2, 1))
		flops := 2 * 9 * float64(n*ci*co*(h/2)*(w/2))
		name := fmt.Sprintf("%dx%dx%dx%d", ci, co, h, w)
		for _, bf16 := range []bool{false, true} {
			if bf16 && !HasBF16() {
				continue
			}
			if err := be.SetBF16(bf16); err != nil {
				b.Fatal(err)
			}
			tag := name
			if bf16 {
				tag += "/bf16"
			}
			b.Run(tag+"/old", func(b *testing.B) {
				loop(b, flops, func() { be.conv2dBackwardDataGemmOld(dx.Data, dy.Data, wt.Data, d) })
			})
			b.Run(tag+"/new", func(b *testing.B) {
				loop(b, flops, func() { be.conv2dBackwardDataGemm(dx.Data, dy.Data, wt.Data, d) })
			})
			b.Run(tag+"/newnopf", func(b *testing.B) {
				col2imPrefetch = false
				defer func() { col2imPrefetch = true }()
				loop(b, flops, func() { be.conv2dBackwardDataGemm(dx.Data, dy.Data, wt.Data, d) })
			})
		}
	}
}
