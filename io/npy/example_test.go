package npy_test

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"suture/io/npy"
	"suture/tensor"
)

// Write a tensor as a .npy file (what numpy.load reads) and read it back.
func ExampleWriteFile() {
	dir, err := os.MkdirTemp("", "npy-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "x.npy")

	x, _ := tensor.FromData([]float32{0, 0.5, 1, 1.5, 2, 2.5}, 1, 2, 3)
	if err := npy.WriteFile(path, x); err != nil {
		log.Fatal(err)
	}
	y, err := npy.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(y)
	fmt.Println("same:", tensor.MaxAbsDiff(x.Data, y.Data) == 0)
	// Output:
	// tensor(1,2,3) [0 0.5 1 1.5 2 2.5]
	// same: true
}

// Write streams the same format to any io.Writer: a 10-byte preamble,
// NumPy's header dict, then the little-endian float32 data.
func ExampleWrite() {
	x, _ := tensor.FromData([]float32{1, 2, 3, 4}, 2, 2)
	var buf bytes.Buffer
	if err := npy.Write(&buf, x); err != nil {
		log.Fatal(err)
	}
	raw := buf.Bytes()
	header := strings.TrimSpace(string(raw[10 : len(raw)-4*x.Numel()]))
	fmt.Printf("%q\n", raw[:6])
	fmt.Println(header)

	y, err := npy.Read(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(y)
	// Output:
	// "\x93NUMPY"
	// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }
	// tensor(2,2) [1 2 3 4]
}
