package experiment

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestJobKeysStable pins the keys of every training, stitching, sweep and
// select job of the committed real-data plan (bench/eval/polyp64-v1.json):
// a key that changes makes a resumed run recompute that job and everything
// after it, hours of machine time. A change that must change a job's result
// raises jobVersion and updates the golden file (go test -run
// TestJobKeysStable -update). Test jobs are not pinned: they run last.
func TestJobKeysStable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "bench", "eval", "polyp64-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePlanUnchecked(b)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, j := range buildGraph(p).jobs {
		if j.Kind != "test" {
			fmt.Fprintf(&sb, "%s\t%s\n", j.Key, j.ID)
		}
	}
	golden := filepath.Join("testdata", "polyp64-v1.keys")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := sb.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("job keys changed (first: line %d):\n got %s\nwant %s", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("job keys changed: %d lines, want %d", len(gl), len(wl))
	}
}
