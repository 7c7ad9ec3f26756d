//go:build cudaemu

package emu

import (
	"math"
	"strings"
	"testing"
	"unsafe"

	"suture/kernels/cuda/launch"
	"suture/tensor"
)

// Tests of the emulator itself, on the kernels of selftest_kernels.cu.

// devBuf is a device buffer of n float32s with its host mirror.
type devBuf struct {
	d   *Driver
	ptr launch.Ptr
	n   int
}

func newBuf(t *testing.T, d *Driver, host []float32) devBuf {
	t.Helper()
	p, err := d.Alloc(int64(4 * len(host)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Free(p) })
	if len(host) > 0 {
		d.CopyHtoD(p, unsafe.Pointer(&host[0]), int64(4*len(host)))
	}
	return devBuf{d, p, len(host)}
}

func (b devBuf) read() []float32 {
	out := make([]float32, b.n)
	b.d.CopyDtoH(unsafe.Pointer(&out[0]), b.ptr, int64(4*b.n))
	return out
}

func TestDeadlockIsReported(t *testing.T) {
	d := NewDriver(Options{})
	y := newBuf(t, d, make([]float32, 64))
	var a launch.Args
	a.Ptr(y.ptr).Int(40) // threads 40..63 return before the barrier
	err := d.Launch("selftest_early_exit", dim(1, 1, 1), dim(64, 1, 1), &a)
	if err == nil || !strings.Contains(err.Error(), "deadlock") || !strings.Contains(err.Error(), "selftest_kernels.cu:") ||
		!strings.Contains(err.Error(), "40 of 64") {
		t.Fatalf("early exit before __syncthreads: err = %v, want a deadlock at selftest_kernels.cu with 40 of 64 threads", err)
	}
	t.Log(err)
	// The same kernel with every thread present runs, and the emulator is
	// still usable after the failed launch.
	var ok launch.Args
	ok.Ptr(y.ptr).Int(64)
	if err := d.Launch("selftest_early_exit", dim(1, 1, 1), dim(64, 1, 1), &ok); err != nil {
		t.Fatal(err)
	}
	for i, v := range y.read() {
		if v != 2 {
			t.Fatalf("y[%d] = %g after a full launch, want 2", i, v)
		}
	}
}

func TestDivergentBarrierIsReported(t *testing.T) {
	d := NewDriver(Options{})
	y := newBuf(t, d, make([]float32, 32))
	var a launch.Args
	a.Ptr(y.ptr)
	err := d.Launch("selftest_divergent_sync", dim(1, 1, 1), dim(32, 1, 1), &a)
	if err == nil || !strings.Contains(err.Error(), "divergent barrier") {
		t.Fatalf("err = %v, want a divergent-barrier error", err)
	}
	t.Log(err)
}

func TestBadGeometryIsRefused(t *testing.T) {
	d := NewDriver(Options{})
	var a launch.Args
	a.Ptr(0)
	for _, c := range []struct{ grid, block launch.Dim3 }{
		{dim(1, 1, 1), dim(1025, 1, 1)},
		{dim(1, 1, 1), dim(64, 32, 1)},
		{dim(1, 70000, 1), dim(32, 1, 1)},
		{dim(0, 1, 1), dim(32, 1, 1)},
	} {
		if err := d.Launch("selftest_thread_ids", c.grid, c.block, &a); err == nil {
			t.Errorf("grid %v block %v accepted", c.grid, c.block)
		}
	}
}

// TestIndexVariables checks threadIdx, blockIdx, blockDim and gridDim on a
// 3-D grid of 3-D blocks: every thread writes its own linear index.
func TestIndexVariables(t *testing.T) {
	d := NewDriver(Options{})
	grid, block := dim(3, 2, 2), dim(4, 3, 2)
	total := 3 * 2 * 2 * 4 * 3 * 2
	ids := newBuf(t, d, make([]float32, total))
	var a launch.Args
	a.Ptr(ids.ptr)
	if err := d.Launch("selftest_thread_ids", grid, block, &a); err != nil {
		t.Fatal(err)
	}
	for i, v := range ids.read() {
		if int(v) != i {
			t.Fatalf("ids[%d] = %g", i, v)
		}
	}
}

// TestWarpShuffles checks warp_sum (shfl_down) and shfl_xor, with a partial
// last warp, against sums computed here.
func TestWarpShuffles(t *testing.T) {
	d := NewDriver(Options{})
	const threads = 96
	g := tensor.NewRNG(3)
	x := g.Rand(threads).Data
	warps := threads / 32
	xs := newBuf(t, d, x)
	out := newBuf(t, d, make([]float32, warps+threads))
	var a launch.Args
	a.Ptr(out.ptr).Ptr(xs.ptr)
	if err := d.Launch("selftest_warp_sums", dim(1, 1, 1), dim(threads, 1, 1), &a); err != nil {
		t.Fatal(err)
	}
	got := out.read()
	for w := 0; w < warps; w++ {
		var s float64
		for l := 0; l < 32; l++ {
			s += float64(x[32*w+l])
		}
		if math.Abs(float64(got[w])-s) > 1e-5 {
			t.Errorf("warp %d sum %g, want %g", w, got[w], s)
		}
	}
	for i := 0; i < threads; i++ {
		if got[warps+i] != x[i^1] {
			t.Errorf("shfl_xor lane %d got %g, want %g", i, got[warps+i], x[i^1])
		}
	}
}

// TestBlockSum checks the block reduction for block sizes from one warp to
// 1024 threads, in float64 against a sum computed here.
func TestBlockSum(t *testing.T) {
	d := NewDriver(Options{})
	for _, threads := range []int{32, 64, 160, 1024} {
		const blocks = 3
		g := tensor.NewRNG(uint64(threads))
		x := g.Rand(blocks * threads).Data
		xs := newBuf(t, d, x)
		p, _ := d.Alloc(8 * blocks)
		var a launch.Args
		a.Ptr(p).Ptr(xs.ptr)
		if err := d.Launch("selftest_block_sum", dim(blocks, 1, 1), dim(threads, 1, 1), &a); err != nil {
			t.Fatal(err)
		}
		got := make([]float64, blocks)
		d.CopyDtoH(unsafe.Pointer(&got[0]), p, 8*blocks)
		d.Free(p)
		for b := 0; b < blocks; b++ {
			var s float64
			for _, v := range x[b*threads : (b+1)*threads] {
				s += float64(v)
			}
			if math.Abs(got[b]-s) > 1e-9 {
				t.Errorf("%d threads, block %d: sum %g, want %g", threads, b, got[b], s)
			}
		}
	}
}

// TestKernelTable checks that every kernel the launch code uses is in the
// emulator's table (kernels.def) and that the table has nothing else.
func TestKernelTable(t *testing.T) {
	have := map[string]bool{}
	for _, n := range KernelNames() {
		if have[n] {
			t.Errorf("kernel %s listed twice in kernels.def", n)
		}
		have[n] = true
	}
	used := map[string]bool{}
	for _, n := range launch.KernelNames() {
		used[n] = true
		if !have[n] {
			t.Errorf("the launch code uses kernel %s, which kernels.def does not list", n)
		}
	}
	for n := range have {
		if !used[n] {
			t.Errorf("kernels.def lists %s, which the launch code never uses", n)
		}
	}
}

func dim(x, y, z int) launch.Dim3 { return launch.Dim3{X: x, Y: y, Z: z} }

func TestFreeAndCloseAccountForEveryAllocation(t *testing.T) {
	d := NewDriver(Options{})
	p, err := d.Alloc(64)
	if err != nil {
		t.Fatal(err)
	}
	q, err := d.Alloc(128)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Free(p); err != nil {
		t.Fatalf("first free: %v", err)
	}
	if err := d.Free(p); err == nil || !strings.Contains(err.Error(), "already freed") {
		t.Fatalf("second free of the same pointer: got %v, want an error", err)
	}
	if len(d.live) != 1 {
		t.Fatalf("%d live allocations after one free, want 1", len(d.live))
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if len(d.live) != 0 {
		t.Fatalf("%d live allocations after Close, want 0", len(d.live))
	}
	if err := d.Free(q); err == nil {
		t.Fatal("free after Close succeeded; Close should have released the pointer")
	}
}
