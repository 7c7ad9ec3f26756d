package cpu_test

import (
	"fmt"
	"log"

	"suture/kernels"
	"suture/kernels/cpu"
	"suture/tensor"
)

// A 3x3 convolution of ones over a 4x4 image of ones, zero-padded: each
// output counts the image pixels under the kernel. The CPU backends take
// host tensors directly.
func ExampleNew() {
	b := cpu.New(1)         // the fast path on one thread (0: every core)
	defer cpu.StopHelpers() // end the helper goroutines (a later op restarts them)

	x := tensor.New(1, 1, 4, 4) // (N, C, H, W)
	w := tensor.New(1, 1, 3, 3) // (Co, Ci, KH, KW)
	for i := range x.Data {
		x.Data[i] = 1
	}
	for i := range w.Data {
		w.Data[i] = 1
	}
	y := tensor.New(1, 1, 4, 4)
	if err := b.Conv2d(y, x, w, nil, kernels.Conv(1, 1)); err != nil { // stride 1, pad 1
		log.Fatal(err)
	}
	for r := range 4 {
		fmt.Println(y.Data[r*4 : r*4+4])
	}
	// Output:
	// [4 6 6 4]
	// [6 9 9 6]
	// [6 9 9 6]
	// [4 6 6 4]
}
