package unet

import (
	"testing"

	"suture/kernels/cpu"
)

// TestNewModelKeepsItsConfig: editing the Config a model was built from
// (to build a second network) leaves the first one's config alone.
func TestNewModelKeepsItsConfig(t *testing.T) {
	cfg, err := Plan(16, 16, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg.FeaturesPerStage = []int{4, 8}
	cfg.NStages, cfg.KernelSizes, cfg.Strides = 2, cfg.KernelSizes[:2], cfg.Strides[:2]
	cfg.NConvPerStage, cfg.NConvPerStageDecoder = cfg.NConvPerStage[:2], cfg.NConvPerStageDecoder[:1]
	m, err := NewModel(cpu.New(1), cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg.FeaturesPerStage[0], cfg.Strides[1][0], cfg.NumClasses = 6, 1, 3
	if m.Config.FeaturesPerStage[0] != 4 || m.Config.Strides[1][0] != 2 || m.Config.NumClasses != 2 {
		t.Errorf("the model's config followed an edit of the caller's: %+v", m.Config)
	}
}
