package segment_test

import (
	"fmt"
	"image"
	"image/color"
	"log"
	"os"
	"path/filepath"

	"suture/io/ckpt"
	"suture/kernels/cpu"
	"suture/segment"
	"suture/unet"
)

// fixture is a tiny nnU-Net v2 results folder (random weights) from
// testdata/nnunet/make_fixtures.py.
var fixture = filepath.Join("..", "testdata", "nnunet", "Dataset991_TinyPlain", "nnUNetTrainer__nnUNetPlans__2d")

// picture is a synthetic RGB image: a bright disc on a dark gradient.
func picture(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{uint8(40 + x/2), uint8(30 + y/2), 60, 255}
			if dx, dy := x-w/2, y-h/2; dx*dx+dy*dy < h*h/9 {
				c = color.RGBA{230, 180, 150, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

// Import an nnU-Net v2 model, save it as a Suture checkpoint, load it back
// and segment an image of any size in one call.
func Example() {
	b := cpu.New(0)
	defer cpu.StopHelpers() // end the backend's helper goroutines when done
	m, err := unet.ImportNNUNet(fixture, 0, "final", b)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "suture-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.ckpt")
	if err := unet.Save(path, m, nil, ckpt.RunInfo{Data: fixture}); err != nil {
		log.Fatal(err)
	}

	model, err := segment.Load(path, b, "")
	if err != nil {
		log.Fatal(err)
	}
	mask, err := model.Segment(picture(100, 70))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("mask size:", mask.Bounds().Size())
	fmt.Println("labels:", model.Inference.Labels)
	fmt.Println("patch:", model.Inference.PatchSize)
	// Output:
	// mask size: (100,70)
	// labels: [background polyp instrument]
	// patch: [32 32]
}

// Segment returns one class index per pixel; count how many pixels each
// class got.
func ExampleModel_Segment() {
	m, err := unet.ImportNNUNet(fixture, 0, "final", cpu.New(0))
	if err != nil {
		log.Fatal(err)
	}
	model := segment.FromUNet(m)
	model.Options.NoMirror = true // four times faster, a little less accurate
	mask, err := model.Segment(picture(48, 40))
	if err != nil {
		log.Fatal(err)
	}
	counts := make([]int, model.NumClasses)
	for _, c := range mask.Pix {
		counts[c]++
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	fmt.Println("pixels:", total, "classes:", len(counts))
	// Output:
	// pixels: 1920 classes: 3
}
