//go:build cudaemu

// emu_faults.cpp compiles gemm.cu a second time with SUTURE_FAULT_NO_TILE_SYNC
// (the barrier between filling a shared tile and reading it removed), inside a
// namespace and with C++ linkage so the copies do not clash with the real
// kernels. The emulator's self-test runs these (variant 1) and expects the
// comparisons with the CPU reference to fail: proof that the tests and the
// emulator catch a missing __syncthreads.
#include "cuda_emu.h"
#include "emu_kernel_table.h"

#define SUTURE_KERNEL __global__
#define SUTURE_FAULT_NO_TILE_SYNC 1
namespace fault_no_tile_sync {
#include "../cuda/gemm.cu"
}  // namespace fault_no_tile_sync

namespace suture_emu {

extern const KernelInfo kernels_faults[] = {
#define SUTURE_ENTRY(name)
#define SUTURE_GEMM_ENTRIES(name)                                     \
  SUTURE_EMU_ENTRY(fault_no_tile_sync::name##_s, #name "_s", 1)       \
  SUTURE_EMU_ENTRY(fault_no_tile_sync::name##_m, #name "_m", 1)       \
  SUTURE_EMU_ENTRY(fault_no_tile_sync::name##_l, #name "_l", 1)
#include "../cuda/kernels.def"
#undef SUTURE_ENTRY
#undef SUTURE_GEMM_ENTRIES
};
extern const int kernels_faults_count = sizeof(kernels_faults) / sizeof(kernels_faults[0]);

}  // namespace suture_emu
