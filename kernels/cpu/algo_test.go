package cpu

import (
	"sync"
	"testing"
	"time"

	"suture/kernels"
	"suture/tensor"
)

// TestConvAlgorithmNames: the names profiles give each pass, at the cutoffs
// of the dispatch (Winograd from 24 channels and 8-wide outputs; weight
// gradients from 24 and 48 channels, FP32 only; strips up
// to 64x64 planes (128x128 with the 12x32 kernel), dot products for 1x1 weight gradients on planes of a
// multiple of 8 pixels).
func TestConvAlgorithmNames(t *testing.T) {
	b := New(2)
	// The strips take planes up to 64x64, up to 128x128 with the 12x32
	// kernel (widePointwise).
	mid := "gemm"
	if widePointwise() {
		mid = "strips"
	}
	c3, c3s2, c1, c1s2 := kernels.Conv(1, 1), kernels.Conv(2, 1), kernels.Conv(1, 0), kernels.Conv(2, 0)
	for _, c := range []struct {
		pass kernels.ConvPass
		x, w tensor.Shape
		p    kernels.ConvParams
		want string
	}{
		{kernels.ConvForward, tensor.Shape{2, 32, 16, 16}, tensor.Shape{32, 32, 3, 3}, c3, "winograd"},
		{kernels.ConvForward, tensor.Shape{2, 23, 16, 16}, tensor.Shape{32, 23, 3, 3}, c3, "direct"},
		{kernels.ConvForward, tensor.Shape{2, 32, 7, 1}, tensor.Shape{32, 32, 3, 3}, c3, "direct"},
		{kernels.ConvForward, tensor.Shape{2, 16, 16, 16}, tensor.Shape{32, 16, 3, 3}, c3s2, "gemm+im2col"},
		{kernels.ConvForward, tensor.Shape{2, 3, 9, 7}, tensor.Shape{5, 3, 1, 1}, c1s2, "gemm+im2col"},
		{kernels.ConvBackwardData, tensor.Shape{2, 32, 16, 16}, tensor.Shape{64, 32, 3, 3}, c3s2, "gemm+col2im"},
		{kernels.ConvBackwardFilter, tensor.Shape{2, 16, 16, 16}, tensor.Shape{32, 16, 3, 3}, c3s2, "direct"},
		{kernels.ConvBackwardFilter, tensor.Shape{2, 16, 16, 16}, tensor.Shape{47, 16, 3, 3}, c3s2, "direct"},
		{kernels.ConvBackwardFilter, tensor.Shape{2, 16, 16, 16}, tensor.Shape{48, 16, 3, 3}, c3s2, "gemm+im2col"},
		{kernels.ConvBackwardData, tensor.Shape{2, 32, 16, 16}, tensor.Shape{32, 32, 3, 3}, c3, "winograd"},
		{kernels.ConvBackwardFilter, tensor.Shape{2, 32, 16, 16}, tensor.Shape{48, 32, 3, 3}, c3, "winograd"},
		{kernels.ConvBackwardFilter, tensor.Shape{2, 32, 16, 16}, tensor.Shape{32, 32, 3, 3}, c3, "direct"},
		{kernels.ConvBackwardFilter, tensor.Shape{2, 64, 7, 1}, tensor.Shape{64, 64, 3, 3}, c3, "direct"},
		{kernels.ConvBackwardFilter, tensor.Shape{2, 23, 16, 16}, tensor.Shape{32, 23, 3, 3}, c3, "direct"},
		{kernels.ConvForward, tensor.Shape{2, 32, 64, 64}, tensor.Shape{24, 32, 1, 1}, c1, "strips"},
		{kernels.ConvForward, tensor.Shape{2, 32, 65, 64}, tensor.Shape{24, 32, 1, 1}, c1, mid},
		{kernels.ConvBackwardData, tensor.Shape{2, 32, 128, 128}, tensor.Shape{24, 32, 1, 1}, c1, mid},
		{kernels.ConvForward, tensor.Shape{2, 32, 129, 128}, tensor.Shape{24, 32, 1, 1}, c1, "gemm"},
		{kernels.ConvBackwardData, tensor.Shape{2, 32, 8, 8}, tensor.Shape{24, 32, 1, 1}, c1, "strips"},
		{kernels.ConvBackwardFilter, tensor.Shape{2, 32, 8, 8}, tensor.Shape{24, 32, 1, 1}, c1, "dot"},
		{kernels.ConvBackwardFilter, tensor.Shape{2, 32, 8, 8}, tensor.Shape{23, 32, 1, 1}, c1, "dot"},
		{kernels.ConvBackwardFilter, tensor.Shape{2, 32, 7, 7}, tensor.Shape{24, 32, 1, 1}, c1, "gemm"},
		{kernels.ConvForward, tensor.Shape{2, 32}, tensor.Shape{24, 32, 1, 1}, c1, "invalid"},
	} {
		if got := b.ConvAlgorithm(c.pass, c.x, c.w, c.p); got != c.want {
			t.Errorf("pass %d x %v w %v %+v: %q, want %q", c.pass, c.x, c.w, c.p, got, c.want)
		}
	}
	// With bf16 too, strided weight gradients of fewer than 48 output
	// channels keep the (BF16) dot products.
	if b16 := New(2); b16.SetBF16(true) == nil {
		for _, c := range []struct {
			pass kernels.ConvPass
			co   int
			want string
		}{
			{kernels.ConvForward, 32, "gemm+im2col"},
			{kernels.ConvBackwardFilter, 47, "direct"},
			{kernels.ConvBackwardFilter, 48, "gemm+im2col"},
		} {
			if got := b16.ConvAlgorithm(c.pass, tensor.Shape{2, 16, 16, 16}, tensor.Shape{c.co, 16, 3, 3}, c3s2); got != c.want {
				t.Errorf("bf16 stride-2 pass %d co %d: %q, want %s", c.pass, c.co, got, c.want)
			}
		}
	}
	if got := NewReference().ConvAlgorithm(kernels.ConvForward, tensor.Shape{2, 32, 16, 16}, tensor.Shape{32, 32, 3, 3}, c3); got != "reference" {
		t.Errorf("cpu-ref names its algorithm %q", got)
	}
}

// TestConvTransposeAlgorithmNames: the 2x2 kernels' passes, backward-filter
// only on rows of W a multiple of 4.
func TestConvTransposeAlgorithmNames(t *testing.T) {
	b := New(2)
	x, x6, w2, w3 := tensor.Shape{2, 8, 4, 8}, tensor.Shape{2, 8, 4, 6}, tensor.Shape{8, 4, 2, 2}, tensor.Shape{8, 4, 3, 3}
	for _, c := range []struct {
		pass kernels.ConvPass
		x, w tensor.Shape
		want string
	}{
		{kernels.ConvForward, x, w2, "interleave"},
		{kernels.ConvBackwardData, x, w2, "pairs"},
		{kernels.ConvBackwardFilter, x, w2, "pairs"},
		{kernels.ConvForward, x6, w2, "interleave"},
		{kernels.ConvBackwardData, x6, w2, "pairs"},
		{kernels.ConvBackwardFilter, x6, w2, "dot+gather"},
		{kernels.ConvForward, x, w3, "direct+scatter"},
		{kernels.ConvBackwardData, x, w3, "direct+gather"},
		{kernels.ConvBackwardFilter, x, w3, "dot+gather"},
		{kernels.ConvForward, tensor.Shape{2, 8}, w2, "invalid"},
	} {
		if got := b.ConvTransposeAlgorithm(c.pass, c.x, c.w); got != c.want {
			t.Errorf("pass %d x %v w %v: %q, want %q", c.pass, c.x, c.w, got, c.want)
		}
	}
	if got := NewReference().ConvTransposeAlgorithm(kernels.ConvForward, x, w2); got != "reference" {
		t.Errorf("cpu-ref names its algorithm %q", got)
	}
}

// tracer counts the parts a PartTracer sees.
type tracer struct {
	mu      sync.Mutex
	begins  map[int]int // per worker
	ends    map[int]int
	parts   map[[2]int]int // (part, parts) seen
	badPart bool
}

func (tr *tracer) BeginPart(worker, part, parts int) int64 {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.begins[worker]++
	tr.parts[[2]int{part, parts}]++
	tr.badPart = tr.badPart || part < 0 || part >= parts || worker < 0
	return int64(worker) + 100
}

func (tr *tracer) EndPart(worker int, begin int64) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.ends[worker]++
	tr.badPart = tr.badPart || begin != int64(worker)+100
}

// TestPartTracerSeesEveryPart: with a PartTracer set, every part of a
// parallel region is reported once, begin and end on the same worker;
// with none set, nothing is. The tracer is set here and through
// kernels.SetPartTracer (the hook profilers use: the package registered
// SetPartTracer with kernels.RegisterPartTracing).
func TestPartTracerSeesEveryPart(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(PartTracer)
	}{{"cpu.SetPartTracer", SetPartTracer}, {"kernels.SetPartTracer", kernels.SetPartTracer}} {
		t.Run(c.name, func(t *testing.T) { checkPartTracer(t, c.set) })
	}
}

func checkPartTracer(t *testing.T, set func(PartTracer)) {
	b := New(2)
	g := tensor.NewRNG(1)
	x, y := g.Rand(1<<18), g.Rand(1<<18)
	tr := &tracer{begins: map[int]int{}, ends: map[int]int{}, parts: map[[2]int]int{}}
	set(tr)
	const calls = 20
	for range calls {
		if err := b.Add(y, x, y); err != nil {
			t.Fatal(err)
		}
	}
	set(nil)
	if err := b.Add(y, x, y); err != nil {
		t.Fatal(err)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.badPart {
		t.Error("a part was reported out of range or ended with another worker's token")
	}
	total := 0
	for w, n := range tr.begins {
		if tr.ends[w] != n {
			t.Errorf("worker %d: %d parts begun, %d ended", w, n, tr.ends[w])
		}
		total += n
	}
	if len(tr.parts) == 0 {
		t.Fatal("no part was reported")
	}
	for k, n := range tr.parts {
		if n != calls {
			t.Errorf("part %d of %d reported %d times in %d calls", k[0], k[1], n, calls)
		}
	}
	t.Logf("%d parts on workers %v", total, tr.begins)
}

// TestMeasurePeak: the micro-kernel's rate is positive and finite (its
// size is a measurement of the machine, not checked here).
func TestMeasurePeak(t *testing.T) {
	if g := MeasurePeak(2, 20*time.Millisecond); !(g > 0) || g > 1e6 {
		t.Errorf("MeasurePeak = %g GFLOP/s", g)
	}
}
