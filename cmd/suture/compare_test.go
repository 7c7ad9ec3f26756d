package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompareMatchesSciPy runs `suture compare --json` on the CSVs of
// testdata/compare (made by make.py there: 3 folds of 40 samples, rows of
// the alternatives shuffled and their columns reordered, undefined HD95
// values, ties and zero differences) and checks every figure against the
// values SciPy 1.10.1 gave for them, printed by
//
//	cd cmd/suture/testdata/compare && /usr/bin/python3 make.py
//
// (scipy.stats.wilcoxon(alt, ref, zero_method="wilcox", correction=False,
// method="approx"), Holm by hand; NaN where every difference is zero).
func TestCompareMatchesSciPy(t *testing.T) {
	want := []struct {
		metric, alt            string
		n, dropped             int
		mean, median, p, pHolm float64
	}{
		{"dice", "up", 120, 0, 0.016866666666666665, 0.01599999999999996, 6.552379859488174e-10, 1.9657139578464523e-09},
		{"dice", "tie", 120, 0, -0.0008333333333333383, 0.0, 0.06745784521342148, 0.13491569042684295},
		{"dice", "mixed", 120, 0, -0.0007750000000000026, 0.0, 0.659485754626636, 0.659485754626636},
		{"hd95", "up", 117, 3, -0.9782905982905984, -1.0200000000000014, 2.7639574973915733e-13, 5.527914994783147e-13},
		{"hd95", "tie", 117, 3, 0.0, 0.0, math.NaN(), math.NaN()},
		{"hd95", "mixed", 114, 6, 0.19324561403508766, 0.22499999999999964, 0.32514600133862703, 0.32514600133862703},
	}
	dir := filepath.Join("testdata", "compare")
	got := map[string]map[string]compareJSON{}
	for _, metric := range []string{"dice", "hd95"} {
		args := []string{"compare", "--ref", filepath.Join(dir, "ref.csv"), "--metric", metric, "--json"}
		for _, a := range []string{"up", "tie", "mixed"} {
			args = append(args, "--alt", a+"="+filepath.Join(dir, a+".csv"))
		}
		got[metric] = map[string]compareJSON{}
		out := mustRun(t, args...)
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var keys map[string]any
			if err := json.Unmarshal([]byte(line), &keys); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			if len(keys) != 7 {
				t.Errorf("keys %v, want exactly alt n dropped mean_diff median_diff p p_holm", keys)
			}
			var c compareJSON
			json.Unmarshal([]byte(line), &c)
			got[metric][c.Alt] = c
		}
	}
	close := func(g *float64, w float64) bool {
		if math.IsNaN(w) {
			return g == nil
		}
		return g != nil && math.Abs(*g-w) <= 1e-9*math.Abs(w)+1e-15
	}
	for _, w := range want {
		g, ok := got[w.metric][w.alt]
		if !ok {
			t.Errorf("%s %s: missing", w.metric, w.alt)
			continue
		}
		if g.N != w.n || g.Dropped != w.dropped || !close(g.MeanDiff, w.mean) || !close(g.MedianDiff, w.median) ||
			!close(g.P, w.p) || !close(g.PHolm, w.pHolm) {
			t.Errorf("%s %s: got %+v (n %d dropped %d), want %+v", w.metric, w.alt, g, g.N, g.Dropped, w)
		}
	}
}

// TestCompareBadInput: names that do not pair, a missing column, a bad
// metric, a label given twice, scores out of range.
func TestCompareBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, body)
		return p
	}
	ref := write("ref.csv", "name,dice,hd95\nx,0.5,3\ny,0.6,4\n")
	other := write("other.csv", "name,dice,hd95\nx,0.5,3\nz,0.6,4\n")
	nocol := write("nocol.csv", "name,dice\nx,0.5\n")
	for _, c := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"--ref", ref, "--alt", "o=" + other}, `"z"`, 1},
		{[]string{"--ref", ref, "--alt", "o=" + nocol}, `no "hd95" column`, 1},
		{[]string{"--ref", ref, "--alt", "o=" + ref, "--metric", "iou"}, "--metric", 2},
		{[]string{"--ref", ref}, "--alt", 2},
		{[]string{"--ref", ref, "--alt", "o=" + ref, "--alt", "o=" + ref}, `-alt: label "o" is given twice`, 2},
		{[]string{"--ref", ref, "--alt", "o=" + write("big.csv", "name,dice,hd95\nx,1.5,3\ny,0.6,4\n")}, "big.csv line 2: dice 1.5 is outside [0, 1]", 1},
		{[]string{"--ref", ref, "--alt", "o=" + write("neg.csv", "name,dice,hd95\nx,-0.1,3\ny,0.6,4\n")}, "dice -0.1 is outside [0, 1]", 1},
		{[]string{"--ref", ref, "--alt", "o=" + write("neghd.csv", "name,dice,hd95\nx,0.1,-3\ny,0.6,4\n")}, "hd95 -3 is negative", 1},
	} {
		code, out := sut(t, append([]string{"compare"}, c.args...)...)
		if code != c.code || !strings.Contains(out, c.want) || strings.Count(out, "\n") != 1 {
			t.Errorf("compare %v: exit %d: %s (want exit %d mentioning %s)", c.args, code, out, c.code, c.want)
		}
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
