package launch

import (
	"fmt"
	"strings"
	"sync"
	"unsafe"

	"suture/kernels"
	"suture/tensor"
)

// Options fix the launch geometry. The zero value chooses everything per
// call from the sizes and the device; tests set fields to run every kernel
// at several geometries.
type Options struct {
	// Block is the thread count of the element-wise kernels' 1-D blocks
	// (default 256; 1 to 1024).
	Block int
	// MaxGrid caps the blocks of element-wise kernels (default 32 per
	// multiprocessor); grid-stride loops cover the rest.
	MaxGrid int
	// ReduceBlock is the thread count of reduction blocks (default 256; a
	// multiple of 32, at most 1024).
	ReduceBlock int
	// Chunks forces how many blocks share one group of a two-pass reduction
	// (0: chosen from the sizes).
	Chunks int
	// Tile forces the GEMM tile configuration: "s" (32x32), "m" (64x64) or
	// "l" (128x128); "" chooses per call.
	Tile string
	// SplitK forces the number of K splits of the weight-gradient GEMMs
	// (0: chosen per call; 1: none).
	SplitK int
	// NoCache sends every allocation and free to the driver, so each buffer
	// has exact bounds (the AddressSanitizer build uses it).
	NoCache bool
	// SyncEachLaunch waits for every kernel, so an error in a kernel's
	// execution is reported by the op that launched it. Slower.
	SyncEachLaunch bool
	// OnLaunch, when set, is called with each kernel's name before it is
	// launched (checks use it to name the kernels behind a failing op).
	OnLaunch func(kernel string)
}

func (o *Options) setDefaults(sms int) error {
	if o.Block == 0 {
		o.Block = 256
	}
	if o.ReduceBlock == 0 {
		o.ReduceBlock = 256
	}
	if o.MaxGrid == 0 {
		o.MaxGrid = 32 * max(sms, 1)
	}
	switch {
	case o.Block < 1 || o.Block > 1024:
		return fmt.Errorf("block size %d, want 1..1024", o.Block)
	case o.ReduceBlock < 32 || o.ReduceBlock > 1024 || o.ReduceBlock%32 != 0:
		return fmt.Errorf("reduction block size %d, want a multiple of 32 in 32..1024", o.ReduceBlock)
	case o.MaxGrid < 1 || o.MaxGrid > 1<<20:
		return fmt.Errorf("grid cap %d, want 1..2^20", o.MaxGrid)
	case o.Chunks < 0 || o.Chunks > 65535:
		return fmt.Errorf("reduction chunks %d, want 0..65535", o.Chunks)
	case o.SplitK < 0 || o.SplitK > 65535:
		return fmt.Errorf("split-K %d, want 0..65535", o.SplitK)
	}
	if _, err := tileByName(o.Tile); err != nil {
		return err
	}
	return nil
}

// Backend implements kernels.Backend on a Driver. Ops may be called from
// several goroutines; their launches are ordered by the driver.
type Backend struct {
	name string
	drv  Driver
	opt  Options
	sms  int
	pool *pool

	mu   sync.Mutex
	last string         // the last kernel launched, for errors reported later
	obs  LaunchObserver // nil unless a profiler watches the launches
}

// LaunchObserver is told about every kernel launch, for profilers:
// kernels.LaunchObserver.
type LaunchObserver = kernels.LaunchObserver

var (
	_ kernels.LaunchTimer = (*Backend)(nil)
	_ kernels.Syncer      = (*Backend)(nil)
)

// SetLaunchObserver implements kernels.LaunchTimer: it makes o observe
// every launch from now on (nil: none). While one is set, each launch
// records two events, which costs time on a GPU: set one only while
// profiling.
func (b *Backend) SetLaunchObserver(o LaunchObserver) {
	b.mu.Lock()
	b.obs = o
	b.mu.Unlock()
}

// RecordEvent implements kernels.LaunchTimer: it marks the current point of
// the launch stream (the driver's Record).
func (b *Backend) RecordEvent() (kernels.Event, error) { return b.drv.Record() }

// New returns a backend named name (as registered: "cuda", "cudaemu") that
// runs on drv.
func New(name string, drv Driver, opt Options) (*Backend, error) {
	sms := drv.Multiprocessors()
	if err := opt.setDefaults(sms); err != nil {
		return nil, fmt.Errorf("%s: options: %w", name, err)
	}
	return &Backend{name: name, drv: drv, opt: opt, sms: max(sms, 1), pool: newPool(drv, opt.NoCache)}, nil
}

// Name implements kernels.Backend.
func (b *Backend) Name() string { return b.name }

// Driver returns the driver the backend runs on.
func (b *Backend) Driver() Driver { return b.drv }

// Options returns the geometry options in effect (defaults filled in).
func (b *Backend) Options() Options { return b.opt }

// MemoryStats reports the device memory held by tensors and by the pool's
// cache of freed blocks, in bytes.
func (b *Backend) MemoryStats() (inUse, cached int64) { return b.pool.stats() }

// ReleaseCache returns the pool's cached blocks to the driver.
func (b *Backend) ReleaseCache() error { return b.pool.trim() }

// Close releases cached memory and the driver. Tensors of this backend must
// not be used afterwards.
func (b *Backend) Close() error {
	err := b.pool.trim()
	if cerr := b.drv.Close(); err == nil {
		err = cerr
	}
	return err
}

// Synchronize implements kernels.Syncer: it waits for every launched
// kernel and reports a failure.
func (b *Backend) Synchronize() error {
	if err := b.drv.Synchronize(); err != nil {
		return b.asyncError(err)
	}
	return nil
}

func (b *Backend) asyncError(err error) error {
	b.mu.Lock()
	last := b.last
	b.mu.Unlock()
	if last == "" {
		return fmt.Errorf("%s on %s: %w", b.name, b.drv.Name(), err)
	}
	return fmt.Errorf("%s on %s: failure in or after %s (rerun with Options.SyncEachLaunch to pin it down): %w",
		b.name, b.drv.Name(), last, err)
}

// Alloc implements kernels.Backend: a zero-filled device tensor.
func (b *Backend) Alloc(shape ...int) (*tensor.Tensor, error) {
	s := tensor.Shape(shape)
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: alloc: %w", b.name, err)
	}
	n := s.Numel()
	if n > MaxElements {
		return nil, fmt.Errorf("%s: alloc: shape %v has %d elements; the CUDA kernels take at most %d", b.name, s, n, MaxElements)
	}
	buf, err := b.newBuffer(n)
	if err != nil {
		return nil, fmt.Errorf("%s: alloc %v: %w", b.name, s, err)
	}
	if err := b.drv.Memset(buf.ptr, int64(4*n)); err != nil {
		b.pool.put(buf.alloc)
		return nil, fmt.Errorf("%s: alloc %v: zero fill: %w", b.name, s, err)
	}
	return &tensor.Tensor{Shape: s.Clone(), Dev: buf}, nil
}

func (b *Backend) newBuffer(n int) (*Buffer, error) {
	a, err := b.pool.get(int64(4 * n))
	if err != nil {
		return nil, err
	}
	return &Buffer{ptr: a.ptr, n: n, alloc: a, owner: true}, nil
}

// Free implements kernels.Backend. Freeing a view does nothing; freeing an
// owner twice is harmless; using a freed tensor is an error.
func (b *Backend) Free(t *tensor.Tensor) {
	if t == nil {
		return
	}
	if buf, ok := t.Dev.(*Buffer); ok && buf.owner && buf.alloc.pool == b.pool {
		b.pool.put(buf.alloc)
	}
}

// Upload implements kernels.Backend.
func (b *Backend) Upload(dst *tensor.Tensor, src []float32) error {
	p, err := b.ptr("upload", "destination", dst)
	if err != nil {
		return err
	}
	if len(src) != dst.Numel() {
		return fmt.Errorf("%s: upload: %d values into tensor %v (%d elements)", b.name, len(src), dst.Shape, dst.Numel())
	}
	if len(src) == 0 {
		return nil
	}
	if err := b.drv.CopyHtoD(p, unsafe.Pointer(&src[0]), int64(4*len(src))); err != nil {
		return fmt.Errorf("%s: upload %v: %w", b.name, dst.Shape, err)
	}
	return nil
}

// Download implements kernels.Backend; it waits for the kernels writing src.
func (b *Backend) Download(dst []float32, src *tensor.Tensor) error {
	p, err := b.ptr("download", "source", src)
	if err != nil {
		return err
	}
	if len(dst) != src.Numel() {
		return fmt.Errorf("%s: download: tensor %v (%d elements) into %d values", b.name, src.Shape, src.Numel(), len(dst))
	}
	if len(dst) == 0 {
		return nil
	}
	if err := b.drv.CopyDtoH(unsafe.Pointer(&dst[0]), p, int64(4*len(dst))); err != nil {
		return b.asyncError(fmt.Errorf("download %v: %w", src.Shape, err))
	}
	return nil
}

// ptr returns the device address of t after checking that t is a live tensor
// of this backend whose buffer matches its shape.
func (b *Backend) ptr(op, name string, t *tensor.Tensor) (Ptr, error) {
	if t == nil {
		return 0, fmt.Errorf("%s: %s: %s is nil", b.name, op, name)
	}
	buf, ok := t.Dev.(*Buffer)
	switch {
	case t.Dev == nil:
		return 0, fmt.Errorf("%s: %s: %s %v lives in host memory; Alloc it on this backend and Upload it", b.name, op, name, t.Shape)
	case !ok || buf.alloc.pool != b.pool:
		return 0, fmt.Errorf("%s: %s: %s %v belongs to another backend", b.name, op, name, t.Shape)
	case buf.alloc.freed:
		return 0, fmt.Errorf("%s: %s: %s %v was freed", b.name, op, name, t.Shape)
	case buf.n != t.Numel():
		return 0, fmt.Errorf("%s: %s: %s %v needs %d elements, its buffer holds %d", b.name, op, name, t.Shape, t.Numel(), buf.n)
	}
	return buf.ptr, nil
}

// optPtr is ptr for an optional tensor: nil gives the null pointer.
func (b *Backend) optPtr(op, name string, t *tensor.Tensor) (Ptr, error) {
	if t == nil {
		return 0, nil
	}
	return b.ptr(op, name, t)
}

// operand is a named tensor argument of an op.
type operand struct {
	name string
	t    *tensor.Tensor
	opt  bool // may be nil
}

// ptrs resolves the device addresses of an op's tensors in order.
func (b *Backend) ptrs(op string, args ...operand) ([]Ptr, error) {
	ps := make([]Ptr, len(args))
	for i, a := range args {
		var err error
		if a.opt {
			ps[i], err = b.optPtr(op, a.name, a.t)
		} else {
			ps[i], err = b.ptr(op, a.name, a.t)
		}
		if err != nil {
			return nil, err
		}
	}
	return ps, nil
}

func in(name string, t *tensor.Tensor) operand  { return operand{name: name, t: t} }
func opt(name string, t *tensor.Tensor) operand { return operand{name: name, t: t, opt: true} }

// describe lists an op's tensors with their shapes for error messages.
func describe(args ...operand) string {
	var s []string
	for _, a := range args {
		if a.t != nil {
			s = append(s, fmt.Sprintf("%s %v", a.name, a.t.Shape))
		}
	}
	return strings.Join(s, ", ")
}

// launch runs one kernel for op; on failure the error names the kernel, its
// geometry and the op's tensors.
func (b *Backend) launch(op, kernel string, grid, block Dim3, a *Args, tensors []operand) error {
	b.mu.Lock()
	b.last = kernel
	obs := b.obs
	b.mu.Unlock()
	if b.opt.OnLaunch != nil {
		b.opt.OnLaunch(kernel)
	}
	var start Event
	if obs != nil {
		var err error
		if start, err = b.drv.Record(); err != nil {
			return fmt.Errorf("%s: %s: event before kernel %s (profiling): %w", b.name, op, kernel, err)
		}
	}
	err := b.drv.Launch(kernel, grid, block, a)
	if err == nil && b.opt.SyncEachLaunch {
		err = b.drv.Synchronize()
	}
	if start != nil {
		end, rerr := b.drv.Record()
		if err == nil && rerr != nil {
			err = fmt.Errorf("event after the kernel (profiling): %w", rerr)
		}
		if err == nil {
			obs.Launched(kernel, start, end)
		} else {
			start.Close()
			if end != nil {
				end.Close()
			}
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %s: kernel %s (grid %v, block %v) for %s on %s: %w",
			b.name, op, kernel, grid, block, describe(tensors...), b.drv.Name(), err)
	}
	return nil
}

// scratch allocates a temporary device buffer of bytes for one op's
// workspace; the op returns it with b.pool.put when done (the stream orders
// its reuse after the kernels that read it).
func (b *Backend) scratch(op string, bytes int64) (*allocation, error) {
	a, err := b.pool.get(bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: workspace: %w", b.name, op, err)
	}
	return a, nil
}

var _ kernels.Backend = (*Backend)(nil)
