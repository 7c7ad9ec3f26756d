package kernels_test

import (
	"fmt"
	"log"

	"suture/kernels"
	_ "suture/kernels/cpu" // registers the backends "cpu" and "cpu-ref"
)

// Get a backend by name and multiply two matrices with it. Tensors reach a
// backend through Alloc, Upload and Download, so the same code runs on a
// device backend ("cuda", built with -tags cuda).
func ExampleGet() {
	b, err := kernels.Get("cpu")
	if err != nil {
		log.Fatal(err)
	}
	a, _ := b.Alloc(2, 3) // (M, K)
	x, _ := b.Alloc(3, 2) // (K, N)
	c, _ := b.Alloc(2, 2) // (M, N)
	if err := b.Upload(a, []float32{1, 2, 3, 4, 5, 6}); err != nil {
		log.Fatal(err)
	}
	if err := b.Upload(x, []float32{1, 0, 0, 1, 1, 1}); err != nil {
		log.Fatal(err)
	}
	// c = 1*a*x + 0*c
	if err := b.Gemm(c, a, x, false, false, 1, 0); err != nil {
		log.Fatal(err)
	}
	out := make([]float32, 4)
	if err := b.Download(out, c); err != nil {
		log.Fatal(err)
	}
	fmt.Println(b.Name(), out)

	// Shapes are checked: an error names the op, never a panic.
	err = b.Gemm(c, a, a, false, false, 1, 0)
	fmt.Println(err != nil)
	// Output:
	// cpu [4 5 10 11]
	// true
}
