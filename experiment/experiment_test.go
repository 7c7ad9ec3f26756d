package experiment

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"suture/kernels/cpu"
	"suture/stitch"
	"suture/tensor"
	"suture/unet"
)

func tinyModel(t *testing.T, features []int, seed uint64) *unet.Model {
	t.Helper()
	cfg, err := unet.Plan(16, 16, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg.FeaturesPerStage = features
	m, err := unet.NewModel(cpu.New(0), cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLoadDataSpecs(t *testing.T) {
	ds, err := LoadData("synth:b:12:16:3", 0)
	if err != nil || ds.Len() != 12 || !ds.Samples[0].Image.Shape.Equal([]int{3, 16, 16}) {
		t.Fatalf("synth spec: %v %v", ds, err)
	}
	for _, bad := range []string{"synth:a:x", "synth:a:0", "synth:a:1:2:3:4", "synth:q:10"} {
		if _, err := LoadData(bad, 0); err == nil {
			t.Errorf("spec %q accepted", bad)
		}
	}
	if _, err := LoadData(filepath.Join(t.TempDir(), "none"), 0); err == nil {
		t.Error("missing folder accepted")
	}
	p, err := Split(ds, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Train) != 8 || len(p.Val) != 2 || len(p.Test) != 2 {
		t.Errorf("parts %d/%d/%d, want 8/2/2", len(p.Train), len(p.Val), len(p.Test))
	}
	all, _ := p.Subset("all")
	seen := map[string]bool{}
	for _, s := range all {
		seen[s.Name] = true
	}
	if len(seen) != 12 {
		t.Errorf("partition covers %d of 12 samples", len(seen))
	}
	if _, err := p.Subset("holdout"); err == nil {
		t.Error("unknown subset accepted")
	}
}

func TestStitchedRoundTripAndFingerprints(t *testing.T) {
	b := cpu.New(0)
	a, bb := tinyModel(t, []int{4, 8}, 1), tinyModel(t, []int{3, 6}, 2)
	s, err := stitch.Join(b, a, bb, 3, 16, 16, "all", stitch.DefaultMatchOptions(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Meta.Pairs) != s.M.Pairs() || s.M.Pairs() == 0 {
		t.Fatalf("%d pairs recorded for %d", len(s.Meta.Pairs), s.M.Pairs())
	}
	path := filepath.Join(t.TempDir(), "s.ckpt")
	if err := s.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	l, err := stitch.Load(path, b, unet.LoadBase)
	if err != nil {
		t.Fatal(err)
	}
	if tensor.MaxAbsDiff(l.M.Params.Value.Data, s.M.Params.Value.Data) != 0 {
		t.Error("stitch weights changed in the round trip")
	}
	x := tensor.NewRNG(1).Rand(2, 3, 16, 16)
	set, _ := stitch.StitchEnsemble(s.M.Pairs(), 1)
	p1, _ := s.M.Probabilities(set, x, 2)
	p2, _ := l.M.Probabilities(set, x, 2)
	if tensor.MaxAbsDiff(p1.Data, p2.Data) != 0 {
		t.Error("the loaded stitched model computes something else")
	}
	if err := l.CheckBases(a, bb); err != nil {
		t.Errorf("its own bases rejected: %v", err)
	}
	if err := l.CheckBases(bb, a); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("swapped bases: %v", err)
	}
	if _, err := unet.Load(path, b); err == nil || !strings.Contains(err.Error(), "not a U-Net") {
		t.Errorf("stitched checkpoint loaded as a U-Net: %v", err)
	}
	// No common scale: A works at 16 and 8 px; this B down-samples by 4 in
	// its first stage, so it works at 4 and 2 px only.
	cfg, _ := unet.Plan(16, 16, 3, 2)
	cfg.Strides = [][2]int{{4, 4}, {2, 2}}
	far, err := unet.NewModel(b, cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stitch.Join(b, a, far, 3, 16, 16, "all", stitch.DefaultMatchOptions(), 5); err == nil || !strings.Contains(err.Error(), "no spatial scale") {
		t.Errorf("no common scale: %v", err)
	}
}

func TestSummarizeRQ1(t *testing.T) {
	rows := []SampleRow{{Stitched: 0, Dice: 0.9}, {Stitched: 1, Dice: 0.7}, {Stitched: 2, Dice: 0.5}, {Stitched: 3, Dice: 0.3}, {Stitched: 4, Dice: 0.1}}
	b := SummarizeRQ1(rows, 0)
	if b.Switches != 4 || b.NHalf != 3 || math.Abs(b.AtLeastHalf-0.3) > 1e-12 {
		t.Errorf("at least half: %+v", b)
	}
	want := [4]float64{0.9, 0.7, 0.5, 0.2} // 3/4 and 4/4 share the last bin
	for i := range want {
		if math.Abs(b.Bins[i]-want[i]) > 1e-12 {
			t.Errorf("bins %v, want %v", b.Bins, want)
		}
	}
}

// Compare refuses two alternatives under one label (their results could not
// be told apart).
func TestCompareRefusesRepeatedLabel(t *testing.T) {
	rows := []ScoreRow{{Name: "x", Dice: 0.5}, {Name: "y", Dice: 0.7}}
	_, err := Compare(Named{"ref", rows}, []Named{{"alt", rows}, {"alt", rows}}, "dice")
	if err == nil || !strings.Contains(err.Error(), `"alt" is given twice`) {
		t.Fatalf("repeated label: %v", err)
	}
}

// TestStitchEveryK: "every:K" keeps every K-th pair of "all" counted back
// from the last, and a stitched checkpoint made so loads with the same
// pairs; bad spellings are refused by name.
func TestStitchEveryK(t *testing.T) {
	b := cpu.New(0)
	a, bb := tinyModel(t, []int{4, 8}, 1), tinyModel(t, []int{3, 6}, 2)
	all, err := stitch.Join(b, a, bb, 3, 16, 16, "all", stitch.DefaultMatchOptions(), 5)
	if err != nil {
		t.Fatal(err)
	}
	n := len(all.Meta.Pairs)
	for _, k := range []int{1, 2, 3, n - 1, n, n + 5} {
		s, err := stitch.Join(b, a, bb, 3, 16, 16, fmt.Sprintf("every:%d", k), stitch.DefaultMatchOptions(), 5)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for i := n - 1; i >= 0; i -= k {
			p := all.Meta.Pairs[i]
			want = append([]string{p.AName + "/" + p.BName}, want...)
		}
		var got []string
		for _, p := range s.Meta.Pairs {
			got = append(got, p.AName+"/"+p.BName)
		}
		if !slices.Equal(got, want) {
			t.Errorf("every:%d of %d pairs: %v, want %v", k, n, got, want)
		}
		path := filepath.Join(t.TempDir(), "s.ckpt")
		if err := s.Save(path, nil); err != nil {
			t.Fatal(err)
		}
		l, err := stitch.Load(path, b, unet.LoadBase)
		if err != nil {
			t.Fatalf("every:%d: %v", k, err)
		}
		if l.M.Pairs() != len(want) {
			t.Errorf("every:%d: loaded with %d pairs, want %d", k, l.M.Pairs(), len(want))
		}
	}
	for _, bad := range []string{"every:0", "every:-2", "every:x", "every:", "some"} {
		if err := stitch.CheckPoints(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("points %q: %v, want an error naming it", bad, err)
		}
	}
}
