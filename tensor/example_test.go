package tensor_test

import (
	"fmt"
	"log"

	"suture/tensor"
)

// A tensor is a shape and a flat, row-major []float32: in an (N, C, H, W)
// tensor, element (n, c, h, w) lives at Data[((n*C+c)*H+h)*W+w].
func ExampleFromData() {
	x, err := tensor.FromData([]float32{1, 2, 3, 4, 5, 6}, 1, 2, 1, 3) // (N, C, H, W)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(x)
	fmt.Println("elements:", x.Numel(), "channels:", x.Dim(1))
	c, h, w := 1, 0, 2 // element (0, 1, 0, 2)
	fmt.Println("x[0,1,0,2] =", x.Data[(c*x.Dim(2)+h)*x.Dim(3)+w])

	// Reshape shares the data; Clone copies it.
	y, err := x.Reshape(2, 3)
	if err != nil {
		log.Fatal(err)
	}
	y.Data[0] = 10
	fmt.Println(y.Shape, "x.Data[0] =", x.Data[0])

	// A length that does not match the shape is an error, not a panic.
	_, err = tensor.FromData([]float32{1, 2, 3}, 2, 2)
	fmt.Println(err != nil)
	// Output:
	// tensor(1,2,1,3) [1 2 3 4 5 6]
	// elements: 6 channels: 2
	// x[0,1,0,2] = 6
	// (2,3) x.Data[0] = 10
	// true
}
