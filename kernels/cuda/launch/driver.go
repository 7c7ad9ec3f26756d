package launch

import (
	"errors"
	"fmt"
	"unsafe"

	"suture/kernels"
)

// Ptr is a device address (a CUdeviceptr; a host address in the emulator).
type Ptr uint64

// Dim3 is a grid or block shape.
type Dim3 struct{ X, Y, Z int }

func (d Dim3) String() string { return fmt.Sprintf("%dx%dx%d", d.X, d.Y, d.Z) }

// ErrOutOfMemory is wrapped by a Driver's Alloc when the device is full; the
// memory pool then releases its cached blocks and tries again.
var ErrOutOfMemory = errors.New("out of device memory")

// Driver runs kernels and moves memory for one device. Every call is ordered
// after the previous ones, as on one CUDA stream. Implementations: the CUDA
// driver API (kernels/cuda) and the CPU emulator (kernels/emu).
type Driver interface {
	// Name describes the device for messages, e.g. "NVIDIA A100 (sm_80)".
	Name() string
	// Multiprocessors is the number of SMs (emulator: worker threads); grid
	// sizes are chosen to fill them.
	Multiprocessors() int
	// L2Bytes is the size of the device's L2 cache (for flushing it between
	// timed repeats).
	L2Bytes() int

	// Alloc returns bytes of uninitialised device memory; an error wraps
	// ErrOutOfMemory when the device is full.
	Alloc(bytes int64) (Ptr, error)
	// Free releases memory from Alloc.
	Free(p Ptr) error
	// CopyHtoD copies bytes from host memory at src to dst.
	CopyHtoD(dst Ptr, src unsafe.Pointer, bytes int64) error
	// CopyDtoH copies bytes from src to host memory at dst and waits for it.
	CopyDtoH(dst unsafe.Pointer, src Ptr, bytes int64) error
	// CopyDtoD copies bytes between device buffers.
	CopyDtoD(dst, src Ptr, bytes int64) error
	// Memset sets bytes of device memory to zero.
	Memset(dst Ptr, bytes int64) error

	// Launch runs kernel (a name from KernelNames) on grid x block threads
	// with the parameters in args. Errors in the kernel's execution may be
	// reported here or by a later call (the GPU runs asynchronously).
	Launch(kernel string, grid, block Dim3, args *Args) error
	// Synchronize waits for all launched work and reports its errors.
	Synchronize() error
	// Record marks the current point of the launch stream, for timing.
	Record() (Event, error)
	// Close releases the device; the driver is unusable afterwards.
	Close() error
}

// Event is a recorded point of the launch stream: kernels.Event, so
// profilers time launches without this package.
type Event = kernels.Event
