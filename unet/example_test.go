package unet_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"suture/io/ckpt"
	"suture/io/imageset"
	"suture/kernels/cpu"
	"suture/tensor"
	"suture/unet"
)

// Import one fold of an nnU-Net v2 trained-model folder and run the raw
// network on a normalised batch: the main output first, then the
// deep-supervision heads.
func ExampleImportNNUNet() {
	dir := filepath.Join("..", "testdata", "nnunet", "Dataset993_TinyResEnc", "nnUNetTrainer__nnUNetPlans__2d")
	m, err := unet.ImportNNUNet(dir, 0, "final", cpu.New(0))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("encoder:", m.Config.Encoder, "stages:", m.Config.NStages, "patch:", m.Inference.PatchSize)
	x := tensor.New(1, 3, 32, 48) // (N, C, H, W), already normalised
	tensor.NewRNG(1).Uniform(x, 0, 1)
	outs, err := m.Forward(x)
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range outs {
		fmt.Println(o.Shape)
	}
	// Output:
	// encoder: residual stages: 4 patch: [32 48]
	// (1,2,32,48)
	// (1,2,16,24)
	// (1,2,8,12)
}

// Plan applies nnU-Net's 2D planner to an image size: each axis is
// down-sampled by 2 per stage while it stays at least 8 pixels, and the
// features double per stage.
func ExamplePlan() {
	cfg, err := unet.Plan(64, 48, 3, 2) // H, W, input channels, classes
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stages:", cfg.NStages)
	fmt.Println("features:", cfg.FeaturesPerStage)
	fmt.Println("strides:", cfg.Strides)
	dh, dw := cfg.Divisor()
	fmt.Println("input sides divisible by:", dh, dw)
	// Output:
	// stages: 4
	// features: [32 64 128 256]
	// strides: [[1 1] [2 2] [2 2] [2 1]]
	// input sides divisible by: 8 4
}

// NewModel builds a planned (or edited) Config with seeded weights on a
// backend. Forward returns the full-resolution output first, then the
// deep-supervision heads of the lower decoder stages.
func ExampleNewModel() {
	cfg, err := unet.Plan(32, 32, 3, 2)
	if err != nil {
		log.Fatal(err)
	}
	cfg.FeaturesPerStage = []int{4, 8, 16} // narrower than planned: fast
	m, err := unet.NewModel(cpu.New(1), cfg, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("parameters:", m.Params.Trainable)

	x := tensor.New(2, 3, 32, 32) // (N, C, H, W), normalised
	tensor.NewRNG(1).Normal(x, 0, 1)
	outs, err := m.Forward(x)
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range outs {
		fmt.Println(o.Shape) // class logits
	}
	// Output:
	// parameters: 7652
	// (2,2,32,32)
	// (2,2,16,16)
}

// samples converts imageset's synthetic samples to training samples.
func samples(ds *imageset.Dataset) []unet.Input {
	out := make([]unet.Input, ds.Len())
	for i, s := range ds.Samples {
		out[i] = unet.Input{Name: s.Name, Image: s.Image, Mask: s.Mask}
	}
	return out
}

// Train a small U-Net nnU-Net's way (SGD with Nesterov momentum, poly
// schedule, Dice + cross-entropy, augmentation) on synthetic images, then
// predict masks. Training is deterministic for a seed on one machine.
func ExampleTrainer_Fit() {
	ds, err := imageset.Synth("a", 12, 16, 1) // 12 images of 16x16
	if err != nil {
		log.Fatal(err)
	}
	data := samples(ds)
	train, val := data[:8], data[8:]

	cfg, _ := unet.Plan(16, 16, 3, 2)
	cfg.FeaturesPerStage = []int{4, 8}
	m, err := unet.NewModel(cpu.New(1), cfg, 1)
	if err != nil {
		log.Fatal(err)
	}
	opts := unet.DefaultTrainOptions()
	opts.Epochs, opts.ItersPerEpoch, opts.BatchSize, opts.Seed = 3, 2, 4, 1
	tr, err := unet.NewTrainer(m, opts)
	if err != nil {
		log.Fatal(err)
	}
	if err := tr.Fit(context.Background(), train, val); err != nil {
		log.Fatal(err)
	}
	rows := tr.State.Log // one row per epoch
	first, last := rows[0].TrainLoss, rows[len(rows)-1].TrainLoss
	fmt.Println("epochs:", len(rows), "loss fell:", last < first)
	fmt.Println("trained at:", m.Inference.ImageSize) // recorded for prediction

	masks, err := m.Predict(val, 4) // arg-max class per pixel
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("masks:", len(masks), "pixels each:", len(masks[0]))
	// Output:
	// epochs: 3 loss fell: true
	// trained at: [16 16]
	// masks: 4 pixels each: 256
}

// Save a model (and optionally its trainer's state) to a checkpoint and
// load it back; the fingerprint covers the config and every weight.
func ExampleLoad() {
	cfg, _ := unet.Plan(16, 16, 3, 2)
	cfg.FeaturesPerStage = []int{4, 8}
	b := cpu.New(1)
	m, err := unet.NewModel(b, cfg, 7)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "unet-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.ckpt")
	if err := unet.Save(path, m, nil, ckpt.RunInfo{Data: "synth:a", Seed: 7}); err != nil {
		log.Fatal(err)
	}

	l, err := unet.Load(path, b)
	if err != nil {
		log.Fatal(err)
	}
	f1, _ := m.Fingerprint()
	f2, _ := l.Model.Fingerprint()
	fmt.Println("same network:", f1 == f2)
	fmt.Println("features:", l.Model.Config.FeaturesPerStage)
	fmt.Println("data:", l.Meta.Run.Data)
	// Output:
	// same network: true
	// features: [4 8]
	// data: synth:a
}
