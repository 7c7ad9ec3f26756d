package launch

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unsafe"

	"suture/kernels"
	"suture/tensor"
)

// fakeDriver keeps device memory in Go slices and records launches; it runs
// no kernels. It tests the launch code that needs no kernel: memory, the
// pool, checks and error messages.
type fakeDriver struct {
	mem      map[Ptr][]byte
	next     Ptr
	limit    int64 // bytes the device holds
	used     int64
	allocs   int
	frees    int
	launches []string
	fail     error // returned by Launch
}

func newFake(limit int64) *fakeDriver {
	return &fakeDriver{mem: map[Ptr][]byte{}, next: 1 << 20, limit: limit}
}

func (f *fakeDriver) Name() string         { return "fake device" }
func (f *fakeDriver) Multiprocessors() int { return 4 }
func (f *fakeDriver) L2Bytes() int         { return 1 << 20 }
func (f *fakeDriver) Alloc(bytes int64) (Ptr, error) {
	if f.used+bytes > f.limit {
		return 0, fmt.Errorf("%w: fake device full", ErrOutOfMemory)
	}
	p := f.next
	f.next += Ptr(bytes+255) &^ 255
	f.mem[p] = make([]byte, bytes)
	f.used += bytes
	f.allocs++
	return p, nil
}
func (f *fakeDriver) Free(p Ptr) error {
	f.used -= int64(len(f.mem[p]))
	delete(f.mem, p)
	f.frees++
	return nil
}

// at returns the bytes at device address p (inside some allocation).
func (f *fakeDriver) at(p Ptr, n int64) []byte {
	for base, m := range f.mem {
		if p >= base && int64(p-base)+n <= int64(len(m)) {
			return m[p-base : int64(p-base)+n]
		}
	}
	panic(fmt.Sprintf("fake device: no allocation holds [%#x, +%d)", p, n))
}
func (f *fakeDriver) CopyHtoD(dst Ptr, src unsafe.Pointer, n int64) error {
	copy(f.at(dst, n), unsafe.Slice((*byte)(src), n))
	return nil
}
func (f *fakeDriver) CopyDtoH(dst unsafe.Pointer, src Ptr, n int64) error {
	copy(unsafe.Slice((*byte)(dst), n), f.at(src, n))
	return nil
}
func (f *fakeDriver) CopyDtoD(dst, src Ptr, n int64) error {
	copy(f.at(dst, n), f.at(src, n))
	return nil
}
func (f *fakeDriver) Memset(dst Ptr, n int64) error {
	clear(f.at(dst, n))
	return nil
}
func (f *fakeDriver) Launch(kernel string, grid, block Dim3, a *Args) error {
	f.launches = append(f.launches, kernel)
	return f.fail
}
func (f *fakeDriver) Synchronize() error     { return nil }
func (f *fakeDriver) Record() (Event, error) { return fakeEvent(time.Now()), nil }
func (f *fakeDriver) Close() error           { return nil }

type fakeEvent time.Time

func (e fakeEvent) Since(s Event) (time.Duration, error) {
	return time.Time(e).Sub(time.Time(s.(fakeEvent))), nil
}
func (e fakeEvent) Close() error { return nil }

func mustNew(t *testing.T, d Driver, opt Options) *Backend {
	t.Helper()
	b, err := New("fake", d, opt)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUploadDownloadAndViews(t *testing.T) {
	b := mustNew(t, newFake(1<<20), Options{})
	x, err := b.Alloc(2, 3)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 6)
	if err := b.Download(got, x); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != 0 {
			t.Fatalf("Alloc left %g at %d, want zeros", v, i)
		}
	}
	want := []float32{1, 2, 3, 4, 5, 6}
	if err := b.Upload(x, want); err != nil {
		t.Fatal(err)
	}
	v, err := x.View(2, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	part := make([]float32, 4)
	if err := b.Download(part, v); err != nil {
		t.Fatal(err)
	}
	for i, p := range part {
		if p != want[2+i] {
			t.Fatalf("view element %d = %g, want %g", i, p, want[2+i])
		}
	}
	if err := b.Upload(x, want[:5]); err == nil {
		t.Error("Upload of 5 values into 6 elements succeeded")
	}
}

func TestBadTensorsAreRefused(t *testing.T) {
	b := mustNew(t, newFake(1<<20), Options{})
	other := mustNew(t, newFake(1<<20), Options{})
	y, _ := b.Alloc(4)
	foreign, _ := other.Alloc(4)
	freed, _ := b.Alloc(4)
	b.Free(freed)
	for _, c := range []struct {
		name string
		x    *tensor.Tensor
		want string
	}{
		{"host", tensor.New(4), "host memory"},
		{"other backend", foreign, "another backend"},
		{"freed", freed, "was freed"},
		{"nil", nil, "nil"},
	} {
		err := b.Add(y, y, c.x)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s tensor: err = %v, want it to mention %q", c.name, err, c.want)
		}
	}
}

func TestPoolReusesAndTrimsOnOutOfMemory(t *testing.T) {
	f := newFake(3 << 20)
	b := mustNew(t, f, Options{})
	x, err := b.Alloc(256, 1024) // 1 MiB
	if err != nil {
		t.Fatal(err)
	}
	b.Free(x)
	y, err := b.Alloc(256, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if f.allocs != 1 {
		t.Errorf("a freed block of the same size was not reused: %d driver allocations", f.allocs)
	}
	b.Free(y)
	// A 2.5 MiB request fails until the cached 1 MiB block is released.
	z, err := b.Alloc(640, 1024)
	if err != nil {
		t.Fatalf("the pool did not release its cache when the device was full: %v", err)
	}
	if f.frees != 1 {
		t.Errorf("driver frees = %d, want the one cached block", f.frees)
	}
	_, err = b.Alloc(1024, 1024)
	if !errors.Is(err, ErrOutOfMemory) || !strings.Contains(err.Error(), "(1024,1024)") {
		t.Errorf("err = %v, want ErrOutOfMemory naming the shape", err)
	}
	b.Free(z)
	if inUse, cached := b.MemoryStats(); inUse != 0 || cached == 0 {
		t.Errorf("after freeing everything: in use %d, cached %d", inUse, cached)
	}
}

func TestNoCacheGoesToTheDriver(t *testing.T) {
	f := newFake(1 << 20)
	b := mustNew(t, f, Options{NoCache: true})
	for i := 0; i < 3; i++ {
		x, err := b.Alloc(100)
		if err != nil {
			t.Fatal(err)
		}
		b.Free(x)
	}
	if f.allocs != 3 || f.frees != 3 || f.used != 0 {
		t.Errorf("allocs %d frees %d used %d, want 3, 3, 0", f.allocs, f.frees, f.used)
	}
	if len(f.mem) != 0 {
		t.Errorf("%d allocations left", len(f.mem))
	}
}

func TestRoundSize(t *testing.T) {
	for _, c := range []struct{ in, want int64 }{
		{1, 512}, {512, 512}, {513, 1024}, {1<<20 - 1, 1 << 20}, {1 << 20, 1 << 20},
		{1<<20 + 1, 1<<20 + 1<<17}, {3 << 20, 3 << 20}, {5<<20 + 7, 5<<20 + 1<<19},
	} {
		if got := roundSize(c.in); got != c.want {
			t.Errorf("roundSize(%d) = %d, want %d", c.in, got, c.want)
		}
		if got := roundSize(c.in); float64(got) > 1.125*float64(c.in)+512 {
			t.Errorf("roundSize(%d) = %d wastes more than 12.5%%", c.in, got)
		}
	}
}

func TestLaunchErrorNamesKernelAndShapes(t *testing.T) {
	f := newFake(1 << 24)
	b := mustNew(t, f, Options{})
	x, _ := b.Alloc(2, 3, 8, 8)
	w, _ := b.Alloc(4, 3, 3, 3)
	y, _ := b.Alloc(2, 4, 8, 8)
	f.fail = errors.New("launch failed on purpose")
	err := b.Conv2d(y, x, w, nil, kernels.Conv(1, 1))
	for _, want := range []string{"conv2d_forward_", "input (2,3,8,8)", "weight (4,3,3,3)", "grid", "on purpose"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
	}
}

func TestOptionsAreChecked(t *testing.T) {
	for _, o := range []Options{{Block: 2000}, {ReduceBlock: 48}, {Tile: "xl"}, {Chunks: -1}} {
		if _, err := New("fake", newFake(1), o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

func TestGeometryChoices(t *testing.T) {
	b := mustNew(t, newFake(1), Options{}) // 4 multiprocessors
	if got := b.pickTile(1024, 1024); got != tileL {
		t.Errorf("1024x1024 output: tile %s, want l", got.suffix)
	}
	if got := b.pickTile(64, 128); got != tileS {
		t.Errorf("64x128 output on 4 SMs: tile %s, want s (8 blocks beat 2)", got.suffix)
	}
	if s := b.pickSplits(32, 27, 8*128*128, tileS); s < 2 {
		t.Errorf("a 32x27 weight gradient over 131072 pixels uses %d split, want several", s)
	}
	if s := b.pickSplits(1024, 1024, 4096, tileL); s != 1 {
		t.Errorf("a large weight gradient uses %d splits, want 1", s)
	}
	grid, block := b.grid1D(10)
	if grid.X != 1 || block.X != 256 {
		t.Errorf("10 elements: grid %v block %v", grid, block)
	}
}

func TestKernelNamesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range KernelNames() {
		if seen[n] {
			t.Errorf("kernel %s listed twice", n)
		}
		seen[n] = true
	}
	if len(seen) != len(plainKernels)+3*len(gemmProblems) {
		t.Errorf("%d names", len(seen))
	}
}

func TestTime(t *testing.T) {
	b := mustNew(t, newFake(1<<24), Options{})
	runs := 0
	tm, err := b.Time(func() error { runs++; time.Sleep(time.Millisecond); return nil }, 2, 5)
	if err != nil {
		t.Fatal(err)
	}
	if runs != 7 || tm.Repeats != 5 || tm.Min > tm.Median || tm.Median > tm.Max || tm.Min < time.Millisecond {
		t.Errorf("runs %d, timing %+v", runs, tm)
	}
}

// observer records what SetLaunchObserver reports.
type observer struct {
	kernels []string
	events  int
}

func (o *observer) Launched(kernel string, start, end Event) {
	o.kernels = append(o.kernels, kernel)
	if d, err := end.Since(start); err == nil && d >= 0 {
		o.events++
	}
}

// TestLaunchObserverSeesEveryKernel: with an observer set, every launch is
// reported with two events around it; without, none.
func TestLaunchObserverSeesEveryKernel(t *testing.T) {
	f := newFake(1 << 24)
	b := mustNew(t, f, Options{})
	x, _ := b.Alloc(2, 3, 8, 8)
	w, _ := b.Alloc(4, 3, 3, 3)
	y, _ := b.Alloc(2, 4, 8, 8)
	var o observer
	b.SetLaunchObserver(&o)
	before := len(f.launches)
	if err := b.Conv2d(y, x, w, nil, kernels.Conv(1, 1)); err != nil {
		t.Fatal(err)
	}
	launched := f.launches[before:]
	if len(launched) == 0 || strings.Join(o.kernels, ",") != strings.Join(launched, ",") || o.events != len(launched) {
		t.Errorf("observer saw %v (%d with events), the driver launched %v", o.kernels, o.events, launched)
	}
	b.SetLaunchObserver(nil)
	seen := len(o.kernels)
	if err := b.Conv2d(y, x, w, nil, kernels.Conv(1, 1)); err != nil {
		t.Fatal(err)
	}
	if len(o.kernels) != seen {
		t.Errorf("a removed observer saw %d more launches", len(o.kernels)-seen)
	}
	// A failed launch is not reported.
	b.SetLaunchObserver(&o)
	f.fail = errors.New("launch failed on purpose")
	if err := b.Conv2d(y, x, w, nil, kernels.Conv(1, 1)); err == nil {
		t.Fatal("the failing launch returned no error")
	}
	if len(o.kernels) != seen {
		t.Errorf("a failed launch was reported: %v", o.kernels[seen:])
	}
}
