// Package autograd is Suture's reverse-mode differentiation: a tape of
// vector-Jacobian products, one rule per primitive of package kernels.
//
// A Tape runs ops on a backend. When it is recording and an op has an input
// that requires a gradient, the op appends its backward rule to the tape;
// otherwise it computes the value only (no-grad regions cost nothing extra).
// Backward walks the tape in reverse, accumulating gradients (fan-out adds up
// because every backward kernel accumulates). Leaves that do not require a
// gradient, such as frozen parameters, get no gradient work at all.
//
// Memory: values and gradients made by a tape come from its Arena and return
// to it on Reset, so a training loop with fixed shapes allocates nothing after
// its first step. A value is valid until the tape's next Reset; clone what you
// keep longer.
package autograd
