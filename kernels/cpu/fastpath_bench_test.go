package cpu

import (
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"suture/kernels"
	"suture/tensor"
)

// Fast-path benchmarks, each reporting GFLOP/s, on the shapes of
// shared/bench/torch_cpu_bench.py (--sgemm-shapes, --conv-shapes, --conv1x1)
// so the figures compare with PyTorch's side by side.

// withKernelsB runs f under each instruction-set path this CPU has, named
// after the path (ref, avx2, avx512), restoring the path it found.
func withKernelsB(b *testing.B, f func(b *testing.B)) {
	saved := CurrentISA()
	defer SetISA(saved)
	for _, isa := range ISAs() {
		if err := SetISA(isa); err != nil {
			b.Fatal(err)
		}
		b.Run(string(isa), f)
	}
}

// cpuTime is the CPU time this process has used (all threads, user+system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs fn as the benchmark body and reports GFLOP/s of wall time and,
// because the machine is shared, GFLOP per CPU-second this process used:
// when other processes take cores, the second figure drops much less.
func loop(b *testing.B, flopsPerOp float64, fn func()) {
	fn() // warm the pools and caches before timing
	c0 := cpuTime()
	for b.Loop() {
		fn()
	}
	cpu := cpuTime() - c0
	total := flopsPerOp * float64(b.N) / 1e9
	b.ReportMetric(total/b.Elapsed().Seconds(), "GFLOP/s")
	if cpu > 0 {
		b.ReportMetric(total/cpu.Seconds(), "GFLOP/cpu-s")
	}
}

// BenchmarkSgemm: sgemm/{asm,generic}/MxKxN, C = A*B, 2 threads (GOMAXPROCS).
func BenchmarkSgemm(b *testing.B) {
	shapes := [][3]int{{1024, 1024, 1024}, {8192, 288, 32}, {8192, 32, 32}, {2048, 576, 64}, {512, 1152, 128}}
	withKernelsB(b, func(b *testing.B) {
		for _, s := range shapes {
			m, k, n := s[0], s[1], s[2]
			name := fmt.Sprintf("%dx%dx%d", m, k, n)
			if m == k && k == n {
				name = fmt.Sprint(m)
			}
			b.Run(name, func(b *testing.B) {
				g := tensor.NewRNG(1)
				a, bm, c := g.Rand(m, k), g.Rand(k, n), tensor.New(m, n)
				be := New(0)
				loop(b, 2*float64(m)*float64(n)*float64(k), func() {
					be.sgemm(false, false, m, n, k, 1, a.Data, k, bm.Data, n, 0, c.Data, n)
				})
			})
		}
	})
}

// convBench is one conv layer of the benchmark: Ci x Co x H x W at a batch.
type convBench struct{ ci, co, h, w, n, k int }

func (c convBench) fwdFlops() float64 {
	return 2 * float64(c.n*c.co*c.h*c.w) * float64(c.ci*c.k*c.k)
}

// runConvBench times fwd, bwddata, bwdfilter and fwdbwd (all three, as
// PyTorch's fwd+bwd with input and weight gradients) of a stride-1 conv.
func runConvBench(b *testing.B, c convBench) {
	be := New(0)
	g := tensor.NewRNG(2)
	p := kernels.Conv(1, c.k/2)
	x, w, bias := g.Rand(c.n, c.ci, c.h, c.w), g.Rand(c.co, c.ci, c.k, c.k), g.Rand(c.co)
	y, dy := tensor.New(c.n, c.co, c.h, c.w), g.Rand(c.n, c.co, c.h, c.w)
	dx, dw, db := tensor.New(x.Shape...), tensor.New(w.Shape...), tensor.New(c.co)
	f := c.fwdFlops()
	check := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Run("fwd", func(b *testing.B) {
		loop(b, f, func() { check(be.Conv2d(y, x, w, bias, p)) })
	})
	b.Run("bwddata", func(b *testing.B) {
		loop(b, f, func() { check(be.Conv2dBackwardData(dx, dy, w, p)) })
	})
	b.Run("bwdfilter", func(b *testing.B) {
		loop(b, f, func() { check(be.Conv2dBackwardFilter(dw, db, dy, x, p)) })
	})
	b.Run("fwdbwd", func(b *testing.B) {
		loop(b, 3*f, func() {
			check(be.Conv2d(y, x, w, bias, p))
			check(be.Conv2dBackwardData(dx, dy, w, p))
			check(be.Conv2dBackwardFilter(dw, db, dy, x, p))
		})
	})
}

// BenchmarkConv3x3: conv3x3/CinxCoutxHxW/{fwd,bwddata,bwdfilter,fwdbwd}, batch 8.
func BenchmarkConv3x3(b *testing.B) {
	for _, s := range [][4]int{{3, 32, 128, 128}, {32, 32, 128, 128}, {64, 64, 64, 64}, {128, 128, 32, 32}, {256, 256, 16, 16}} {
		c := convBench{ci: s[0], co: s[1], h: s[2], w: s[3], n: 8, k: 3}
		b.Run(fmt.Sprintf("%dx%dx%dx%d", c.ci, c.co, c.h, c.w), func(b *testing.B) { runConvBench(b, c) })
	}
}

// BenchmarkConv1x1: the stitch, conv1x1/CinxCoutxHxW/{...}: the benchmark's
// case at batch 16, then the four scales of the real-data stitch training
// (64 px networks, 4 images per step).
func BenchmarkConv1x1(b *testing.B) {
	for _, c := range []convBench{
		{ci: 32, co: 32, h: 128, w: 128, n: 16, k: 1},
		{ci: 32, co: 32, h: 64, w: 64, n: 4, k: 1},
		{ci: 64, co: 64, h: 32, w: 32, n: 4, k: 1},
		{ci: 128, co: 128, h: 16, w: 16, n: 4, k: 1},
		{ci: 256, co: 256, h: 8, w: 8, n: 4, k: 1},
	} {
		name := fmt.Sprintf("%dx%dx%dx%d", c.ci, c.co, c.h, c.w)
		if c.n != 16 {
			name += fmt.Sprintf("n%d", c.n)
		}
		b.Run(name, func(b *testing.B) { runConvBench(b, c) })
	}
}

// BenchmarkConv1x1Algo: conv1x1algo/CixCoxHxW/{fwd,bwddata}: the packed GEMM
// per sample ("gemm") against the batched strip path ("strips": with the
// AVX-512 12x32 kernel where the CPU has it; "strips16": the 6x16 kernel
// alone), batch 4, on the scales of the real-data stitch training and the
// benchmark's 128x128 case. Each iteration runs all three, one after the
// other, so that they see the same machine (this one is shared and drifts
// by 10-30% within a minute); the metrics are each variant's median GFLOP/s
// and the medians of the per-iteration ratios strips/gemm and
// strips/strips16.
func BenchmarkConv1x1Algo(b *testing.B) {
	defer func(u, z bool) { usePointwise, pointwiseAlways, pointwiseZ = u, false, z }(usePointwise, pointwiseZ)
	pointwiseAlways = true
	for _, s := range [][4]int{{32, 32, 128, 128}, {24, 32, 128, 128}, {32, 32, 64, 64}, {64, 64, 32, 32}, {128, 128, 16, 16}, {256, 256, 8, 8}} {
		c := convBench{ci: s[0], co: s[1], h: s[2], w: s[3], n: 4, k: 1}
		cb := newConvPassBench(c, 0)
		for _, pass := range []string{"fwd", "bwddata"} {
			run := func(strips, wide bool) float64 {
				usePointwise, pointwiseZ = strips, wide
				t0 := time.Now()
				cb.run(b, pass)
				return time.Since(t0).Seconds()
			}
			b.Run(fmt.Sprintf("%dx%dx%dx%d/%s", c.ci, c.co, c.h, c.w, pass), func(b *testing.B) {
				run(false, true)
				run(true, true)
				run(true, false)
				var tg, ts, t16, ratio, ratio16 []float64
				for b.Loop() {
					a, s, s16 := run(false, true), run(true, true), run(true, false)
					tg, ts, t16 = append(tg, a), append(ts, s), append(t16, s16)
					ratio, ratio16 = append(ratio, a/s), append(ratio16, s16/s)
				}
				b.ReportMetric(c.fwdFlops()/median(tg)/1e9, "gemm-GFLOP/s")
				b.ReportMetric(c.fwdFlops()/median(ts)/1e9, "strips-GFLOP/s")
				b.ReportMetric(c.fwdFlops()/median(t16)/1e9, "strips16-GFLOP/s")
				b.ReportMetric(median(ratio), "strips/gemm")
				b.ReportMetric(median(ratio16), "strips/strips16")
			})
		}
	}
}

// convPassBench is one layer's tensors (random inputs) for timing its
// forward or its backward-data alone.
type convPassBench struct {
	be                    *Backend
	p                     kernels.ConvParams
	x, w, bias, y, dy, dx *tensor.Tensor
	dw, db                *tensor.Tensor
}

func newConvPassBench(c convBench, pad int) *convPassBench {
	g := tensor.NewRNG(2)
	x := g.Rand(c.n, c.ci, c.h, c.w)
	return &convPassBench{
		be: New(0), p: kernels.Conv(1, pad),
		x: x, w: g.Rand(c.co, c.ci, c.k, c.k), bias: g.Rand(c.co),
		y: tensor.New(c.n, c.co, c.h, c.w), dy: g.Rand(c.n, c.co, c.h, c.w), dx: tensor.New(x.Shape...),
		dw: tensor.New(c.co, c.ci, c.k, c.k), db: tensor.New(c.co),
	}
}

// run runs pass ("fwd", "bwddata" or "bwdfilter") once.
func (cb *convPassBench) run(b *testing.B, pass string) {
	var err error
	switch pass {
	case "fwd":
		err = cb.be.Conv2d(cb.y, cb.x, cb.w, cb.bias, cb.p)
	case "bwddata":
		err = cb.be.Conv2dBackwardData(cb.dx, cb.dy, cb.w, cb.p)
	default:
		err = cb.be.Conv2dBackwardFilter(cb.dw, cb.db, cb.dy, cb.x, cb.p)
	}
	if err != nil {
		b.Fatal(err)
	}
}

// median of xs (sorted in place).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// BenchmarkMicroKernel times each micro-kernel alone on L1-resident data:
// the ceiling the drivers approach (FP32 peak is about 111 GFLOP/s per core
// here: 2 FMA pipes x 8 lanes x 2 flops x ~3.5 GHz).
func BenchmarkMicroKernel(b *testing.B) {
	g := tensor.NewRNG(3)
	withKernelsB(b, func(b *testing.B) {
		b.Run("gemm6x16", func(b *testing.B) {
			k := gemmKC
			a, bm, c := g.Rand(gemmMR*k).Data, g.Rand(gemmNR*k).Data, make([]float32, gemmMR*gemmNR)
			loop(b, 2*gemmMR*gemmNR*float64(k), func() { microGemm(k, a, bm, c, gemmNR, nil, true) })
		})
		b.Run("conv4x24", func(b *testing.B) {
			// 32 channels x 3x3 taps over padded 34-wide rows, as a 32x32 layer.
			k, g2 := convKC, 34
			a, src := g.Rand(convMR*k).Data, g.Rand(32*g2*g2+64).Data
			offs := make([]int, k)
			for t := range offs {
				offs[t] = (t/9)*g2*g2 + (t%9/3)*g2 + t%3
			}
			c := make([]float32, convMR*convNS*convSeg)
			sg := convSegs{srcOff: [convNS]int{0, 8, 16}, cOff: [convNS]int{0, 8, 16}}
			loop(b, 2*convMR*convNS*convSeg*float64(k), func() {
				microConv(k, a, offs, offs[k-1], src, c, convNS*convSeg, &sg, nil, true)
			})
		})
		b.Run("dot4x3", func(b *testing.B) {
			n := 1024
			dy, x, out := g.Rand(dotMR*n).Data, g.Rand(n+16).Data, make([]float32, dotMR*dotNR)
			o := [dotNR]int{0, 1, 2}
			loop(b, 2*dotMR*dotNR*float64(n), func() { microDot(n, dy, n, x, &o, out, dotMR) })
		})
	})
}

// im2colStride1 writes col (Ci*9, H*W) for a 3x3, stride-1, pad-1 conv of
// one sample x (Ci, H, W), copying whole row runs.
func im2colStride1(col, x []float32, ci, h, w int) {
	p := h * w
	for c := 0; c < ci; c++ {
		for kh := 0; kh < 3; kh++ {
			for kw := 0; kw < 3; kw++ {
				row := col[((c*3+kh)*3+kw)*p:][:p]
				for oh := 0; oh < h; oh++ {
					out := row[oh*w : (oh+1)*w]
					ih := oh - 1 + kh
					if ih < 0 || ih >= h {
						clear(out)
						continue
					}
					src := x[(c*h+ih)*w : (c*h+ih+1)*w]
					switch kw {
					case 0:
						out[0] = 0
						copy(out[1:], src[:w-1])
					case 1:
						copy(out, src)
					default:
						copy(out, src[1:])
						out[w-1] = 0
					}
				}
			}
		}
	}
}

// BenchmarkConv3x3Im2col is the alternative the direct kernels replaced:
// per sample, im2col into a buffer and one packed GEMM y[n] = w x col, on
// the forward pass of the same layers (bias left out). Compare with
// BenchmarkConv3x3/.../fwd.
func BenchmarkConv3x3Im2col(b *testing.B) {
	for _, s := range [][4]int{{3, 32, 128, 128}, {32, 32, 128, 128}, {64, 64, 64, 64}, {128, 128, 32, 32}, {256, 256, 16, 16}} {
		c := convBench{ci: s[0], co: s[1], h: s[2], w: s[3], n: 8, k: 3}
		b.Run(fmt.Sprintf("%dx%dx%dx%d/fwd", c.ci, c.co, c.h, c.w), func(b *testing.B) {
			be := New(0)
			g := tensor.NewRNG(2)
			x, w, y := g.Rand(c.n, c.ci, c.h, c.w), g.Rand(c.co, c.ci, 3, 3), tensor.New(c.n, c.co, c.h, c.w)
			k, p := c.ci*9, c.h*c.w
			col := make([]float32, k*p)
			loop(b, c.fwdFlops(), func() {
				for n := 0; n < c.n; n++ {
					im2colStride1(col, x.Data[n*c.ci*p:(n+1)*c.ci*p], c.ci, c.h, c.w)
					be.sgemm(false, false, c.co, p, k, 1, w.Data, k, col, p, 0, y.Data[n*c.co*p:(n+1)*c.co*p], p)
				}
			})
		})
	}
}

// BenchmarkLeakyReLU: one thread over a U-Net activation (8x32x128x128),
// forward and backward, assembly and generic (the reference's branchy loop);
// reports GB/s of memory traffic.
func BenchmarkLeakyReLU(b *testing.B) {
	n := 8 * 32 * 128 * 128
	g := tensor.NewRNG(20)
	x, y, dy, dx := g.Rand(n).Data, make([]float32, n), g.Rand(n).Data, make([]float32, n)
	withKernelsB(b, func(b *testing.B) {
		b.Run("fwd", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				leakyReLUFast(y, x, 0.01)
			}
			b.ReportMetric(float64(8*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
		b.Run("bwd", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				leakyReLUBackwardFast(dx, dy, x, 0.01)
			}
			b.ReportMetric(float64(16*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	})
}

// BenchmarkConvTranspose: convT/CixCoxHxW/{fwd,bwddata,bwdfilter}, kernel =
// stride = 2, batch 8: the U-Net decoder's upsampling layers (features
// 32..320, then the small net's 16..128).
func BenchmarkConvTranspose(b *testing.B) {
	for _, s := range [][4]int{{320, 256, 8, 8}, {256, 128, 16, 16}, {128, 64, 32, 32}, {64, 32, 64, 64},
		{128, 64, 8, 8}, {64, 32, 16, 16}, {32, 16, 32, 32}} {
		n, ci, co, h, w := 8, s[0], s[1], s[2], s[3]
		be := New(0)
		g := tensor.NewRNG(5)
		x, wt, bias := g.Rand(n, ci, h, w), g.Rand(ci, co, 2, 2), g.Rand(co)
		y, dy, dx := tensor.New(n, co, 2*h, 2*w), g.Rand(n, co, 2*h, 2*w), tensor.New(n, ci, h, w)
		dw, db := tensor.New(ci, co, 2, 2), tensor.New(co)
		flops := 2 * float64(n*ci*co*4*h*w)
		// "-8lane": the 8-lane kernels where the 16-lane ones would run.
		for _, variant := range []string{"", "-8lane"} {
			if variant != "" && !wideT2() {
				continue
			}
			wide := variant == ""
			b.Run(fmt.Sprintf("%dx%dx%dx%d/fwd%s", ci, co, h, w, variant), func(b *testing.B) {
				defer func(z bool) { t2Z = z }(t2Z)
				t2Z = wide
				loop(b, flops, func() {
					if err := be.ConvTranspose2d(y, x, wt, bias); err != nil {
						b.Fatal(err)
					}
				})
			})
			b.Run(fmt.Sprintf("%dx%dx%dx%d/bwddata%s", ci, co, h, w, variant), func(b *testing.B) {
				defer func(z bool) { t2Z = z }(t2Z)
				t2Z = wide
				loop(b, flops, func() {
					if err := be.ConvTranspose2dBackwardData(dx, dy, wt); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
		b.Run(fmt.Sprintf("%dx%dx%dx%d/bwdfilter", ci, co, h, w), func(b *testing.B) {
			loop(b, flops, func() {
				if err := be.ConvTranspose2dBackwardFilter(dw, db, dy, x); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkConvTransposePaths: CixCoxHxW/{fwd,bwddata,bwdfilter}/{z,fused}:
// BenchmarkConvTranspose's layers on the passes of conv_transpose_fast.go
// (z and its scatter/gather) and of conv_transpose_2x2.go (useT2), in
// turn in one process, for comparisons on a busy machine.
func BenchmarkConvTransposePaths(b *testing.B) {
	defer func() { useT2 = true }()
	for _, s := range [][4]int{{320, 256, 8, 8}, {256, 128, 16, 16}, {128, 64, 32, 32}, {64, 32, 64, 64},
		{128, 64, 8, 8}, {64, 32, 16, 16}, {32, 16, 32, 32}} {
		n, ci, co, h, w := 8, s[0], s[1], s[2], s[3]
		be := New(0)
		g := tensor.NewRNG(5)
		x, wt, bias := g.Rand(n, ci, h, w), g.Rand(ci, co, 2, 2), g.Rand(co)
		y, dy, dx := tensor.New(n, co, 2*h, 2*w), g.Rand(n, co, 2*h, 2*w), tensor.New(n, ci, h, w)
		dw, db := tensor.New(ci, co, 2, 2), tensor.New(co)
		flops := 2 * float64(n*ci*co*4*h*w)
		passes := map[string]func() error{
			"fwd":       func() error { return be.ConvTranspose2d(y, x, wt, bias) },
			"bwddata":   func() error { return be.ConvTranspose2dBackwardData(dx, dy, wt) },
			"bwdfilter": func() error { return be.ConvTranspose2dBackwardFilter(dw, db, dy, x) },
		}
		for _, pass := range []string{"fwd", "bwddata", "bwdfilter"} {
			for _, t2 := range []bool{false, true} {
				path := map[bool]string{false: "z", true: "fused"}[t2]
				b.Run(fmt.Sprintf("%dx%dx%dx%d/%s/%s", ci, co, h, w, pass, path), func(b *testing.B) {
					useT2 = t2
					loop(b, flops, func() {
						if err := passes[pass](); err != nil {
							b.Fatal(err)
						}
					})
				})
			}
		}
	}
}

// BenchmarkInstanceNorm: instancenorm/{asm,generic}/{fwd,bwd} on one
// 4x32x128x128 activation (the U-Nets' first stage), GB/s of x read.
func BenchmarkInstanceNorm(b *testing.B) {
	g := tensor.NewRNG(6)
	x, gamma, beta := g.Rand(4, 32, 128, 128), g.Rand(32), g.Rand(32)
	y, m, r := tensor.New(x.Shape...), tensor.New(4, 32), tensor.New(4, 32)
	dy, dx, dg, db := g.Rand(x.Shape...), tensor.New(x.Shape...), tensor.New(32), tensor.New(32)
	be := New(0)
	withKernelsB(b, func(b *testing.B) {
		b.Run("fwd", func(b *testing.B) {
			b.SetBytes(int64(4 * len(x.Data)))
			for b.Loop() {
				if err := be.InstanceNorm(y, m, r, x, gamma, beta, 1e-5); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("bwd", func(b *testing.B) {
			b.SetBytes(int64(4 * len(x.Data)))
			for b.Loop() {
				if err := be.InstanceNormBackward(dx, dg, db, dy, x, m, r, gamma); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkConv3x3s2: conv3x3s2/CixCoxHxW/{fwd,bwddata,bwdfilter}: the
// stride-2 3x3 convs (padding 1) that open the U-Net's stages 1-4
// (features 32..320, 128x128 input; H x W is the input), batch 8; GFLOP/s
// counts 2*9*Ci*Co per output pixel.
func BenchmarkConv3x3s2(b *testing.B) {
	for _, s := range [][4]int{{32, 64, 128, 128}, {64, 128, 64, 64}, {128, 256, 32, 32}, {256, 320, 16, 16}} {
		n, ci, co, h, w := 8, s[0], s[1], s[2], s[3]
		be := New(0)
		g := tensor.NewRNG(8)
		p := kernels.Conv(2, 1)
		x, wt, bias := g.Rand(n, ci, h, w), g.Rand(co, ci, 3, 3), g.Rand(co)
		y, dy, dx := tensor.New(n, co, h/2, w/2), g.Rand(n, co, h/2, w/2), tensor.New(n, ci, h, w)
		dw, db := tensor.New(co, ci, 3, 3), tensor.New(co)
		flops := 2 * 9 * float64(n*ci*co*(h/2)*(w/2))
		name := fmt.Sprintf("%dx%dx%dx%d", ci, co, h, w)
		check := func(err error) {
			if err != nil {
				b.Fatal(err)
			}
		}
		b.Run(name+"/fwd", func(b *testing.B) { loop(b, flops, func() { check(be.Conv2d(y, x, wt, bias, p)) }) })
		b.Run(name+"/bwddata", func(b *testing.B) { loop(b, flops, func() { check(be.Conv2dBackwardData(dx, dy, wt, p)) }) })
		b.Run(name+"/bwdfilter", func(b *testing.B) { loop(b, flops, func() { check(be.Conv2dBackwardFilter(dw, db, dy, x, p)) }) })
	}
}

// BenchmarkConv1x1Filter: conv1x1filter/CixCoxHxWnN: the 1x1 weight
// gradient on the stitch benchmark's scales (A 32..320 against B 24..256,
// 4 images) and the U-Net's 2-class head (8 images).
func BenchmarkConv1x1Filter(b *testing.B) {
	for _, c := range []convBench{
		{ci: 24, co: 32, h: 128, w: 128, n: 4, k: 1},
		{ci: 32, co: 24, h: 128, w: 128, n: 4, k: 1},
		{ci: 48, co: 64, h: 64, w: 64, n: 4, k: 1},
		{ci: 192, co: 256, h: 16, w: 16, n: 4, k: 1},
		{ci: 256, co: 320, h: 8, w: 8, n: 4, k: 1},
		{ci: 32, co: 2, h: 128, w: 128, n: 8, k: 1},
	} {
		cb := newConvPassBench(c, 0)
		variants := []bool{true}
		if c.co%dotMR != 0 {
			variants = append(variants, false) // the GEMM it took before dotPaddedCo
		}
		for _, padded := range variants {
			name := fmt.Sprintf("%dx%dx%dx%dn%d", c.ci, c.co, c.h, c.w, c.n)
			if !padded {
				name += "-gemm"
			}
			b.Run(name, func(b *testing.B) {
				defer func(v bool) { dotPaddedCo = v }(dotPaddedCo)
				dotPaddedCo = padded
				for b.Loop() {
					cb.run(b, "bwdfilter")
				}
				b.ReportMetric(c.fwdFlops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
