package experiment

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"suture/io/ckpt"
	"suture/io/imageset"
	"suture/kernels/cpu"
	"suture/stitch"
	"suture/tensor"
	"suture/unet"
)

// testdata/stitched-v1.ckpt was written by the code before stitched-model
// persistence moved into package stitch (experiment.Stitched.Save at
// 198bd90: two 16x16 U-Nets, stage points, one epoch of double-batched
// training, with its AdamW state); stitched-v1.probs holds that code's
// probabilities of stitch-ensemble 1 on two synthetic images (synth b, 2
// images, 16 px, seed 7) on the reference backend; unet-b-v1.ckpt is its
// base network B as a U-Net checkpoint. The file must load, compute the same
// and be written back byte for byte.
func TestStitchedCheckpointWrittenBeforeTheMove(t *testing.T) {
	b := cpu.NewReference()
	path := filepath.Join("testdata", "stitched-v1.ckpt")
	s, err := stitch.Load(path, b, unet.LoadBase)
	if err != nil {
		t.Fatal(err)
	}
	if s.Meta.Run != (ckpt.RunInfo{Data: "synth:a:4:16:1", Fold: 1}) || s.Meta.State.Epoch != 1 || s.M.Pairs() != 3 {
		t.Fatalf("run %+v, epoch %d, %d pairs", s.Meta.Run, s.Meta.State.Epoch, s.M.Pairs())
	}
	ds, err := imageset.Synth("b", 2, 16, 7)
	if err != nil {
		t.Fatal(err)
	}
	var samples []unet.Input
	for _, x := range ds.Samples {
		samples = append(samples, unet.Input{Name: x.Name, Image: x.Image})
	}
	set, _ := stitch.StitchEnsemble(s.M.Pairs(), 1)
	probs, err := StitchedProbabilities(s, set, samples, 2)
	if err != nil {
		t.Fatal(err)
	}
	var got []float32
	for _, p := range probs {
		got = append(got, p.Data...)
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "stitched-v1.probs"))
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, len(raw)/4)
	for i := range want {
		want[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	if len(got) != len(want) || tensor.MaxAbsDiff(got, want) != 0 {
		t.Fatalf("probabilities differ from the pre-move code's (%d values, want %d)", len(got), len(want))
	}
	lb, err := unet.Load(filepath.Join("testdata", "unet-b-v1.ckpt"), b)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckBases(nil, lb.Model); err != nil {
		t.Errorf("its base B rejected: %v", err)
	}
	tr, err := stitch.NewTrainer(s.M, s.Meta.Train)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Resume(tr); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Write(&buf, tr); err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(path)
	if !bytes.Equal(buf.Bytes(), orig) {
		t.Errorf("re-written checkpoint differs from the original (%d bytes, want %d)", buf.Len(), len(orig))
	}
	if _, err := stitch.Read(bytes.NewReader(orig), b, unet.LoadBase); err != nil {
		t.Errorf("the io.Reader path: %v", err)
	}
}
