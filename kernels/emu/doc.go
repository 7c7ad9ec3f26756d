// Package emu runs Suture's CUDA kernels on the CPU (build tag cudaemu), so
// they are built and tested on every commit on machines without a GPU.
//
// The .cu files of kernels/cuda are compiled, unmodified, by g++ (cgo, C++17)
// under cuda_emu.h, which maps the CUDA dialect onto C++: __shared__ becomes
// thread_local, the index variables thread-local dim3s, __syncthreads and the
// warp shuffles barriers of a small scheduler. Each thread block runs on one
// OS thread of a pool; its CUDA threads are cooperative fibers with their own
// mmap'd stacks and guard pages, switched by a few instructions of assembly.
// A fiber runs until it reaches a barrier, so execution is deterministic: a
// missing __syncthreads reads stale shared memory every time, a barrier that
// not every thread reaches is reported as a deadlock with its file and line,
// and a launch whose parameters do not match the kernel's signature fails.
//
// The Driver implements launch.Driver, so the backend registered as
// "cudaemu" runs exactly the launch code of the real "cuda" backend.
//
// Built with go test -asan, the kernels run under AddressSanitizer and every
// device buffer is a separate exact-size allocation: an out-of-bounds access
// in a kernel is reported with its .cu file and line.
package emu
