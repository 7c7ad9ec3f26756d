package profile

import (
	"testing"

	"suture/kernels"
	"suture/kernels/cpu"
	"suture/tensor"
)

// BenchmarkOpCost: one small op (an add of 64 floats on one thread) called
// directly on the backend, through a profiler outside its recorded steps
// (off), and through one recording the op into the table (table) and the
// table and the trace (trace). The differences are the profiler's cost per
// op; RESULTS section 6 multiplies them by a step's op count.
func BenchmarkOpCost(b *testing.B) {
	g := tensor.NewRNG(5)
	inner := cpu.New(1)
	alloc := func() *tensor.Tensor {
		t, err := inner.Alloc(64)
		if err != nil {
			b.Fatal(err)
		}
		if err := inner.Upload(t, g.Rand(64).Data); err != nil {
			b.Fatal(err)
		}
		return t
	}
	x, y := alloc(), alloc()
	run := func(b *testing.B, be kernels.Backend, p *Profiler) {
		if p != nil {
			p.BeginStep()
			defer p.EndStep()
			prev := p.Enter("v")
			defer p.Restore(prev)
		}
		for b.Loop() {
			if err := be.Add(y, x, y); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("plain", func(b *testing.B) { run(b, inner, nil) })
	b.Run("off", func(b *testing.B) {
		p := New(inner, Options{Warmup: 1 << 30, Steps: 1})
		run(b, p, p)
	})
	b.Run("table", func(b *testing.B) {
		p := New(inner, Options{Steps: 1})
		run(b, p, p)
	})
	b.Run("trace", func(b *testing.B) {
		p := New(inner, Options{Steps: 1, Trace: true})
		run(b, p, p)
	})
}
