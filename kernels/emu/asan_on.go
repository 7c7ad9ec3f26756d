//go:build cudaemu && asan

package emu

// asanBuild is true under go build -asan: kernels run under AddressSanitizer.
const asanBuild = true
