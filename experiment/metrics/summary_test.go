package metrics

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSummarize(t *testing.T) {
	nan := math.NaN()
	s := Summarize([]Score{
		{Name: "a", Dice: 1, HD95: 0},
		{Name: "b", Dice: nan, HD95: nan}, // both masks empty
		{Name: "c", Dice: 0.5, HD95: 3},
		{Name: "d", Dice: 0, HD95: nan}, // one mask empty
	})
	want := Summary{N: 4, DiceMean: 0.5, DiceNaN: 1, HD95Mean: 1.5, HD95NaN: 2}
	if d := cmp.Diff(want, s); d != "" {
		t.Fatalf("Summarize (-want +got):\n%s", d)
	}
	all := Summarize([]Score{{Dice: nan, HD95: nan}})
	if !math.IsNaN(all.DiceMean) || !math.IsNaN(all.HD95Mean) || all.DiceNaN != 1 || all.HD95NaN != 1 {
		t.Fatalf("all-NaN summary = %+v, want NaN means and counts 1", all)
	}
	none := Summarize(nil)
	if none.N != 0 || !math.IsNaN(none.DiceMean) {
		t.Fatalf("empty summary = %+v", none)
	}
}

func TestEvaluate(t *testing.T) {
	pred, h, w := maskFrom("##..", "##..")
	ref, _, _ := maskFrom(".##.", ".##.")
	s, err := Evaluate("case7", pred, ref, h, w, PixelSpacing)
	if err != nil {
		t.Fatal(err)
	}
	// Dice 2*2/(4+2+2); every boundary pixel is 0 or 1 from the other
	// boundary (4 of each in 8): position 0.95*7 = 6.65 lies between two 1s.
	if s.Name != "case7" || s.Dice != 0.5 || s.HD95 != 1 {
		t.Fatalf("Evaluate = %+v", s)
	}
	if _, err := Evaluate("x", pred, ref[:3], h, w, PixelSpacing); err == nil {
		t.Fatal("Evaluate accepted a short mask")
	}
}

func TestWriteCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scores.csv")
	if err := os.WriteFile(path, []byte("old content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	samples := []Score{
		{Name: "cju0qkwl35piu0993l0dewei2", Dice: 0.912345678901234, HD95: 2.23606797749979},
		{Name: `odd, "name"`, Dice: math.NaN(), HD95: math.NaN()},
		{Name: "z", Dice: 0, HD95: 41},
	}
	if err := WriteCSV(path, samples); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(samples)+1 || rows[0][0] != "name" || rows[0][1] != "dice" || rows[0][2] != "hd95" {
		t.Fatalf("rows = %q", rows)
	}
	same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
	for i, s := range samples {
		r := rows[i+1]
		d, err1 := strconv.ParseFloat(r[1], 64)
		hd, err2 := strconv.ParseFloat(r[2], 64)
		if r[0] != s.Name || err1 != nil || err2 != nil || !same(d, s.Dice) || !same(hd, s.HD95) {
			t.Fatalf("row %d = %q, want %+v", i+1, r, s)
		}
	}
	if err := WriteCSV(filepath.Join(path, "not-a-dir", "x.csv"), samples); err == nil {
		t.Fatal("WriteCSV into a missing directory succeeded")
	}
}
