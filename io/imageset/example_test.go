package imageset_test

import (
	"fmt"
	"log"
	"os"
	"slices"

	"suture/io/imageset"
)

// Synth makes the embedded synthetic data of party "a" or "b": RGB images
// with whole-number values 0..255 and binary masks, the same on every
// machine for a given seed.
func ExampleSynth() {
	ds, err := imageset.Synth("a", 4, 32, 1)
	if err != nil {
		log.Fatal(err)
	}
	s := ds.Samples[0]
	fmt.Println("samples:", ds.Len(), "classes:", ds.Classes)
	fmt.Println("image:", s.Image.Shape, "mask:", s.Mask.Shape)
	fg := 0
	for _, v := range s.Mask.Data {
		if v == 1 {
			fg++
		}
	}
	fmt.Println("foreground between 5% and 30%:", fg*100 >= 5*32*32 && fg*100 <= 30*32*32)
	// Output:
	// samples: 4 classes: 2
	// image: (3,32,32) mask: (1,32,32)
	// foreground between 5% and 30%: true
}

// WriteFolderPair writes a dataset as images/ + masks/ PNGs and an
// index.csv; Open reads any supported layout back.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "imageset-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ds, err := imageset.Synth("b", 3, 16, 7)
	if err != nil {
		log.Fatal(err)
	}
	if err := imageset.WriteFolderPair(dir, ds.Samples); err != nil {
		log.Fatal(err)
	}
	back, err := imageset.Open(dir, imageset.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(back.Layout, back.Len(), back.Samples[0].Image.Shape, back.Classes)
	same := fmt.Sprint(back.Names()) == fmt.Sprint(ds.Names())
	for i, s := range back.Samples {
		same = same && slices.Equal(s.Image.Data, ds.Samples[i].Image.Data) && slices.Equal(s.Mask.Data, ds.Samples[i].Mask.Data)
	}
	fmt.Println("same names, pixels and masks:", same)
	// Output:
	// folder-pair 3 (3,16,16) 2
	// same names, pixels and masks: true
}
