//go:build cuda

package cuda

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>

// gorgonia.org/cu calls cuInit from its package initialisation and ends the
// process when it fails (no GPU, no usable driver). This definition of
// cuInit, in the executable, takes precedence over libcuda's: it calls the
// real one, records the result and reports success, so the process lives and
// New returns a clear error instead. CUresult is an int-sized enum.
static int suture_cuinit_called = 0;
static int suture_cuinit_result = 0;

int cuInit(unsigned int flags) {
	int (*real_init)(unsigned int) = (int (*)(unsigned int))dlsym(RTLD_NEXT, "cuInit");
	suture_cuinit_called = 1;
	suture_cuinit_result = real_init ? real_init(flags) : 3; // 3: CUDA_ERROR_NOT_INITIALIZED
	return 0;
}

static int suture_cuinit_status(void) { return suture_cuinit_called ? suture_cuinit_result : -1; }
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"time"
	"unsafe"

	"gorgonia.org/cu"

	"suture/kernels"
	"suture/kernels/cuda/launch"
)

func init() {
	kernels.Register("cuda", func() (kernels.Backend, error) { return New(launch.Options{}) })
}

// New returns the "cuda" backend on GPU 0.
func New(opt launch.Options) (*launch.Backend, error) {
	d, err := NewDriver()
	if err != nil {
		return nil, err
	}
	b, err := launch.New("cuda", d, opt)
	if err != nil {
		d.Close()
		return nil, err
	}
	return b, nil
}

// Driver implements launch.Driver with the CUDA driver API. All calls run on
// one goroutine locked to an OS thread, where the one CUDA context is current.
type Driver struct {
	work chan func()
	done chan struct{}

	dev    cu.Device
	ctx    cu.CUContext
	mod    cu.Module
	module ModuleInfo
	fns    map[string]cu.Function
	name   string
	sms    int
	l2     int
	mem    int64
	closed bool
}

// cuInitErrors explains the results of cuInit a machine without a usable GPU
// gives.
var cuInitErrors = map[int]string{
	3:   "CUDA_ERROR_NOT_INITIALIZED: libcuda has no cuInit",
	34:  "CUDA_ERROR_STUB_LIBRARY: the linked libcuda is a stub, not the driver",
	35:  "CUDA_ERROR_INSUFFICIENT_DRIVER: the NVIDIA driver is older than this CUDA",
	100: "CUDA_ERROR_NO_DEVICE: no CUDA-capable GPU is visible",
	101: "CUDA_ERROR_INVALID_DEVICE",
	999: "CUDA_ERROR_UNKNOWN: often a driver/kernel-module mismatch",
}

// ErrNoGPU is wrapped by New's error when no usable GPU or driver is present.
var ErrNoGPU = errors.New("no usable NVIDIA GPU")

// NewDriver initialises GPU 0: its context, on a dedicated locked OS thread,
// and the embedded PTX module.
func NewDriver() (*Driver, error) {
	if r := int(C.suture_cuinit_status()); r != 0 {
		why := cuInitErrors[r]
		if why == "" {
			why = fmt.Sprintf("error %d", r)
		}
		if r == -1 {
			why = "cuInit was never called"
		}
		return nil, fmt.Errorf("cuda: %w: cuInit failed: %s", ErrNoGPU, why)
	}
	d := &Driver{work: make(chan func()), done: make(chan struct{}), fns: map[string]cu.Function{}}
	started := make(chan error)
	go d.loop(started)
	if err := <-started; err != nil {
		return nil, err
	}
	return d, nil
}

// loop owns the OS thread the context is current on and runs every call.
func (d *Driver) loop(started chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(d.done)
	if err := d.open(); err != nil {
		started <- err
		return
	}
	started <- nil
	for f := range d.work {
		f()
	}
	d.mod.Unload()
	d.ctx.Destroy()
}

func (d *Driver) open() error {
	n, err := cu.NumDevices()
	if err != nil || n == 0 {
		return fmt.Errorf("cuda: %w: the driver reports %d devices (%v)", ErrNoGPU, n, err)
	}
	if d.dev, err = cu.GetDevice(0); err != nil {
		return fmt.Errorf("cuda: device 0: %w", err)
	}
	name, _ := d.dev.Name()
	major, minor, _ := d.dev.ComputeCapability()
	d.sms, _ = d.dev.Attribute(cu.MultiprocessorCount)
	d.l2, _ = d.dev.Attribute(cu.L2CacheSize)
	d.mem, _ = d.dev.TotalMem()
	d.name = fmt.Sprintf("%s (sm_%d%d, driver %d)", name, major, minor, cu.Version())
	if d.ctx, err = d.dev.MakeContext(cu.SchedAuto); err != nil {
		return fmt.Errorf("cuda: creating a context on %s: %w", d.name, err)
	}
	if d.mod, d.module, err = loadModule(major, minor); err != nil {
		d.ctx.Destroy()
		return fmt.Errorf("cuda: loading the kernels (CUDA 11.8) on %s: %w; the GPU must be sm_80 "+
			"or newer and the driver must know PTX ISA 7.8 (R520 or newer)", d.name, err)
	}
	return nil
}

// Module says which image of the kernels was loaded and how.
func (d *Driver) Module() ModuleInfo { return d.module }

// TotalMemory is the GPU's memory in bytes.
func (d *Driver) TotalMemory() int64 { return d.mem }

// do runs f on the context's thread and returns its error.
func (d *Driver) do(f func() error) error {
	if d.closed {
		return fmt.Errorf("cuda: the driver is closed")
	}
	errc := make(chan error, 1)
	d.work <- func() { errc <- f() }
	return <-errc
}

// Name implements launch.Driver.
func (d *Driver) Name() string { return d.name }

// Multiprocessors implements launch.Driver.
func (d *Driver) Multiprocessors() int { return d.sms }

// L2Bytes implements launch.Driver.
func (d *Driver) L2Bytes() int { return d.l2 }

// Alloc implements launch.Driver with cuMemAlloc (never managed memory).
func (d *Driver) Alloc(bytes int64) (launch.Ptr, error) {
	var p cu.DevicePtr
	err := d.do(func() (err error) {
		p, err = cu.MemAlloc(bytes)
		return err
	})
	if err == cu.OutOfMemory {
		return 0, fmt.Errorf("%w: cuMemAlloc of %d bytes: %v", launch.ErrOutOfMemory, bytes, err)
	}
	if err != nil {
		return 0, fmt.Errorf("cuMemAlloc of %d bytes: %w", bytes, err)
	}
	return launch.Ptr(p), nil
}

// Free implements launch.Driver.
func (d *Driver) Free(p launch.Ptr) error {
	return d.do(func() error { return cu.MemFree(cu.DevicePtr(p)) })
}

// CopyHtoD implements launch.Driver.
func (d *Driver) CopyHtoD(dst launch.Ptr, src unsafe.Pointer, bytes int64) error {
	return d.do(func() error { return cu.MemcpyHtoD(cu.DevicePtr(dst), src, bytes) })
}

// CopyDtoH implements launch.Driver.
func (d *Driver) CopyDtoH(dst unsafe.Pointer, src launch.Ptr, bytes int64) error {
	return d.do(func() error { return cu.MemcpyDtoH(dst, cu.DevicePtr(src), bytes) })
}

// CopyDtoD implements launch.Driver.
func (d *Driver) CopyDtoD(dst, src launch.Ptr, bytes int64) error {
	return d.do(func() error { return cu.MemcpyDtoD(cu.DevicePtr(dst), cu.DevicePtr(src), bytes) })
}

// Memset implements launch.Driver.
func (d *Driver) Memset(dst launch.Ptr, bytes int64) error {
	return d.do(func() error { return cu.MemsetD8(cu.DevicePtr(dst), 0, bytes) })
}

func (d *Driver) function(kernel string) (cu.Function, error) {
	if fn, ok := d.fns[kernel]; ok {
		return fn, nil
	}
	fn, err := d.mod.Function(kernel)
	if err != nil {
		return fn, fmt.Errorf("kernel %s is not in the embedded PTX (run make ptx): %w", kernel, err)
	}
	d.fns[kernel] = fn
	return fn, nil
}

// Launch implements launch.Driver. Every parameter is passed as a pointer to
// its 8-byte slot: cu's Launch copies 8 bytes from each.
func (d *Driver) Launch(kernel string, grid, block launch.Dim3, args *launch.Args) error {
	slots := args.Slots()
	return d.do(func() error {
		fn, err := d.function(kernel)
		if err != nil {
			return err
		}
		params := make([]unsafe.Pointer, len(slots))
		for i := range slots {
			params[i] = unsafe.Pointer(&slots[i])
		}
		return fn.Launch(grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, 0, cu.Stream{}, params)
	})
}

// Synchronize implements launch.Driver.
func (d *Driver) Synchronize() error { return d.do(cu.Synchronize) }

// Record implements launch.Driver with a CUDA event on the default stream.
func (d *Driver) Record() (launch.Event, error) {
	e := &event{d: d}
	err := d.do(func() (err error) {
		if e.ev, err = cu.MakeEvent(cu.DefaultEvent); err != nil {
			return err
		}
		return e.ev.Record(cu.Stream{})
	})
	return e, err
}

// Close implements launch.Driver: it unloads the module and destroys the
// context.
func (d *Driver) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	close(d.work)
	<-d.done
	return nil
}

type event struct {
	d  *Driver
	ev cu.Event
}

// Since implements launch.Event: the GPU time between start and e.
func (e *event) Since(start launch.Event) (time.Duration, error) {
	s, ok := start.(*event)
	if !ok {
		return 0, fmt.Errorf("cuda: event from another driver")
	}
	var ms float64
	err := e.d.do(func() (err error) {
		if err = e.ev.Synchronize(); err != nil {
			return err
		}
		ms, err = s.ev.Elapsed(e.ev)
		return err
	})
	return time.Duration(ms * float64(time.Millisecond)), err
}

// Close implements launch.Event.
func (e *event) Close() error {
	return e.d.do(func() error { return cu.DestroyEvent(&e.ev) })
}

var _ launch.Driver = (*Driver)(nil)
