//go:build cudaemu

package main

import _ "suture/kernels/emu" // registers the cudaemu backend (the CUDA kernels on the CPU) in -tags cudaemu builds
