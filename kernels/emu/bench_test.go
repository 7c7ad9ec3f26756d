//go:build cudaemu

package emu

import (
	"testing"

	"suture/kernels/cuda/launch"
)

// BenchmarkBarrier measures one __syncthreads of a 256-thread block: every
// thread's fiber switches out to the scheduler and back once, so ns/switch
// is the cost of one fiber switch pair.
func BenchmarkBarrier(b *testing.B) {
	d := NewDriver(Options{})
	const threads, iters = 256, 1000
	p, err := d.Alloc(4 * threads)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Free(p)
	var a launch.Args
	a.Ptr(p).Int(iters)
	for b.Loop() {
		if err := d.Launch("selftest_barriers", dim(1, 1, 1), dim(threads, 1, 1), &a); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*threads*iters), "ns/switch")
}
