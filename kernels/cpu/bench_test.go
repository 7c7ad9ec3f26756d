package cpu_test

import (
	"testing"

	"suture/kernels"
	"suture/kernels/kerneltest"
)

// BenchmarkCPU runs the backend benchmarks on the fast path ("cpu", all
// cores); `make bench` runs it.
func BenchmarkCPU(b *testing.B) {
	backend, err := kernels.Get("cpu")
	if err != nil {
		b.Fatal(err)
	}
	kerneltest.RunAllBenchmarks(b, backend)
}
