package launch

import (
	"fmt"

	"suture/tensor"
)

// Buffer is device memory holding float32 elements: the tensor.DeviceMem of
// this backend. A Buffer from Alloc owns its allocation; Slice returns views
// that share it.
type Buffer struct {
	ptr   Ptr
	n     int // float32 elements
	alloc *allocation
	owner bool // false for views
}

// Len implements tensor.DeviceMem.
func (b *Buffer) Len() int { return b.n }

// Slice implements tensor.DeviceMem: elements [off, off+n) as a view.
// tensor.View checks the range; a bad one here is a programming error.
func (b *Buffer) Slice(off, n int) tensor.DeviceMem {
	if off < 0 || n < 0 || off+n > b.n {
		panic(fmt.Sprintf("launch: slice [%d,%d) of a %d-element buffer", off, off+n, b.n))
	}
	return &Buffer{ptr: b.ptr + Ptr(4*off), n: n, alloc: b.alloc}
}

// Ptr is the device address of the first element.
func (b *Buffer) Ptr() Ptr { return b.ptr }

// MaxElements bounds a tensor's size: the kernels index with 32-bit ints, and
// grid-stride loops must not overflow them.
const MaxElements = 1<<30 - 1
