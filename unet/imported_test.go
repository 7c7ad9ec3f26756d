package unet

import (
	"path/filepath"
	"testing"

	"suture/io/ckpt"
	"suture/kernels/cpu"
)

// TestIsImported: a model SaveImported wrote is recognised as imported; the
// same model saved by Save (a trained run's checkpoint) is not.
func TestIsImported(t *testing.T) {
	b := cpu.New(1)
	cfg, _ := Plan(16, 16, 3, 2)
	cfg.FeaturesPerStage = []int{4, 8}
	m, err := NewModel(b, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	imported, trained := filepath.Join(dir, "i.ckpt"), filepath.Join(dir, "t.ckpt")
	if err := m.SaveImported(imported, ckpt.RunInfo{Data: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := Save(trained, m, nil, ckpt.RunInfo{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(imported, b); err != nil {
		t.Errorf("an imported model does not load: %v", err)
	}
	if !IsImported(imported) || IsImported(trained) || IsImported(filepath.Join(dir, "none")) {
		t.Errorf("IsImported: %v %v, want true false", IsImported(imported), IsImported(trained))
	}
}
