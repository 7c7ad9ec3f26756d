package safetensors_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"suture/io/ckpt"
	"suture/io/safetensors"
	"suture/tensor"
)

// Write named tensors with string metadata to a .safetensors file and read
// them back (the format PyTorch's safetensors package reads).
func ExampleWriteFile() {
	dir, err := os.MkdirTemp("", "safetensors-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "weights.safetensors")

	w, _ := tensor.FromData([]float32{1, -1, 2, -2, 3, -3}, 2, 3)
	b, _ := tensor.FromData([]float32{0.25, 0.5}, 2)
	tensors := []ckpt.Named{{Name: "layer.weight", T: w}, {Name: "layer.bias", T: b}}
	if err := safetensors.WriteFile(path, tensors, map[string]string{"note": "example"}); err != nil {
		log.Fatal(err)
	}

	f, err := safetensors.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range f.Tensors { // in file order
		fmt.Println(t.Name, t.T)
	}
	fmt.Println("note:", f.Metadata["note"])
	if bias, ok := f.Get("layer.bias"); ok {
		fmt.Println("bias:", bias.Data)
	}
	// Output:
	// layer.weight tensor(2,3) [1 -1 2 -2 3 -3]
	// layer.bias tensor(2) [0.25 0.5]
	// note: example
	// bias: [0.25 0.5]
}
