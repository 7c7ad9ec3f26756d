package unet

import (
	"fmt"
	"path/filepath"
	"testing"

	"suture/io/npy"
	"suture/kernels/cpu"
	"suture/tensor"
)

// fixtureDir is where testdata/nnunet/make_fixtures.py wrote its nnU-Net
// results folders and reference outputs (regenerate with python3-torch).
var fixtureDir = filepath.Join("..", "testdata", "nnunet")

var fixtures = []struct {
	name, folder  string
	inputs, heads int
}{
	{"plain", "Dataset991_TinyPlain", 2, 3},
	{"plain5", "Dataset992_TinyPlainWide", 2, 4},
	{"resenc", "Dataset993_TinyResEnc", 2, 3},
}

func fixtureFolder(folder string) string {
	return filepath.Join(fixtureDir, folder, "nnUNetTrainer__nnUNetPlans__2d")
}

// checkAgainstReference runs m on every reference input of fixture name
// and compares every output with PyTorch's.
func checkAgainstReference(t *testing.T, m *Model, name string, inputs, heads int) float64 {
	t.Helper()
	worst := 0.0
	for k := 0; k < inputs; k++ {
		x, err := npy.ReadFile(filepath.Join(fixtureDir, "ref", fmt.Sprintf("%s_in%d.npy", name, k)))
		if err != nil {
			t.Fatal(err)
		}
		outs, err := m.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		if len(outs) != heads {
			t.Fatalf("%s input %d: %d outputs, want %d", name, k, len(outs), heads)
		}
		for j, o := range outs {
			fn := fmt.Sprintf("%s_out%d.npy", name, k)
			if j > 0 {
				fn = fmt.Sprintf("%s_out%d_ds%d.npy", name, k, j)
			}
			want, err := npy.ReadFile(filepath.Join(fixtureDir, "ref", fn))
			if err != nil {
				t.Fatal(err)
			}
			if !o.Shape.Equal(want.Shape) {
				t.Fatalf("%s: shape %v, want %v", fn, o.Shape, want.Shape)
			}
			d := tensor.MaxAbsDiff(o.Data, want.Data)
			if !(d <= 1e-4) {
				t.Errorf("%s: max abs difference %.3g to PyTorch (limit 1e-4)", fn, d)
			}
			worst = max(worst, d)
		}
	}
	return worst
}

func TestImportNNUNetMatchesPyTorch(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			m, err := ImportNNUNet(fixtureFolder(fx.folder), 0, "final", cpu.New(0))
			if err != nil {
				t.Fatal(err)
			}
			worst := checkAgainstReference(t, m, fx.name, fx.inputs, fx.heads)
			t.Logf("%s: max abs difference to PyTorch over %d inputs and %d heads: %.3g", fx.name, fx.inputs, fx.heads, worst)
		})
	}
}
