// Package cuda holds Suture's hand-written CUDA kernels (*.cu, compiled to
// the committed PTX by make ptx) and, with the build tag cuda, the backend
// "cuda" that runs them on an NVIDIA GPU through gorgonia.org/cu. It is the
// only package that imports gorgonia.org/cu, and only under that tag:
// cu's package initialisation calls cuInit and would end any process on a
// machine without a GPU, so binaries built without -tags cuda never link it.
//
// The launch code (geometry, argument packing, memory pool) lives in the
// pure-Go package launch and is shared with the CPU emulator (kernels/emu,
// build tag cudaemu), which runs these same .cu files. docs/gpu.md says how
// to build, carry and run the GPU tests and benchmarks.
package cuda
