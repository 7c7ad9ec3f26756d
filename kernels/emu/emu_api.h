// emu_api.h: the C interface of the CUDA emulator, called from emu.go.
// Device pointers are host addresses carried as uint64_t, like CUdeviceptr.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// suture_emu_init starts the worker threads (blocks run in parallel on them);
// calls after the first keep the first thread count.
void suture_emu_init(int threads);
// suture_emu_lookup returns the index of kernel name in the given variant
// (0: the kernels as written; 1: built with SUTURE_FAULT_NO_TILE_SYNC; 2:
// leaky_relu_backward built with SUTURE_FAULT_LEAKY_RELU_BACKWARD), falling
// back to variant 0, or -1 when there is no such kernel.
int suture_emu_lookup(const char* name, int variant);
// suture_emu_kernel_count and suture_emu_kernel_name list the variant-0
// kernels of kernels.def (not the emulator's self-test kernels).
int suture_emu_kernel_count(void);
const char* suture_emu_kernel_name(int i);
// suture_emu_launch runs kernel on the grid and waits for it. args holds one
// 8-byte slot per parameter; kinds names their types ('p' pointer, 'i' int,
// 'f' float, 'd' double, 'l' long long). It returns 0, or 1 with a message in
// err (deadlock, bad geometry, parameter mismatch).
int suture_emu_launch(int kernel, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                      unsigned shared_bytes, const uint64_t* args, int nargs, const char* kinds, char* err,
                      int errlen);

// Device memory: exact-size allocations (so AddressSanitizer sees every
// overrun), filled with 0xff bytes (NaN) so reads of unwritten memory show.
uint64_t suture_emu_alloc(size_t bytes);
void suture_emu_free(uint64_t p);
void suture_emu_copy_htod(uint64_t dst, const void* src, size_t bytes);
void suture_emu_copy_dtoh(void* dst, uint64_t src, size_t bytes);
void suture_emu_copy_dtod(uint64_t dst, uint64_t src, size_t bytes);
void suture_emu_memset(uint64_t dst, int value, size_t bytes);

#ifdef __cplusplus
}
#endif
