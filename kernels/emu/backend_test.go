//go:build cudaemu

package emu

import (
	"testing"

	"suture/kernels/cuda/launch/launchtest"
)

// TestKernelsMatchReference runs every op of the emulated CUDA backend
// against the CPU reference at every launch geometry.
func TestKernelsMatchReference(t *testing.T) {
	for _, geo := range launchtest.Geometries() {
		t.Run(geo.Name, func(t *testing.T) {
			b, err := NewBackend(Options{}, geo.Options)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			errs := launchtest.Check(b, launchtest.Options{})
			for _, err := range errs {
				t.Error(err)
			}
			t.Logf("%d cases, %d failed", launchtest.CaseCount(launchtest.Options{}), len(errs))
		})
	}
}

// TestReductionsAreDeterministic runs every reduction twice at a geometry
// with split-K and several chunks per group and compares the bits.
func TestReductionsAreDeterministic(t *testing.T) {
	geo := launchtest.Geometries()[1]
	b, err := NewBackend(Options{}, geo.Options)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, err := range launchtest.CheckDeterminism(b, launchtest.Options{}) {
		t.Error(err)
	}
}
