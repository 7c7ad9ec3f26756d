package unet_test

import (
	"fmt"
	"log"
	"path/filepath"

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
