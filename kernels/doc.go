// Package kernels defines the primitive op set of Suture (DESIGN.md section 3)
// as one Backend interface, the checks every backend runs before computing, and
// a registry of backends by name.
//
// Conventions, shared by every backend:
//   - Layout is NCHW float32; shapes are given in a comment beside each argument.
//   - Arguments are ordered outputs, then inputs, then scalars (llm.c).
//   - Forward ops overwrite their outputs. Backward ops ACCUMULATE (+=) into
//     their gradient outputs (dX, dW, dB, ...), so fan-out and parameter
//     gradients need no extra pass; callers zero gradient buffers once.
//   - A backend validates shapes with the Check* functions of this package and
//     returns an error naming the op and the shapes; it never panics on bad
//     input. A backend that lacks a case returns an error wrapping
//     ErrNotImplemented, and callers may fall back to the CPU reference.
package kernels
