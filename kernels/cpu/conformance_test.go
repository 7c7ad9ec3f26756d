package cpu_test

import (
	"testing"

	"suture/kernels"
	"suture/kernels/cpu"
	"suture/kernels/kerneltest"
)

// TestConformance runs the backend conformance suite on the registered cpu
// backends and on the fast path with one thread and with an odd count, so
// the work splits differently from GOMAXPROCS.
func TestConformance(t *testing.T) {
	for _, name := range []string{"cpu", "cpu-ref"} {
		t.Run(name, func(t *testing.T) {
			b, err := kernels.Get(name)
			if err != nil {
				t.Fatal(err)
			}
			kerneltest.RunAll(t, b)
		})
	}
	for _, threads := range []int{1, 3} {
		t.Run("cpu-threads"+string(rune('0'+threads)), func(t *testing.T) {
			kerneltest.RunAll(t, cpu.New(threads))
		})
	}
}
