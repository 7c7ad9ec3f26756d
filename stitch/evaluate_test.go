package stitch

import (
	"math"
	"testing"

	"suture/kernels/cpu"
	"suture/tensor"
)

func TestSampleSettings(t *testing.T) {
	ss := SampleSettings(3, 3, tensor.NewRNG(1))
	seen := map[string]bool{}
	perM := map[int]int{}
	for _, s := range ss {
		if seen[s.String()] {
			t.Fatalf("duplicate %s", s)
		}
		seen[s.String()] = true
		if s.Out == OutMean {
			t.Fatalf("sampled output must be A or B: %s", s)
		}
		perM[s.StitchedCount()]++
	}
	// m = 0 has only two distinct networks (A or B); m = 6 (all) likewise.
	for m := 0; m <= 6; m++ {
		if perM[m] < 1 || perM[m] > 3 {
			t.Errorf("%d networks with %d stitched switches", perM[m], m)
		}
	}
	if len(SampleSettings(3, 3, tensor.NewRNG(1))) != len(ss) {
		t.Error("sampling is not deterministic for a seed")
	}
}

func TestRanksAndSelect(t *testing.T) {
	sc := []Score{{0.8, 5}, {0.9, 4}, {0.9, 6}, {math.NaN(), math.NaN()}}
	r := Ranks(sc)
	want := []float64{(3 + 2) / 2.0, (1.5 + 1) / 2, (1.5 + 3) / 2, 4}
	for i := range r {
		if r[i] != want[i] {
			t.Errorf("ranks %v, want %v", r, want)
			break
		}
	}
	if k, _ := Select(BestOfFold, [][]Score{sc}, 0, 0); k != 1 {
		t.Errorf("best of fold %d, want 1", k)
	}
	folds := [][]Score{{{0.5, 1}, {0.9, 9}}, {{0.6, 2}, {0.7, 1}}, {{0.9, 1}, {0.1, 9}}}
	if k, _ := Select(BestOverFolds, folds, 1, 0); k != 0 {
		t.Errorf("best over folds %d, want 0", k)
	}
	if k, _ := Select(BestOfFold, folds, 1, 0); k != 1 {
		t.Errorf("best of fold 1 = %d, want 1", k)
	}
	if _, err := Select(FixedPosition, folds, 0, 5); err == nil {
		t.Error("fixed position out of range accepted")
	}
}

func TestSweepAndActive(t *testing.T) {
	b := cpu.New(0)
	m := joined(t, b, 4, 6, 3, 5, 2)
	var seen []string
	scores, err := m.Sweep(func(s Setting) (Score, error) {
		seen = append(seen, s.String())
		return Score{Dice: float64(len(seen))}, nil
	})
	if err != nil || len(scores) != m.Pairs() || seen[2] != "out=mean,a2=average,b2=average" {
		t.Errorf("sweep %v %v %v", scores, seen, err)
	}
	// A setting whose output is A never computes B's switches.
	s := NetA(m.Pairs())
	s.B[3] = Stitched
	if n := m.ActiveStitches(s); n != 0 {
		t.Errorf("%d active stitches for %s, want 0", n, s)
	}
	// a3 stitched reads b3's raw output (before b3's switch), which depends
	// on b1's switch but not on b3's.
	s.A[3] = Stitched
	if n := m.ActiveStitches(s); n != 1 {
		t.Errorf("%d active stitches for %s, want 1", n, s)
	}
	s.B[1] = Stitched
	if n := m.ActiveStitches(s); n != 2 {
		t.Errorf("%d active stitches for %s, want 2", n, s)
	}
}
