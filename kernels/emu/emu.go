//go:build cudaemu

package emu

/*
#cgo CXXFLAGS: -std=c++17 -fno-strict-aliasing -Wno-unknown-pragmas -pthread
#cgo LDFLAGS: -pthread
#include <stdlib.h>
#include "emu_api.h"
*/
import "C"

import (
	"embed"
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"suture/kernels"
	"suture/kernels/cuda"
	"suture/kernels/cuda/launch"
)

// The .cu sources are compiled through #include, which the go command does
// not see; embedding them makes an edit rebuild this package. The sources of
// kernels/cuda are embedded by that package (sources_cudaemu.go) and reach
// this package's build through the import.
//
//go:embed selftest_kernels.cu
var selftestSources embed.FS

var _ = cuda.Sources

func init() {
	kernels.Register("cudaemu", func() (kernels.Backend, error) { return NewBackend(Options{}, launch.Options{}) })
}

// Fault selects a deliberately broken build of the kernels, for tests that
// check that the emulator and the comparisons catch such bugs.
type Fault int

const (
	// NoFault runs the kernels as written.
	NoFault Fault = iota
	// FaultNoTileSync runs the GEMM kernels without the __syncthreads between
	// filling the shared-memory tiles and reading them.
	FaultNoTileSync
	// FaultLeakyReLUBackward runs leaky_relu_backward with half the slope
	// (one kernel broken, for the GPU check script's own test).
	FaultLeakyReLUBackward
)

// faultNames are the names ParseFault takes: the kernel a fault breaks, or
// the barrier it removes.
var faultNames = map[string]Fault{
	"":                    NoFault,
	"no_tile_sync":        FaultNoTileSync,
	"leaky_relu_backward": FaultLeakyReLUBackward,
}

// ParseFault returns the fault named s ("" for none).
func ParseFault(s string) (Fault, error) {
	f, ok := faultNames[s]
	if !ok {
		return 0, fmt.Errorf("emulator: no planted fault named %q (have no_tile_sync, leaky_relu_backward)", s)
	}
	return f, nil
}

// String describes the fault.
func (f Fault) String() string {
	switch f {
	case NoFault:
		return "no fault"
	case FaultNoTileSync:
		return "the tile barrier removed"
	case FaultLeakyReLUBackward:
		return "leaky_relu_backward broken on purpose (half the slope)"
	}
	return fmt.Sprintf("fault %d", int(f))
}

// Options configure the emulator.
type Options struct {
	// Threads is the number of OS threads running blocks (0: GOMAXPROCS).
	// The process-wide pool keeps the count of the first driver made.
	Threads int
	// Fault selects a broken build of the kernels (tests only).
	Fault Fault
}

// Driver implements launch.Driver on the CPU.
type Driver struct {
	threads int
	fault   Fault

	mu   sync.Mutex
	ids  map[string]C.int
	live map[launch.Ptr]struct{} // allocations not yet freed; Close frees them, as destroying a CUDA context does
}

var poolThreads struct {
	once sync.Once
	n    int
}

// NewDriver starts the emulator (its worker pool on first use).
func NewDriver(opt Options) *Driver {
	poolThreads.once.Do(func() {
		n := opt.Threads
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		poolThreads.n = n
		C.suture_emu_init(C.int(n))
	})
	return &Driver{threads: poolThreads.n, fault: opt.Fault, ids: map[string]C.int{}, live: map[launch.Ptr]struct{}{}}
}

// NewBackend returns a launch.Backend, named "cudaemu", on a new Driver.
// Under -asan the backend's memory pool is off, so every buffer has exact
// bounds for AddressSanitizer.
func NewBackend(opt Options, lopt launch.Options) (*launch.Backend, error) {
	if asanBuild {
		lopt.NoCache = true
	}
	return launch.New("cudaemu", NewDriver(opt), lopt)
}

// Name implements launch.Driver.
func (d *Driver) Name() string {
	s := fmt.Sprintf("CUDA emulator (%d threads)", d.threads)
	if d.fault != NoFault {
		s += " with " + d.fault.String()
	}
	return s
}

// Multiprocessors implements launch.Driver: one per worker thread.
func (d *Driver) Multiprocessors() int { return d.threads }

// L2Bytes implements launch.Driver with a typical CPU's last-level cache.
func (d *Driver) L2Bytes() int { return 32 << 20 }

// Alloc implements launch.Driver.
func (d *Driver) Alloc(bytes int64) (launch.Ptr, error) {
	p := C.suture_emu_alloc(C.size_t(bytes))
	if p == 0 {
		return 0, fmt.Errorf("%w: host allocation of %d bytes failed", launch.ErrOutOfMemory, bytes)
	}
	d.mu.Lock()
	d.live[launch.Ptr(p)] = struct{}{}
	d.mu.Unlock()
	return launch.Ptr(p), nil
}

// Free implements launch.Driver. Freeing a pointer this driver does not hold
// (or no longer holds) is an error, not a double free.
func (d *Driver) Free(p launch.Ptr) error {
	d.mu.Lock()
	_, ok := d.live[p]
	delete(d.live, p)
	d.mu.Unlock()
	if !ok {
		return fmt.Errorf("emulator: free of %#x, which this driver did not allocate or already freed", uint64(p))
	}
	C.suture_emu_free(C.uint64_t(p))
	return nil
}

// CopyHtoD implements launch.Driver.
func (d *Driver) CopyHtoD(dst launch.Ptr, src unsafe.Pointer, bytes int64) error {
	C.suture_emu_copy_htod(C.uint64_t(dst), src, C.size_t(bytes))
	return nil
}

// CopyDtoH implements launch.Driver.
func (d *Driver) CopyDtoH(dst unsafe.Pointer, src launch.Ptr, bytes int64) error {
	C.suture_emu_copy_dtoh(dst, C.uint64_t(src), C.size_t(bytes))
	return nil
}

// CopyDtoD implements launch.Driver.
func (d *Driver) CopyDtoD(dst, src launch.Ptr, bytes int64) error {
	C.suture_emu_copy_dtod(C.uint64_t(dst), C.uint64_t(src), C.size_t(bytes))
	return nil
}

// Memset implements launch.Driver.
func (d *Driver) Memset(dst launch.Ptr, bytes int64) error {
	C.suture_emu_memset(C.uint64_t(dst), 0, C.size_t(bytes))
	return nil
}

func (d *Driver) lookup(kernel string) (C.int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if id, ok := d.ids[kernel]; ok {
		return id, nil
	}
	cs := C.CString(kernel)
	defer C.free(unsafe.Pointer(cs))
	id := C.suture_emu_lookup(cs, C.int(d.fault))
	if id < 0 {
		return 0, fmt.Errorf("no kernel named %q in the emulator's table (kernels/cuda/kernels.def)", kernel)
	}
	d.ids[kernel] = id
	return id, nil
}

// Launch implements launch.Driver; it returns when the kernel has finished.
func (d *Driver) Launch(kernel string, grid, block launch.Dim3, args *launch.Args) error {
	id, err := d.lookup(kernel)
	if err != nil {
		return err
	}
	for _, v := range []int{grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z} {
		if v < 0 || v > 1<<31-1 {
			return fmt.Errorf("grid %v or block %v out of range", grid, block)
		}
	}
	var errbuf [512]byte
	slots, kinds := args.Slots(), args.Kinds()
	rc := C.suture_emu_launch(id, C.uint(grid.X), C.uint(grid.Y), C.uint(grid.Z),
		C.uint(block.X), C.uint(block.Y), C.uint(block.Z), 0,
		(*C.uint64_t)(unsafe.Pointer(unsafe.SliceData(slots))), C.int(len(slots)),
		(*C.char)(unsafe.Pointer(unsafe.SliceData(kinds))),
		(*C.char)(unsafe.Pointer(&errbuf[0])), C.int(len(errbuf)))
	if rc != 0 {
		return fmt.Errorf("%s", C.GoString((*C.char)(unsafe.Pointer(&errbuf[0]))))
	}
	return nil
}

// Synchronize implements launch.Driver; launches are synchronous here.
func (d *Driver) Synchronize() error { return nil }

// Record implements launch.Driver with the wall clock (launches are
// synchronous, so it measures the kernels before it).
func (d *Driver) Record() (launch.Event, error) { return wallEvent(time.Now()), nil }

// Close implements launch.Driver: like destroying a CUDA context, it frees
// every allocation still held. The worker pool stays for other drivers.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for p := range d.live {
		C.suture_emu_free(C.uint64_t(p))
	}
	clear(d.live)
	return nil
}

type wallEvent time.Time

func (e wallEvent) Since(start launch.Event) (time.Duration, error) {
	s, ok := start.(wallEvent)
	if !ok {
		return 0, fmt.Errorf("event from another driver")
	}
	return time.Time(e).Sub(time.Time(s)), nil
}

func (e wallEvent) Close() error { return nil }

// KernelNames lists the kernels of kernels/cuda/kernels.def in the
// emulator's table.
func KernelNames() []string {
	NewDriver(Options{})
	n := int(C.suture_emu_kernel_count())
	names := make([]string, n)
	for i := range names {
		names[i] = C.GoString(C.suture_emu_kernel_name(C.int(i)))
	}
	return names
}

var _ launch.Driver = (*Driver)(nil)
