package stitch_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"suture/kernels/cpu"
	"suture/stitch"
	"suture/tensor"
	"suture/unet"
)

// twoNets builds two small U-Nets of different widths for 16-pixel RGB
// images, as two parties might have trained them.
func twoNets() (*unet.Model, *unet.Model) {
	var nets []*unet.Model
	for i, features := range [][]int{{4, 8}, {6, 12}} {
		cfg, err := unet.Plan(16, 16, 3, 2) // a model keeps its *Config: one each
		if err != nil {
			log.Fatal(err)
		}
		cfg.FeaturesPerStage = features
		m, err := unet.NewModel(cpu.New(1), cfg, uint64(i+1))
		if err != nil {
			log.Fatal(err)
		}
		nets = append(nets, m)
	}
	return nets[0], nets[1]
}

// Join matches two networks' layers on an input size (an order-preserving
// alignment of their call orders by scale and progress) and puts a 1x1-conv
// stitch each way and a switch at every matched pair.
func ExampleJoin() {
	a, b := twoNets()
	s, err := stitch.Join(cpu.New(1), a, b, 3, 16, 16, "stage", stitch.DefaultMatchOptions(), 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pairs:", s.M.Pairs())
	for _, p := range s.Meta.Pairs {
		fmt.Printf("%d: %s %v <-> %s %v\n", p.Index, p.AName, p.AShape, p.BName, p.BShape)
	}
	// "all" offers every vertex output; "every:K" keeps every K-th of those.
	all, err := stitch.Join(cpu.New(1), a, b, 3, 16, 16, "all", stitch.DefaultMatchOptions(), 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pairs over all vertices:", all.M.Pairs())
	// Output:
	// pairs: 3
	// 0: enc0.act1 [4 16 16] <-> enc0.act1 [6 16 16]
	// 1: enc1.act1 [8 8 8] <-> enc1.act1 [12 8 8]
	// 2: dec0.act1 [4 16 16] <-> dec0.act1 [6 16 16]
	// pairs over all vertices: 20
}

// A Setting fixes every switch. The stitch-ensemble of pair k averages
// each network's own feature at k with the other's, stitched, and averages
// the two outputs.
func ExampleStitchEnsemble() {
	a, b := twoNets()
	s, err := stitch.Join(cpu.New(1), a, b, 3, 16, 16, "stage", stitch.DefaultMatchOptions(), 1)
	if err != nil {
		log.Fatal(err)
	}
	n := s.M.Pairs()
	for k := range n {
		set, err := stitch.StitchEnsemble(n, k)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("stitch-ensemble:%d = %v (%d stitches run)\n", k, set, s.M.ActiveStitches(set))
	}
	fmt.Println("ensemble =", stitch.Ensemble(n))
	fmt.Println("a =", stitch.NetA(n))

	set, _ := stitch.ParseNet("stitch-ensemble:1", n) // as the command line spells it
	x := tensor.NewRNG(1).Rand(2, 3, 16, 16)          // (N, C, H, W), normalised
	p, err := s.M.Probabilities(set, x, 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("class probabilities:", p.Shape)
	// Output:
	// stitch-ensemble:0 = out=mean,a0=average,b0=average (2 stitches run)
	// stitch-ensemble:1 = out=mean,a1=average,b1=average (2 stitches run)
	// stitch-ensemble:2 = out=mean,a2=average,b2=average (2 stitches run)
	// ensemble = out=mean
	// a = out=a
	// class probabilities: (2,2,16,16)
}

// Train the stitches (the base networks stay frozen) on unlabelled images,
// double-batched as in the paper, and save the stitched model; Load needs
// the loader of the base networks' package.
func ExampleTrainer_Fit() {
	a, b := twoNets()
	be := cpu.New(1)
	s, err := stitch.Join(be, a, b, 3, 16, 16, "stage", stitch.DefaultMatchOptions(), 1)
	if err != nil {
		log.Fatal(err)
	}
	opts := stitch.DefaultTrainOptions(stitch.Double)
	opts.Epochs, opts.BatchSize = 2, 4
	tr, err := stitch.NewTrainer(s.M, opts)
	if err != nil {
		log.Fatal(err)
	}
	images := tensor.NewRNG(2).Rand(8, 3, 16, 16) // no masks needed
	if err := tr.Fit(context.Background(), images); err != nil {
		log.Fatal(err)
	}
	fmt.Println("epochs:", tr.State.Epoch)

	dir, err := os.MkdirTemp("", "stitch-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "stitched.ckpt")
	if err := s.Save(path, tr); err != nil {
		log.Fatal(err)
	}
	l, err := stitch.Load(path, be, unet.LoadBase)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pairs:", l.M.Pairs(), "bases match:", l.CheckBases(a, b) == nil)
	fmt.Println("same stitches:", tensor.MaxAbsDiff(l.M.Params.Value.Data, s.M.Params.Value.Data) == 0)
	// Output:
	// epochs: 2
	// pairs: 3 bases match: true
	// same stitches: true
}
