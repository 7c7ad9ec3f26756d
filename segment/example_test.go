package segment_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"log"
	"os"
	"path/filepath"

	"suture/io/ckpt"
	"suture/io/imageset"
	"suture/kernels/cpu"
	"suture/segment"
	"suture/stitch"
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

// Train a small U-Net of Suture's own on synthetic 32-pixel images, save
// it, and segment an image of another size with the loaded model: it runs
// at its training size and returns a mask of the input's size.
func ExampleLoad() {
	b := cpu.New(1)
	ds, err := imageset.Synth("a", 8, 32, 1)
	if err != nil {
		log.Fatal(err)
	}
	var train []unet.Input
	for _, s := range ds.Samples {
		train = append(train, unet.Input{Name: s.Name, Image: s.Image, Mask: s.Mask})
	}
	cfg, _ := unet.Plan(32, 32, 3, 2)
	cfg.FeaturesPerStage = []int{4, 8, 16}
	m, err := unet.NewModel(b, cfg, 1)
	if err != nil {
		log.Fatal(err)
	}
	opts := unet.DefaultTrainOptions()
	opts.Epochs, opts.BatchSize = 1, 4
	tr, err := unet.NewTrainer(m, opts)
	if err != nil {
		log.Fatal(err)
	}
	if err := tr.Fit(context.Background(), train, nil); err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "segment-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.ckpt")
	if err := unet.Save(path, m, tr, ckpt.RunInfo{Data: "synth:a:8:32"}); err != nil {
		log.Fatal(err)
	}

	model, err := segment.Load(path, b, "") // "": not a stitched model
	if err != nil {
		log.Fatal(err)
	}
	mask, err := model.Segment(picture(90, 60))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(model.Name, "trained at", model.Inference.ImageSize)
	fmt.Println("mask size:", mask.Bounds().Size())
	// Output:
	// U-Net trained at [32 32]
	// mask size: (90,60)
}

// A stitched checkpoint holds several networks: net picks one, here the
// stitch-ensemble of the last matched pair.
func ExampleLoad_stitched() {
	b := cpu.New(1)
	var nets []*unet.Model
	for i, features := range [][]int{{4, 8}, {6, 12}} { // two different U-Nets
		cfg, _ := unet.Plan(16, 16, 3, 2) // a model keeps its *Config: one each
		cfg.FeaturesPerStage = features
		m, err := unet.NewModel(b, cfg, uint64(i+1))
		if err != nil {
			log.Fatal(err)
		}
		m.Inference = unet.NativeInference(cfg, 16, 16) // as training records it
		nets = append(nets, m)
	}
	s, err := stitch.Join(b, nets[0], nets[1], 3, 16, 16, "stage", stitch.DefaultMatchOptions(), 1)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "segment-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "stitched.ckpt")
	if err := s.Save(path, nil); err != nil { // untrained stitches, for brevity
		log.Fatal(err)
	}

	net := fmt.Sprintf("stitch-ensemble:%d", s.M.Pairs()-1)
	model, err := segment.Load(path, b, net)
	if err != nil {
		log.Fatal(err)
	}
	mask, err := model.Segment(picture(40, 30))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(net, "->", model.Name)
	fmt.Println("mask size:", mask.Bounds().Size())
	// Output:
	// stitch-ensemble:2 -> stitched network out=mean,a2=average,b2=average
	// mask size: (40,30)
}
