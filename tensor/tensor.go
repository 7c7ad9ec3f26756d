package tensor

import (
	"errors"
	"fmt"
	"strings"
)

// Shape lists the dimensions of a tensor, outermost first.
type Shape []int

// Numel is the number of elements; 1 for a scalar (empty shape).
func (s Shape) Numel() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Equal reports whether s and o have the same dimensions.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy that does not alias s.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

// String formats the shape as (d0,d1,...), the form used in error messages.
func (s Shape) String() string {
	var b strings.Builder
	b.WriteByte('(')
	for i, d := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, d)
	}
	b.WriteByte(')')
	return b.String()
}

// Validate returns an error when a dimension is negative or the element count
// overflows what a slice can hold.
func (s Shape) Validate() error {
	n := 1
	for _, d := range s {
		if d < 0 {
			return fmt.Errorf("shape %v: negative dimension", s)
		}
		if d != 0 && n > maxElems/d {
			return fmt.Errorf("shape %v: too many elements", s)
		}
		n *= d
	}
	return nil
}

const maxElems = 1 << 40

// DeviceMem is memory owned by a device backend (for example a CUDA buffer).
// Host code never reads it directly; the backend that made it copies it.
type DeviceMem interface {
	// Len is the number of float32 elements.
	Len() int
	// Slice returns a view of elements [off, off+n).
	Slice(off, n int) DeviceMem
}

// Tensor is a float32 array with a shape.
type Tensor struct {
	// Shape of the tensor, outermost dimension first.
	Shape Shape
	// Data holds the elements in row-major order when the tensor lives on the
	// host: for shape (N, C, H, W), element (n, c, h, w) is at
	// Data[((n*C+c)*H+h)*W+w]. len(Data) == Shape.Numel(). Nil for device tensors.
	Data []float32
	// Dev holds the elements when the tensor lives on a device; nil on the host.
	Dev DeviceMem
}

// ErrNil is returned when a required tensor is nil.
var ErrNil = errors.New("nil tensor")

// New returns a zeroed host tensor. It panics on a negative dimension, as
// make does; use NewChecked for shapes that come from outside the program.
func New(shape ...int) *Tensor {
	s := Shape(shape).Clone()
	return &Tensor{Shape: s, Data: make([]float32, s.Numel())}
}

// NewChecked is New for shapes read from files or users: bad shapes give an error.
func NewChecked(shape ...int) (*Tensor, error) {
	if err := Shape(shape).Validate(); err != nil {
		return nil, err
	}
	return New(shape...), nil
}

// FromData wraps data (not copied) as a host tensor of the given shape.
func FromData(data []float32, shape ...int) (*Tensor, error) {
	s := Shape(shape)
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(data) != s.Numel() {
		return nil, fmt.Errorf("tensor: %d values do not fill shape %v (%d elements)", len(data), s, s.Numel())
	}
	return &Tensor{Shape: s.Clone(), Data: data}, nil
}

// Numel is the number of elements.
func (t *Tensor) Numel() int { return t.Shape.Numel() }

// OnHost reports whether the data is in host memory.
func (t *Tensor) OnHost() bool { return t.Dev == nil }

// Dim returns dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.Shape)
	}
	return t.Shape[i]
}

// Reshape returns a view with a new shape and the same data.
func (t *Tensor) Reshape(shape ...int) (*Tensor, error) {
	s := Shape(shape)
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.Numel() != t.Numel() {
		return nil, fmt.Errorf("reshape: %v (%d elements) to %v (%d elements)", t.Shape, t.Numel(), s, s.Numel())
	}
	return &Tensor{Shape: s.Clone(), Data: t.Data, Dev: t.Dev}, nil
}

// View returns elements [off, off+numel(shape)) as a tensor of the given shape,
// sharing memory with t. It is how parameters become views of one flat buffer.
func (t *Tensor) View(off int, shape ...int) (*Tensor, error) {
	s := Shape(shape)
	if err := s.Validate(); err != nil {
		return nil, err
	}
	n := s.Numel()
	if off < 0 || off+n > t.Numel() {
		return nil, fmt.Errorf("view: [%d,%d) outside tensor %v", off, off+n, t.Shape)
	}
	v := &Tensor{Shape: s.Clone()}
	if t.Dev != nil {
		v.Dev = t.Dev.Slice(off, n)
	} else {
		v.Data = t.Data[off : off+n : off+n]
	}
	return v, nil
}

// Clone returns a deep copy of a host tensor.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{Shape: t.Shape.Clone(), Dev: t.Dev}
	if t.Data != nil {
		c.Data = append([]float32(nil), t.Data...)
	}
	return c
}

// String summarises the tensor for debugging: shape and the first values.
func (t *Tensor) String() string {
	if t == nil {
		return "<nil tensor>"
	}
	if t.Dev != nil {
		return fmt.Sprintf("tensor%v on device", t.Shape)
	}
	n := min(len(t.Data), 6)
	more := ""
	if len(t.Data) > n {
		more = " ..."
	}
	return fmt.Sprintf("tensor%v %v%s", t.Shape, t.Data[:n], more)
}

// ShapeOf is t's shape, or nil for a nil tensor (for error messages about
// arguments that may be missing).
func ShapeOf(t *Tensor) Shape {
	if t == nil {
		return nil
	}
	return t.Shape
}
