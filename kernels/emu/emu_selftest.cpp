//go:build cudaemu

// emu_selftest.cpp compiles selftest_kernels.cu into the emulator's table.
#include "cuda_emu.h"
#include "selftest_kernels.cu"
#include "emu_kernel_table.h"

namespace suture_emu {

extern const KernelInfo kernels_selftest[] = {
    SUTURE_EMU_ENTRY(selftest_early_exit, "selftest_early_exit", 0)
    SUTURE_EMU_ENTRY(selftest_divergent_sync, "selftest_divergent_sync", 0)
    SUTURE_EMU_ENTRY(selftest_write_past_end, "selftest_write_past_end", 0)
    SUTURE_EMU_ENTRY(selftest_warp_sums, "selftest_warp_sums", 0)
    SUTURE_EMU_ENTRY(selftest_block_sum, "selftest_block_sum", 0)
    SUTURE_EMU_ENTRY(selftest_thread_ids, "selftest_thread_ids", 0)
    SUTURE_EMU_ENTRY(selftest_barriers, "selftest_barriers", 0)
};
extern const int kernels_selftest_count = sizeof(kernels_selftest) / sizeof(kernels_selftest[0]);

}  // namespace suture_emu
