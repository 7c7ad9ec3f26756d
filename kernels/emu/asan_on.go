//go:build cudaemu && asan

package emu

// go build -asan adds -fsanitize=address to the C flags only; the kernels
// are C++.

// #cgo CXXFLAGS: -fsanitize=address -fno-omit-frame-pointer
import "C"

// asanBuild is true under go build -asan: kernels run under AddressSanitizer.
const asanBuild = true
