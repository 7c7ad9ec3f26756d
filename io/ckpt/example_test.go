package ckpt_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"suture/io/ckpt"
	"suture/tensor"
)

// Save named tensors with JSON metadata, read them back, and see a
// corrupted file refused.
func ExampleWrite() {
	dir, err := os.MkdirTemp("", "ckpt-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.ckpt")

	w, _ := tensor.FromData([]float32{1, 2, 3, 4}, 2, 2)
	c := &ckpt.Checkpoint{Tensors: []ckpt.Named{{Name: "enc0.w", T: w}}}
	if err := c.SetMeta("kind", "toy"); err != nil {
		log.Fatal(err)
	}
	if err := c.SetMeta("epoch", 12); err != nil {
		log.Fatal(err)
	}
	if err := ckpt.Write(path, c); err != nil { // atomic: temporary file, then rename
		log.Fatal(err)
	}

	r, err := ckpt.Read(path)
	if err != nil {
		log.Fatal(err)
	}
	kind, _ := r.Kind()
	var epoch int
	if err := r.GetMeta("epoch", &epoch); err != nil {
		log.Fatal(err)
	}
	t, _ := r.Find("enc0.w")
	fmt.Println(kind, epoch, t)

	// Every file ends with a CRC-32C: a flipped bit is a *FormatError.
	raw, _ := os.ReadFile(path)
	raw[len(raw)/2] ^= 1
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		log.Fatal(err)
	}
	_, err = ckpt.Read(path)
	var fe *ckpt.FormatError
	fmt.Println("refused:", errors.As(err, &fe))
	// Output:
	// toy 12 tensor(2,2) [1 2 3 4]
	// refused: true
}
