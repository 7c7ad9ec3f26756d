// Package gpucheck is the check of the CUDA backend that the GPU kit runs
// on a machine with a GPU (make gpu-kit, bin/gpu/gpu-check.sh; docs/gpu.md),
// and that CI runs against the CPU emulator (make gpu-check-emu).
//
// Its tests are the check's steps, each ending in a line "verdict: ok ..."
// or "verdict: FAIL ..." that gpu-check.sh collects:
//   - TestDevice: the device, the driver, and how the kernels' module
//     loaded (a failed load stops the check with the JIT's error log);
//   - TestKernels: every op against the CPU reference (launchtest), the
//     small cases at every launch geometry and, in the full profile, the
//     U-Net-sized ones at the default geometry; reductions run twice must
//     agree bitwise; a failing case names the kernels it launched;
//   - TestConformance: the conformance suite (kerneltest) op by op;
//   - TestSteps: a U-Net training step and a double-batched stitch step
//     (bench.UNetStep, bench.StitchStep) on the device against the CPU:
//     the loss and every parameter's gradient within the tolerance stated
//     in steps_test.go.
//
// The tests build with -tags cuda (backend "cuda", GPU 0) or -tags cudaemu
// (backend "cudaemu"; the environment variable SUTURE_EMU_FAULT plants a
// broken kernel, see emu.ParseFault). The flag -profile picks the sizes:
// full (the default with -tags cuda) or emu (the default with -tags
// cudaemu: small cases at one geometry, small steps). Without either tag
// the package has nothing to test.
//
// TestCheckScript* run gpu-check.sh itself against an emulator kit (make
// gpu-check-emu sets SUTURE_GPU_KIT): it must end in RESULT: PASS, in
// RESULT: FAIL naming the kernel when a kernel is broken on purpose, and in
// RESULT: FAIL within its budget when a step hangs (SUTURE_GPUCHECK_HANG)
// or the budget is too short.
package gpucheck
