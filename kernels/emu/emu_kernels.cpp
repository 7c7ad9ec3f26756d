//go:build cudaemu

// emu_kernels.cpp compiles the kernels of kernels/cuda, unmodified, for the
// emulator, and lists them (kernels.def) with thunks that unpack launch slots.
#include "cuda_emu.h"
#include "../cuda/module.cu"
#include "emu_kernel_table.h"

namespace suture_emu {

extern const KernelInfo kernels_main[] = {
#define SUTURE_ENTRY(name) SUTURE_EMU_ENTRY(name, #name, 0)
#define SUTURE_GEMM_ENTRIES(name)         \
  SUTURE_EMU_ENTRY(name##_s, #name "_s", 0) \
  SUTURE_EMU_ENTRY(name##_m, #name "_m", 0) \
  SUTURE_EMU_ENTRY(name##_l, #name "_l", 0)
#include "../cuda/kernels.def"
#undef SUTURE_ENTRY
#undef SUTURE_GEMM_ENTRIES
};
extern const int kernels_main_count = sizeof(kernels_main) / sizeof(kernels_main[0]);

}  // namespace suture_emu
