package unet

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"suture/io/ckpt"
	"suture/io/imageset"
	"suture/kernels/cpu"
	"suture/tensor"
)

func readFloats(t *testing.T, path string) []float32 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

// testdata/unet-v1.ckpt was written by the code before U-Net persistence
// moved into this package (experiment.SaveUNet at 198bd90, a 16x16 U-Net
// trained for one epoch, with its training state); unet-v1.probs holds that
// code's probabilities on two synthetic images (synth b, 2 images, 16 px,
// seed 7) on the reference backend. The file must load, compute the same,
// and be written back byte for byte.
func TestLoadCheckpointWrittenBeforeTheMove(t *testing.T) {
	b := cpu.NewReference()
	path := filepath.Join("testdata", "unet-v1.ckpt")
	l, err := Load(path, b)
	if err != nil {
		t.Fatal(err)
	}
	if l.Meta.Run != (ckpt.RunInfo{Data: "synth:a:4:16:1", Fold: 1, SplitSeed: 2, Seed: 3}) || l.Meta.State.Epoch != 1 || l.Momentum == nil {
		t.Fatalf("meta %+v, momentum %v", l.Meta.Run, l.Momentum != nil)
	}
	ds, err := imageset.Synth("b", 2, 16, 7)
	if err != nil {
		t.Fatal(err)
	}
	var samples []Input
	for _, s := range ds.Samples {
		samples = append(samples, Input{Name: s.Name, Image: s.Image})
	}
	probs, err := l.Model.Probabilities(samples, 2)
	if err != nil {
		t.Fatal(err)
	}
	var got []float32
	for _, p := range probs {
		got = append(got, p.Data...)
	}
	want := readFloats(t, filepath.Join("testdata", "unet-v1.probs"))
	if len(got) != len(want) || tensor.MaxAbsDiff(got, want) != 0 {
		t.Fatalf("probabilities differ from the pre-move code's (%d values, want %d)", len(got), len(want))
	}
	tr, err := NewTrainer(l.Model, l.Meta.Train)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Resume(tr); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, l.Model, tr, l.Meta.Run); err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(path)
	if !bytes.Equal(buf.Bytes(), orig) {
		t.Errorf("re-written checkpoint differs from the original (%d bytes, want %d)", buf.Len(), len(orig))
	}
	// The same through the io.Reader path.
	l2, err := Read(bytes.NewReader(orig), b)
	if err != nil {
		t.Fatal(err)
	}
	f1, _ := l.Model.Fingerprint()
	f2, _ := l2.Model.Fingerprint()
	if f1 != f2 {
		t.Error("Read and Load give different networks")
	}
}

func TestCheckpointRoundTripAndErrors(t *testing.T) {
	b := cpu.New(0)
	cfg, _ := Plan(16, 16, 3, 2)
	cfg.FeaturesPerStage = []int{4, 8}
	m, err := NewModel(b, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "m.ckpt")
	run := ckpt.RunInfo{Data: "synth:a", Fold: 2, SplitSeed: 3, Seed: 4}
	if err := Save(path, m, nil, run); err != nil {
		t.Fatal(err)
	}
	l, err := Load(path, b)
	if err != nil {
		t.Fatal(err)
	}
	if l.Meta.Run != run || tensor.MaxAbsDiff(l.Model.Params.Value.Data, m.Params.Value.Data) != 0 {
		t.Error("round trip changed the model or its run info")
	}
	if l.Resume(nil) == nil {
		t.Error("resuming from a checkpoint without training state accepted")
	}
	// Another architecture's config over these weights: one error naming the file.
	c, _ := ckpt.Read(path)
	other := *cfg
	other.FeaturesPerStage = []int{4, 6}
	if err := c.SetMeta("unet", Meta{Config: &other}); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.ckpt")
	if err := ckpt.Write(bad, c); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad, b); err == nil || !strings.Contains(err.Error(), "bad.ckpt") || !strings.Contains(err.Error(), "shape") {
		t.Errorf("another architecture: %v", err)
	}
	// Another kind.
	if err := c.SetMeta("kind", "stitched"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ckpt.Encode(&buf, c); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(&buf, b); err == nil || !strings.Contains(err.Error(), "not a U-Net") {
		t.Errorf("stitched kind read as a U-Net: %v", err)
	}
}
