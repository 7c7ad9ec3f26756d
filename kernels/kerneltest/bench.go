package kerneltest

import (
	"fmt"
	"testing"

	"suture/kernels"
	"suture/tensor"
)

// Benchmarks, named op/variant/size. GEMM sizes are MxKxN as in
// ../shared/bench/torch_cpu_bench.py --sgemm-shapes (a single number is a
// cube); conv sizes are CinxCoutxHxW as in its --conv-shapes. GEMM and
// convolutions report GFLOP/s counting 2 flops per multiply-add (fwdbwd
// counts forward, backward-data and backward-filter: 3x the forward);
// memory-bound ops report MB/s of the tensors they touch.

// gemmBenchSizes are the torch script's default --sgemm-shapes (M, K, N).
var gemmBenchSizes = [][3]int{{1024, 1024, 1024}, {8192, 288, 32}, {8192, 32, 32}, {2048, 576, 64}, {512, 1152, 128}}

// convBench is one convolution layer of the benchmark U-Net (DESIGN.md 8).
type convBench struct {
	op                  string // "conv2d" (3x3, padding 1) or "conv1x1" (the stitch)
	ci, co, h, w, batch int
}

// convBenches are the torch script's default --conv-shapes at --conv-batch 8
// (3x3, padding 1) and its --conv1x1 32x32x128x128 at batch 16.
var convBenches = []convBench{
	{"conv2d", 3, 32, 128, 128, 8}, {"conv2d", 32, 32, 128, 128, 8}, {"conv2d", 64, 64, 64, 64, 8},
	{"conv2d", 128, 128, 32, 32, 8}, {"conv2d", 256, 256, 16, 16, 8}, {"conv1x1", 32, 32, 128, 128, 16},
}

// convTBenches are the U-Net decoder's 2x2 up-sampling layers (Ci, Co, H, W of the input), batch 8.
var convTBenches = [][4]int{{64, 32, 64, 64}, {128, 64, 32, 32}, {320, 256, 8, 8}}

// benchData holds a benchmark's backend tensors, filled with seeded random values.
type benchData struct {
	b       *testing.B
	backend kernels.Backend
	rng     *tensor.RNG
	ts      []*tensor.Tensor
}

func newBenchData(b *testing.B, backend kernels.Backend) *benchData {
	return &benchData{b: b, backend: backend, rng: tensor.NewRNG(seedFor("bench", b.Name()))}
}

// rand allocates a backend tensor of uniform values in [-1, 1).
func (d *benchData) rand(shape ...int) *tensor.Tensor {
	return d.fill(d.rng.Rand(shape...).Data, shape...)
}

func (d *benchData) fill(v []float32, shape ...int) *tensor.Tensor {
	d.b.Helper()
	t, err := d.backend.Alloc(shape...)
	if err != nil {
		d.b.Fatal(err)
	}
	if err := d.backend.Upload(t, v); err != nil {
		d.b.Fatal(err)
	}
	d.ts = append(d.ts, t)
	return t
}

func (d *benchData) free() {
	for _, t := range d.ts {
		d.backend.Free(t)
	}
}

// sync downloads one element of t, so that an asynchronous device backend is
// timed until its work is done.
func (d *benchData) sync(t *tensor.Tensor) {
	one, err := t.View(0, 1)
	if err == nil {
		err = d.backend.Download(make([]float32, 1), one)
	}
	if err != nil {
		d.b.Fatal(err)
	}
}

// run times op, which must return nil, with sync on out after each call.
func (d *benchData) run(out *tensor.Tensor, op func() error) {
	d.b.Helper()
	for d.b.Loop() {
		if err := op(); err != nil {
			d.b.Fatal(err)
		}
		d.sync(out)
	}
}

func reportGFLOPS(b *testing.B, flopsPerOp float64) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(flopsPerOp*float64(b.N)/s/1e9, "GFLOP/s")
	}
}

// RunAllBenchmarks runs every benchmark against backend as sub-benchmarks.
func RunAllBenchmarks(b *testing.B, backend kernels.Backend) {
	for _, s := range gemmBenchSizes {
		benchGemm(b, backend, "nn", s)
	}
	for _, tr := range []string{"nt", "tn", "tt"} {
		benchGemm(b, backend, tr, gemmBenchSizes[0])
	}
	for _, c := range convBenches {
		benchConv(b, backend, c)
	}
	for _, c := range convTBenches {
		benchConvTranspose(b, backend, c)
	}
	benchMemoryBound(b, backend)
}

func benchGemm(b *testing.B, backend kernels.Backend, trans string, s [3]int) {
	m, k, n := s[0], s[1], s[2]
	size := fmt.Sprintf("%dx%dx%d", m, k, n)
	if m == k && k == n {
		size = fmt.Sprint(m)
	}
	ta, tb := trans[0] == 't', trans[1] == 't'
	b.Run("gemm/"+trans+"/"+size, func(b *testing.B) {
		d := newBenchData(b, backend)
		defer d.free()
		aShape, bShape := []int{m, k}, []int{k, n}
		if ta {
			aShape = []int{k, m}
		}
		if tb {
			bShape = []int{n, k}
		}
		a, bm, c := d.rand(aShape...), d.rand(bShape...), d.rand(m, n)
		d.run(c, func() error { return backend.Gemm(c, a, bm, ta, tb, 1, 0) })
		reportGFLOPS(b, 2*float64(m)*float64(n)*float64(k))
	})
}

func benchConv(b *testing.B, backend kernels.Backend, c convBench) {
	k := 3
	if c.op == "conv1x1" {
		k = 1
	}
	p := kernels.Conv(1, k/2)
	size := fmt.Sprintf("%dx%dx%dx%d", c.ci, c.co, c.h, c.w)
	flops := 2 * float64(c.batch) * float64(c.co) * float64(c.h*c.w) * float64(c.ci*k*k)
	setup := func(b *testing.B) (d *benchData, x, w, bias, y, dx, dw, db *tensor.Tensor) {
		d = newBenchData(b, backend)
		x, w, bias = d.rand(c.batch, c.ci, c.h, c.w), d.rand(c.co, c.ci, k, k), d.rand(c.co)
		y, dx, dw, db = d.rand(c.batch, c.co, c.h, c.w), d.rand(c.batch, c.ci, c.h, c.w), d.rand(c.co, c.ci, k, k), d.rand(c.co)
		return
	}
	b.Run(c.op+"/fwd/"+size, func(b *testing.B) {
		d, x, w, bias, y, _, _, _ := setup(b)
		defer d.free()
		d.run(y, func() error { return backend.Conv2d(y, x, w, bias, p) })
		reportGFLOPS(b, flops)
	})
	b.Run(c.op+"/bwd-data/"+size, func(b *testing.B) {
		d, _, w, _, dy, dx, _, _ := setup(b)
		defer d.free()
		d.run(dx, func() error { return backend.Conv2dBackwardData(dx, dy, w, p) })
		reportGFLOPS(b, flops)
	})
	b.Run(c.op+"/bwd-filter/"+size, func(b *testing.B) {
		d, x, _, _, dy, _, dw, db := setup(b)
		defer d.free()
		d.run(dw, func() error { return backend.Conv2dBackwardFilter(dw, db, dy, x, p) })
		reportGFLOPS(b, flops)
	})
	b.Run(c.op+"/fwdbwd/"+size, func(b *testing.B) {
		d, x, w, bias, y, dx, dw, db := setup(b)
		defer d.free()
		dy := d.rand(y.Shape...)
		d.run(dw, func() error {
			if err := backend.Conv2d(y, x, w, bias, p); err != nil {
				return err
			}
			if err := backend.Conv2dBackwardData(dx, dy, w, p); err != nil {
				return err
			}
			return backend.Conv2dBackwardFilter(dw, db, dy, x, p)
		})
		reportGFLOPS(b, 3*flops)
	})
}

func benchConvTranspose(b *testing.B, backend kernels.Backend, c [4]int) {
	const batch, k = 8, 2
	ci, co, h, w := c[0], c[1], c[2], c[3]
	size := fmt.Sprintf("%dx%dx%dx%d", ci, co, h, w)
	flops := 2 * float64(batch) * float64(ci*co) * float64(h*w) * k * k
	setup := func(b *testing.B) (d *benchData, x, wt, bias, y, dx, dw, db *tensor.Tensor) {
		d = newBenchData(b, backend)
		x, wt, bias = d.rand(batch, ci, h, w), d.rand(ci, co, k, k), d.rand(co)
		y, dx, dw, db = d.rand(batch, co, h*k, w*k), d.rand(batch, ci, h, w), d.rand(ci, co, k, k), d.rand(co)
		return
	}
	b.Run("conv-transpose2d/fwd/"+size, func(b *testing.B) {
		d, x, wt, bias, y, _, _, _ := setup(b)
		defer d.free()
		d.run(y, func() error { return backend.ConvTranspose2d(y, x, wt, bias) })
		reportGFLOPS(b, flops)
	})
	b.Run("conv-transpose2d/fwdbwd/"+size, func(b *testing.B) {
		d, x, wt, bias, y, dx, dw, db := setup(b)
		defer d.free()
		dy := d.rand(y.Shape...)
		d.run(dw, func() error {
			if err := backend.ConvTranspose2d(y, x, wt, bias); err != nil {
				return err
			}
			if err := backend.ConvTranspose2dBackwardData(dx, dy, wt); err != nil {
				return err
			}
			return backend.ConvTranspose2dBackwardFilter(dw, db, dy, x)
		})
		reportGFLOPS(b, 3*flops)
	})
}

// benchMemoryBound times the element-wise, normalisation, loss and optimizer
// ops at the U-Net's first-stage activation size (8x32x128x128) or over a
// flat 4M-parameter buffer.
func benchMemoryBound(b *testing.B, backend kernels.Backend) {
	const n, c, h, w = 8, 32, 128, 128
	act := []int{n, c, h, w}
	actBytes := int64(n*c*h*w) * 4
	b.Run("instance-norm/fwd/8x32x128x128", func(b *testing.B) {
		d := newBenchData(b, backend)
		defer d.free()
		x, y, m, r, g, bt := d.rand(act...), d.rand(act...), d.rand(n, c), d.rand(n, c), d.rand(c), d.rand(c)
		b.SetBytes(2 * actBytes)
		d.run(y, func() error { return backend.InstanceNorm(y, m, r, x, g, bt, 1e-5) })
	})
	b.Run("instance-norm/bwd/8x32x128x128", func(b *testing.B) {
		d := newBenchData(b, backend)
		defer d.free()
		x, dy, dx, m, r := d.rand(act...), d.rand(act...), d.rand(act...), d.rand(n, c), d.rand(n, c)
		g, dg, db := d.rand(c), d.rand(c), d.rand(c)
		b.SetBytes(4 * actBytes)
		d.run(dx, func() error { return backend.InstanceNormBackward(dx, dg, db, dy, x, m, r, g) })
	})
	b.Run("leaky-relu/fwd/8x32x128x128", func(b *testing.B) {
		d := newBenchData(b, backend)
		defer d.free()
		x := d.rand(act...)
		b.SetBytes(2 * actBytes)
		d.run(x, func() error { return backend.LeakyReLU(x, x, 0.01) })
	})
	b.Run("leaky-relu/bwd/8x32x128x128", func(b *testing.B) {
		d := newBenchData(b, backend)
		defer d.free()
		y, dy, dx := d.rand(act...), d.rand(act...), d.rand(act...)
		b.SetBytes(4 * actBytes)
		d.run(dx, func() error { return backend.LeakyReLUBackward(dx, dy, y, 0.01) })
	})
	b.Run("concat/fwd/8x32+32x128x128", func(b *testing.B) {
		d := newBenchData(b, backend)
		defer d.free()
		x1, x2, y := d.rand(act...), d.rand(act...), d.rand(n, 2*c, h, w)
		b.SetBytes(4 * actBytes)
		d.run(y, func() error { return backend.Concat(y, []*tensor.Tensor{x1, x2}) })
	})
	b.Run("concat/bwd/8x32+32x128x128", func(b *testing.B) {
		d := newBenchData(b, backend)
		defer d.free()
		dx1, dx2, dy := d.rand(act...), d.rand(act...), d.rand(n, 2*c, h, w)
		b.SetBytes(6 * actBytes)
		d.run(dx2, func() error { return backend.ConcatBackward([]*tensor.Tensor{dx1, dx2}, dy) })
	})
	const k = 2
	scores := []int{n, k, h, w}
	scoreBytes := int64(n*k*h*w) * 4
	classes := func(d *benchData) *tensor.Tensor {
		v := make([]float32, n*h*w)
		for i := range v {
			v[i] = float32(d.rng.IntN(k))
		}
		return d.fill(v, n, 1, h, w)
	}
	b.Run("softmax-cross-entropy/fwdbwd/8x2x128x128", func(b *testing.B) {
		d := newBenchData(b, backend)
		defer d.free()
		x, p, dx, t := d.rand(scores...), d.rand(scores...), d.rand(scores...), classes(d)
		b.SetBytes(5 * scoreBytes)
		d.run(dx, func() error {
			if _, err := backend.SoftmaxCrossEntropy(p, x, t); err != nil {
				return err
			}
			return backend.SoftmaxCrossEntropyBackward(dx, p, t, 1)
		})
	})
	b.Run("dice-sums/fwdbwd/8x2x128x128", func(b *testing.B) {
		d := newBenchData(b, backend)
		defer d.free()
		p, dp, t := d.rand(scores...), d.rand(scores...), classes(d)
		tp, ps, ts, dtp, dps := d.rand(k), d.rand(k), d.rand(k), d.rand(k), d.rand(k)
		b.SetBytes(3 * scoreBytes)
		d.run(dp, func() error {
			if err := backend.DiceSums(tp, ps, ts, p, t); err != nil {
				return err
			}
			return backend.DiceSumsBackward(dp, t, dtp, dps)
		})
	})
	const params = 1 << 22
	b.Run("sgd-nesterov/step/4194304", func(b *testing.B) {
		d := newBenchData(b, backend)
		defer d.free()
		w, v, g := d.rand(params), d.rand(params), d.rand(params)
		b.SetBytes(5 * 4 * params)
		d.run(w, func() error { return backend.SGDNesterov(w, v, g, 1e-4, 0.99, 3e-5) })
	})
	b.Run("adamw/step/4194304", func(b *testing.B) {
		d := newBenchData(b, backend)
		defer d.free()
		w, m, g := d.rand(params), d.rand(params), d.rand(params)
		v := d.fill(make([]float32, params), params)
		b.SetBytes(7 * 4 * params)
		d.run(w, func() error { return backend.AdamW(w, m, v, g, 1e-7, 0.9, 0.999, 1e-8, 0.01, 1) })
	})
	b.Run("sum-squares/4194304", func(b *testing.B) {
		d := newBenchData(b, backend)
		defer d.free()
		x := d.rand(params)
		b.SetBytes(4 * params)
		d.run(x, func() error { _, err := backend.SumSquares(x); return err })
	})
}
