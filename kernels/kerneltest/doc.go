// Package kerneltest is the conformance suite every kernels.Backend must pass
// (cpu, cpu-ref, and the CUDA emulator and CUDA backends later), and the
// benchmarks every backend runs.
//
// RunAll(t, backend) runs one subtest per method of kernels.Backend. Each
// compares the backend, on seeded random inputs at sizes around the usual
// blocking cutoffs, with the suite's own float64 references (written here,
// independent of any backend), and checks:
//   - forward outputs are poisoned with NaN before the call, so an element a
//     kernel forgot to write fails;
//   - backward ops accumulate: gradient outputs are pre-filled with random
//     values and must equal prefill + contribution;
//   - every backward op agrees with central finite differences of the float64
//     reference forward (small shapes), not only with the analytic reference;
//   - inputs are left unchanged;
//   - bad arguments (nil tensors, mismatched shapes, wrong rank, out-of-range
//     class targets, empty batches) return an error and never panic.
//
// Tensors reach the backend only through Alloc, Upload and Download, so device
// backends run the suite unchanged.
//
// Results are compared with |got - want| <= atol + rtol*|want| (tensor.Close),
// with tolerances that grow with the square root of the number of float32
// terms summed into each element, so FMA and reordered reductions pass while a
// misplaced term, a wrong epsilon, or TF32-rounded inputs do not.
//
// A backend may decline a case by returning an error wrapping
// kernels.ErrNotImplemented (DESIGN.md section 3) if it lists the op among
// its unsupported ones (kernels.Limited): the case is then skipped, not
// failed, and RunAll logs how many were declined. A declined case of an op
// the backend does not list fails, so a backend that declined everything
// would not pass.
//
// The checks report through Reporter, the part of *testing.T they use, so the
// suite's own tests can run it against deliberately broken backends and record
// what it catches.
package kerneltest
