//go:build cudaemu

// emu_fault_leaky.cpp compiles elementwise.cu a second time with
// SUTURE_FAULT_LEAKY_RELU_BACKWARD (leaky_relu_backward uses half the slope),
// inside a namespace and with C++ linkage so the copy does not clash with the
// real kernels. Only leaky_relu_backward joins the table (variant 2): a build
// with this one kernel broken, which the GPU check script must fail and name
// (kernels/cuda/gpucheck).
#include "cuda_emu.h"
#include "emu_kernel_table.h"

#define SUTURE_KERNEL __global__
#define SUTURE_FAULT_LEAKY_RELU_BACKWARD 1
namespace fault_leaky_relu_backward {
#include "../cuda/elementwise.cu"
}  // namespace fault_leaky_relu_backward

namespace suture_emu {

extern const KernelInfo kernels_fault_leaky[] = {
    SUTURE_EMU_ENTRY(fault_leaky_relu_backward::leaky_relu_backward, "leaky_relu_backward", 2)
};
extern const int kernels_fault_leaky_count = sizeof(kernels_fault_leaky) / sizeof(kernels_fault_leaky[0]);

}  // namespace suture_emu
