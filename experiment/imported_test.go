package experiment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"suture/io/ckpt"
	"suture/kernels/cpu"
	"suture/segment"
	"suture/stitch"
	"suture/tensor"
	"suture/unet"
)

// Two imported nnU-Net models with different plans (patch 32x32 with four
// stages, 48x64 with five) stitch, sweep, sample and evaluate; a
// stitch-ensemble exported as a standalone network segments like the
// stitched model's, and refuses a network choice of its own.
func TestStitchImportedModels(t *testing.T) {
	dir, b := t.TempDir(), cpu.New(1)
	paths := []string{filepath.Join(dir, "a.ckpt"), filepath.Join(dir, "b.ckpt")}
	for i, f := range []string{"Dataset991_TinyPlain", "Dataset992_TinyPlainWide"} {
		folder := filepath.Join("..", "testdata", "nnunet", f, "nnUNetTrainer__nnUNetPlans__2d")
		m, err := unet.ImportNNUNet(folder, 0, "final", b)
		if err != nil {
			t.Fatal(err)
		}
		if err := unet.Save(paths[i], m, nil, ckpt.RunInfo{Data: folder}); err != nil {
			t.Fatal(err)
		}
	}
	so := stitch.DefaultTrainOptions(stitch.Double)
	so.Epochs, so.ItersPerEpoch, so.Seed = 1, 2, 1
	st := filepath.Join(dir, "s.ckpt")
	s, err := StitchTrain(context.Background(), b, StitchSpec{Out: st, A: paths[0], B: paths[1], Data: "synth:a:36:64", Points: "all", Opts: so}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fa, fb := fmt.Sprint(s.A.Config.FeaturesPerStage), fmt.Sprint(s.B.Config.FeaturesPerStage); fa != "[4 8 16 24]" || fb != "[6 12 24 32 32]" {
		t.Errorf("bases %s and %s", fa, fb)
	}
	samples, err := DataPart{Data: "synth:a:36:64", Split: "val", Fold: -1, SplitSeed: -1}.Samples(s.Meta.Run)
	if err != nil {
		t.Fatal(err)
	}
	sw, err := SweepFiles(s, samples, 16, filepath.Join(dir, "sweep.csv"), filepath.Join(dir, "sweep.png"))
	if err != nil || sw.Best < 0 || sw.Best >= s.M.Pairs() {
		t.Fatalf("sweep: %+v, %v", sw, err)
	}
	res, _, err := SampleFiles(s, samples, 1, 1, 16, filepath.Join(dir, "sample.csv"), filepath.Join(dir, "sample.png"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ReadSampleCSV(filepath.Join(dir, "sample.csv"))
	if err != nil || len(rows) != len(res) {
		t.Errorf("sample CSV: %d rows (%v), want %d", len(rows), err, len(res))
	}
	if err := PlotRQ1(filepath.Join(dir, "rq1.png"), []string{"x", "y"}, [][]SampleRow{rows, rows}); err != nil {
		t.Error(err)
	}
	for _, f := range []string{"sweep.csv", "sweep.png", "sample.png", "rq1.png"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	ev, err := Evaluate(b, EvalSpec{Model: st, Net: "stitch-ensemble:5", Part: DataPart{Data: "synth:a:36:64", Split: "test", Fold: -1, SplitSeed: -1}, Batch: 8})
	if err != nil || len(ev.Scores) != 6 {
		t.Errorf("evaluate stitch-ensemble 5: %+v, %v; want 6 scores", ev, err)
	}
	set, _ := stitch.ParseNet("stitch-ensemble:5", s.M.Pairs())
	se := filepath.Join(dir, "se5.ckpt")
	if err := s.SaveExtracted(se, set); err != nil {
		t.Fatal(err)
	}
	img := tensor.New(3, 50, 90)
	for i := range img.Data {
		img.Data[i] = float32(uint8(i * 13))
	}
	var masks [2][]uint8
	for i, load := range [][2]string{{se, ""}, {st, "stitch-ensemble:5"}} {
		m, err := segment.Load(load[0], b, load[1])
		if err != nil {
			t.Fatal(err)
		}
		x := img.Clone()
		if masks[i], err = m.Classes(x); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(masks[0], masks[1]) {
		t.Error("the exported stitch-ensemble segments differently from the stitched model's")
	}
	var one *segment.OneNetworkError
	if _, err := segment.Load(se, b, "a"); !errors.As(err, &one) {
		t.Errorf("a network choice for an extracted network: %v", err)
	}
}
