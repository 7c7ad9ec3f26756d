// Package launch is the Go half of Suture's CUDA backend: a kernels.Backend
// that keeps tensors in device memory and runs every op as launches of the
// kernels in kernels/cuda/*.cu. It does not talk to a GPU itself: it drives a
// Driver, and two implement it:
//
//   - kernels/cuda (build tag cuda) on an NVIDIA GPU through gorgonia.org/cu,
//     loading the PTX that make ptx generated from the .cu files;
//   - kernels/emu (build tag cudaemu) on the CPU, running the same .cu files
//     compiled by g++ under an emulation of the CUDA execution model.
//
// Both run the same launch code (grid sizes, tile choice, argument order), so
// the emulator's tests cover it on machines without a GPU.
//
// The package is pure Go and always built; with neither tag nothing uses it.
//
// Conventions of the kernels.Backend contract hold: forward ops overwrite,
// backward ops accumulate (+=) into gradients. Reductions are deterministic
// (two passes, fixed order, no float atomics), so a result depends on the
// launch geometry (Options) but never on timing.
package launch
