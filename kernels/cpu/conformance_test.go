package cpu_test

import (
	"testing"

	"suture/kernels"
	"suture/kernels/cpu"
	"suture/kernels/kerneltest"
)

// TestConformance runs the backend conformance suite on the registered cpu
// backends, the fast one on every instruction-set path this CPU has, and on
// the fast path with one thread and with an odd count, so the work splits
// differently from GOMAXPROCS.
func TestConformance(t *testing.T) {
	saved := cpu.CurrentISA()
	defer cpu.SetISA(saved)
	for _, isa := range cpu.ISAs() {
		if err := cpu.SetISA(isa); err != nil {
			t.Fatal(err)
		}
		t.Run("cpu-"+string(isa), func(t *testing.T) {
			b, err := kernels.Get("cpu")
			if err != nil {
				t.Fatal(err)
			}
			kerneltest.RunAll(t, b)
		})
	}
	if err := cpu.SetISA(saved); err != nil {
		t.Fatal(err)
	}
	t.Run("cpu-ref", func(t *testing.T) {
		b, err := kernels.Get("cpu-ref")
		if err != nil {
			t.Fatal(err)
		}
		kerneltest.RunAll(t, b)
	})
	for _, threads := range []int{1, 3} {
		t.Run("cpu-threads"+string(rune('0'+threads)), func(t *testing.T) {
			kerneltest.RunAll(t, cpu.New(threads))
		})
	}
}
