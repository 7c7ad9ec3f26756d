package ckpt

import (
	"bytes"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"suture/internal/atomicfile"
	"suture/tensor"
)

var update = flag.Bool("update", false, "rewrite testdata/golden-v1.ckpt from the current encoder")

const goldenPath = "testdata/golden-v1.ckpt"

// goldenCheckpoint is fixed by formulas, not by an RNG, so the golden file
// only changes when the format or the zstd encoder does.
func goldenCheckpoint(t testing.TB) *Checkpoint {
	t.Helper()
	ramp := func(shape ...int) *tensor.Tensor {
		x := tensor.New(shape...)
		for i := range x.Data {
			x.Data[i] = float32(i)*0.25 - 3
		}
		return x
	}
	special := tensor.New(5)
	copy(special.Data, []float32{float32(math.NaN()), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), 1e-45, 3.4028235e38})
	c := &Checkpoint{Tensors: []Named{
		{Name: "conv.w", T: ramp(4, 2, 3, 3)},
		{Name: "conv.b", T: ramp(4)},
		{Name: "scalar", T: ramp()},
		{Name: "empty", T: ramp(2, 0)},
		{Name: "special", T: special},
	}}
	for k, v := range map[string]any{"kind": "unet", "epoch": 12, "config": map[string]any{"features": []int{4, 8}}} {
		if err := c.SetMeta(k, v); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// TestGolden pins the byte format: the committed file must decode to the
// golden checkpoint (old files stay readable) and the encoder must reproduce
// it byte for byte (format changes are deliberate: rerun with -update).
func TestGolden(t *testing.T) {
	want := goldenCheckpoint(t)
	encoded := encodeBytes(t, want)
	if *update {
		if err := os.MkdirAll(filepath.Dir(goldenPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := atomicfile.Write(goldenPath, func(w io.Writer) error { _, err := w.Write(encoded); return err }); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Read(goldenPath)
	if err != nil {
		t.Fatalf("%v (run go test ./io/ckpt -run TestGolden -update to create it)", err)
	}
	sameCheckpoint(t, got, want)
	file, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, encoded) {
		t.Fatalf("encoder output (%d bytes) differs from %s (%d bytes); if the format change is deliberate, bump the version or rerun with -update", len(encoded), goldenPath, len(file))
	}
}
