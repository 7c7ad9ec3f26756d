package experiment

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// TestDropAndPlanName: Drop leaves an approach out and names the plan's
// approaches when it has no such one; PlanName is the file name without
// ".json".
func TestDropAndPlanName(t *testing.T) {
	p := QuickPlan("q", "synth:a", "synth:b")
	n := len(p.Approaches)
	if err := p.Drop("a + b"); err != nil || len(p.Approaches) != n-1 || slices.Contains(p.Approaches, "a + b") {
		t.Errorf("Drop a + b: %v, approaches %v", err, p.Approaches)
	}
	if err := p.Drop("a + b"); err == nil || !strings.Contains(err.Error(), `"a + b": not an approach of the plan (a, b,`) {
		t.Errorf("Drop twice: %v", err)
	}
	for path, want := range map[string]string{"q.json": "q", "/x/y/quick.json": "quick", `c:\p\z.json`: "z", "plan": "plan"} {
		if got := PlanName(path); got != want {
			t.Errorf("PlanName(%q) = %q, want %q", path, got, want)
		}
	}
}
