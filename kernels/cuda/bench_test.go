//go:build cuda

package cuda

import (
	"fmt"
	"testing"

	"suture/kernels"
	"suture/kernels/cuda/launch"
	"suture/kernels/kerneltest"
	"suture/tensor"
)

// BenchmarkConformance runs the benchmarks every backend runs (same names as
// the CPU backends'; wall-clock per op, synchronised by a download).
func BenchmarkConformance(b *testing.B) {
	backend := newOrSkip(b, launch.Options{})
	defer backend.Close()
	kerneltest.RunAllBenchmarks(b, backend)
}

// deviceCase is one op timed on the device alone: the same shapes and method
// as `torch_gpu_bench.py --cases ops`, whose names are these prefixed ops/,
// so the two can be compared line by line.
type deviceCase struct {
	name  string
	flops float64 // per call; 0 for memory-bound ops
	bytes float64 // per call, for memory-bound ops
	setup func(d *benchData) func() error
}

type benchData struct {
	b       testing.TB
	backend *launch.Backend
	rng     *tensor.RNG
	ts      []*tensor.Tensor
}

func (d *benchData) rand(shape ...int) *tensor.Tensor {
	t, err := d.backend.Alloc(shape...)
	if err != nil {
		d.b.Fatal(err)
	}
	if err := d.backend.Upload(t, d.rng.Rand(shape...).Data); err != nil {
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

func deviceCases() []deviceCase {
	var cs []deviceCase
	for _, n := range []int{1024, 4096} {
		n := n
		cs = append(cs, deviceCase{name: fmt.Sprintf("gemm/NN/%d", n), flops: 2 * float64(n) * float64(n) * float64(n),
			setup: func(d *benchData) func() error {
				c, a, bm := d.rand(n, n), d.rand(n, n), d.rand(n, n)
				return func() error { return d.backend.Gemm(c, a, bm, false, false, 1, 0) }
			}})
	}
	type conv struct{ ci, co, h, w, n, k int }
	for _, c := range []conv{{3, 32, 128, 128, 8, 3}, {32, 32, 128, 128, 8, 3}, {64, 64, 64, 64, 8, 3},
		{128, 128, 32, 32, 8, 3}, {256, 256, 16, 16, 8, 3}, {32, 32, 128, 128, 16, 1}} {
		c := c
		op, pad := "conv2d", 1
		if c.k == 1 {
			op, pad = "conv1x1", 0
		}
		size := fmt.Sprintf("%dx%dx%dx%d", c.ci, c.co, c.h, c.w)
		flops := 2 * float64(c.n*c.co*c.h*c.w) * float64(c.ci*c.k*c.k)
		p := kernels.Conv(1, pad)
		mk := func(d *benchData) (x, w, y *tensor.Tensor) {
			return d.rand(c.n, c.ci, c.h, c.w), d.rand(c.co, c.ci, c.k, c.k), d.rand(c.n, c.co, c.h, c.w)
		}
		cs = append(cs,
			deviceCase{name: op + "/fwd/" + size, flops: flops, setup: func(d *benchData) func() error {
				x, w, y := mk(d)
				return func() error { return d.backend.Conv2d(y, x, w, nil, p) }
			}},
			deviceCase{name: op + "/bwd-data/" + size, flops: flops, setup: func(d *benchData) func() error {
				x, w, y := mk(d)
				return func() error { return d.backend.Conv2dBackwardData(x, y, w, p) }
			}},
			deviceCase{name: op + "/bwd-filter/" + size, flops: flops, setup: func(d *benchData) func() error {
				x, w, y := mk(d)
				return func() error { return d.backend.Conv2dBackwardFilter(w, nil, y, x, p) }
			}},
		)
	}
	for _, c := range [][4]int{{64, 32, 64, 64}, {128, 64, 32, 32}, {320, 256, 8, 8}} {
		c := c
		size := fmt.Sprintf("%dx%dx%dx%d", c[0], c[1], c[2], c[3])
		cs = append(cs, deviceCase{name: "conv-transpose2d/fwd/" + size, flops: 2 * float64(8*c[1]*c[2]*c[3]*4*c[0]),
			setup: func(d *benchData) func() error {
				x, w, y := d.rand(8, c[0], c[2], c[3]), d.rand(c[0], c[1], 2, 2), d.rand(8, c[1], 2*c[2], 2*c[3])
				return func() error { return d.backend.ConvTranspose2d(y, x, w, nil) }
			}})
	}
	const in = 8 * 32 * 128 * 128
	cs = append(cs,
		deviceCase{name: "instance-norm/fwd/8x32x128x128", bytes: 4 * 3 * in, setup: func(d *benchData) func() error {
			x, y, m, r, g, bt := d.rand(8, 32, 128, 128), d.rand(8, 32, 128, 128), d.rand(8, 32), d.rand(8, 32), d.rand(32), d.rand(32)
			return func() error { return d.backend.InstanceNorm(y, m, r, x, g, bt, 1e-5) }
		}},
		deviceCase{name: "leaky-relu/fwd/8x32x128x128", bytes: 4 * 2 * in, setup: func(d *benchData) func() error {
			x, y := d.rand(8, 32, 128, 128), d.rand(8, 32, 128, 128)
			return func() error { return d.backend.LeakyReLU(y, x, 0.01) }
		}},
	)
	return cs
}

// BenchmarkDeviceTime times each case with CUDA events: 5 warm-up calls,
// then the median of 20 calls, the L2 cache flushed before each. Reported:
// gpu-ms (median), GFLOP/s or GB/s. ns/op is the wall-clock time of the
// benchmark loop, launch overhead included.
func BenchmarkDeviceTime(b *testing.B) {
	backend := newOrSkip(b, launch.Options{})
	defer backend.Close()
	for _, c := range deviceCases() {
		b.Run(c.name, func(b *testing.B) {
			d := &benchData{b: b, backend: backend, rng: tensor.NewRNG(7)}
			defer d.free()
			fn := c.setup(d)
			tm, err := backend.Time(fn, 5, 20)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := fn(); err != nil {
					b.Fatal(err)
				}
			}
			if err := backend.Synchronize(); err != nil {
				b.Fatal(err)
			}
			ms := tm.Median.Seconds() * 1e3
			b.ReportMetric(ms, "gpu-ms")
			if c.flops > 0 {
				b.ReportMetric(c.flops/tm.Median.Seconds()/1e9, "GFLOP/s")
			} else {
				b.ReportMetric(c.bytes/tm.Median.Seconds()/1e9, "GB/s")
			}
		})
	}
}
