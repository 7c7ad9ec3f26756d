package experiment

import (
	"os"
	"path/filepath"
	"testing"
)

// TestIsOwnFiles: a sweep CSV, a sample CSV and a plan file are each
// recognised as what they are and not as the others.
func TestIsOwnFiles(t *testing.T) {
	dir := t.TempDir()
	sweep, sample, plan, text := filepath.Join(dir, "sw.csv"), filepath.Join(dir, "sa.csv"), filepath.Join(dir, "p.json"), filepath.Join(dir, "t")
	if err := (&Sweep{}).WriteCSV(sweep); err != nil {
		t.Fatal(err)
	}
	if err := WriteSampleCSV(sample, nil); err != nil {
		t.Fatal(err)
	}
	if err := QuickPlan("p", "synth:a", "synth:b").Save(plan); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(text, []byte("{}\n"), 0o644)
	for _, c := range []struct {
		is   func(string) bool
		path string
	}{{IsSweepCSV, sweep}, {IsSampleCSV, sample}, {IsPlanFile, plan}} {
		for _, p := range []string{sweep, sample, plan, text} {
			if got := c.is(p); got != (p == c.path) {
				t.Errorf("%s: recognised as %s: %v", filepath.Base(p), filepath.Base(c.path), got)
			}
		}
	}
}
