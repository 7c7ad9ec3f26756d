// Package launchtest compares a device backend (the emulator's "cudaemu" or
// the GPU's "cuda") op by op with the plain CPU reference backend
// ("cpu-ref", kernels/cpu's ref_*.go functions) on seeded random inputs, at
// sizes around the tile and block cutoffs.
//
// Forward outputs start as NaN on both sides, so an element a kernel forgot
// to write fails; backward outputs start random, so a kernel that overwrites
// instead of accumulating fails. Every output tensor and every returned
// scalar is compared with |got - want| <= atol + rtol*|want|, with
// tolerances that grow with the length of the sums involved.
//
// Check returns the failures instead of failing a test, so the emulator's
// self-tests can run deliberately broken kernels and assert that they are
// caught.
package launchtest
