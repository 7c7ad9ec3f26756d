//go:build cudaemu

package cuda

import "embed"

// Sources holds the CUDA sources. The emulator compiles them through
// #include, which the go command does not track; embedding them here (and
// importing this package there) makes an edit of a .cu file rebuild it.
//
//go:embed *.cu *.cuh kernels.def
var Sources embed.FS
