// module.cu: the one translation unit make ptx compiles (one PTX module, one
// cuModuleLoadData) and the emulator includes. Every kernel file is listed
// here; kernels.def lists every entry point.
#include "elementwise.cu"
#include "optim.cu"
#include "reduce.cu"
#include "norm.cu"
#include "loss.cu"
#include "gemm.cu"
