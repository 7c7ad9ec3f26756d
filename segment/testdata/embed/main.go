// Command embed is the smallest program that segments an image through
// Suture's embedding API (package segment); segment's tests build it to
// check what it links and how large it is.
package main

import (
	"fmt"
	"image"
	_ "image/jpeg"
	"image/png"
	"os"

	"suture/kernels/cpu"
	"suture/segment"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: embed MODEL.ckpt IMAGE MASK.png")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(model, in, out string) error {
	m, err := segment.Load(model, cpu.New(0), "")
	if err != nil {
		return err
	}
	defer cpu.StopHelpers()
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	img, _, err := image.Decode(f)
	f.Close()
	if err != nil {
		return err
	}
	mask, err := m.Segment(img)
	if err != nil {
		return err
	}
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := png.Encode(w, mask); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
