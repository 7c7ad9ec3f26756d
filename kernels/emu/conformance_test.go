//go:build cudaemu

package emu

import (
	"testing"

	"suture/kernels"
	"suture/kernels/kerneltest"
)

// TestConformance runs the conformance suite every backend passes on the
// emulated CUDA backend, as registered ("cudaemu").
func TestConformance(t *testing.T) {
	b, err := kernels.Get("cudaemu")
	if err != nil {
		t.Fatal(err)
	}
	defer b.(interface{ Close() error }).Close()
	kerneltest.RunAll(t, b)
}
