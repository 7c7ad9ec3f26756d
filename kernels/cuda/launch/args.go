package launch

import "math"

// maxArgs bounds a kernel's parameter count (the convolutions take 17).
const maxArgs = 24

// Args holds a launch's parameters, one 8-byte slot each, in the kernel's
// order. gorgonia.org/cu's Launch reads 8 bytes behind every parameter
// pointer, so even 4-byte ints and floats get a whole slot: the kernel reads
// the low 4 bytes (little-endian). Kinds records each slot's C type so the
// emulator can check the launch against the kernel's signature.
type Args struct {
	n     int
	slots [maxArgs]uint64
	kinds [maxArgs]byte
}

// Len is the number of parameters.
func (a *Args) Len() int { return a.n }

// Slots returns the parameter slots.
func (a *Args) Slots() []uint64 { return a.slots[:a.n] }

// Kinds returns one letter per parameter: 'p' pointer, 'i' int, 'f' float.
func (a *Args) Kinds() []byte { return a.kinds[:a.n] }

func (a *Args) add(v uint64, kind byte) *Args {
	if a.n == maxArgs {
		panic("launch: more than 24 kernel parameters") // a programming error in this package
	}
	a.slots[a.n], a.kinds[a.n] = v, kind
	a.n++
	return a
}

// Ptr appends a device pointer (0 for a null pointer).
func (a *Args) Ptr(p Ptr) *Args { return a.add(uint64(p), 'p') }

// Int appends a C int. Callers keep values within int32 (sizes are limited
// to MaxElements).
func (a *Args) Int(v int) *Args { return a.add(uint64(uint32(int32(v))), 'i') }

// Bool appends a C int that is 1 for true.
func (a *Args) Bool(v bool) *Args {
	if v {
		return a.Int(1)
	}
	return a.Int(0)
}

// Float appends a C float.
func (a *Args) Float(v float32) *Args { return a.add(uint64(math.Float32bits(v)), 'f') }
