package stitch

import (
	"math"
	"testing"

	"suture/tensor"
)

func TestAlignKnownOptimum(t *testing.T) {
	ninf := math.Inf(-1)
	// The diagonal (0,0),(1,1),(2,2) scores 3; the optimum is off the
	// diagonal: (0,1) and (1,2) give 4+5 = 9, and row 2 can then match nothing.
	s := [][]float64{
		{1, 4, 0.5},
		{0.5, 1, 5},
		{ninf, 0.5, 1},
	}
	for name, f := range map[string]func([][]float64) []Pair{"full": AlignFull, "hirschberg": Align} {
		p := f(s)
		if got := TotalSimilarity(s, p); got != 9 || len(p) != 2 || p[0] != (Pair{0, 1}) || p[1] != (Pair{1, 2}) {
			t.Errorf("%s: score %g with %v, want 9 with [{0 1} {1 2}]", name, got, p)
		}
	}
	// Different scales (-Inf) are never matched even when nothing else is.
	if p := Align([][]float64{{ninf, ninf}, {ninf, ninf}}); len(p) != 0 {
		t.Errorf("matched across scales: %v", p)
	}
}

// TestAlignMatchesFullDP: on random similarity matrices (with forbidden
// entries) the linear-memory alignment equals the full dynamic programme,
// and every result preserves order.
func TestAlignMatchesFullDP(t *testing.T) {
	g := tensor.NewRNG(3)
	for trial := 0; trial < 300; trial++ {
		n, m := 1+g.IntN(17), 1+g.IntN(17)
		s := make([][]float64, n)
		for i := range s {
			s[i] = make([]float64, m)
			for j := range s[i] {
				switch r := g.Float64(); {
				case r < 0.25:
					s[i][j] = math.Inf(-1)
				case r < 0.3:
					s[i][j] = -g.Float64()
				default:
					s[i][j] = g.Float64()
				}
			}
		}
		full, lin := AlignFull(s), Align(s)
		if math.Abs(TotalSimilarity(s, full)-TotalSimilarity(s, lin)) > 1e-9 {
			t.Fatalf("trial %d (%dx%d): full %g %v, hirschberg %g %v", trial, n, m, TotalSimilarity(s, full), full, TotalSimilarity(s, lin), lin)
		}
		if len(full) != len(lin) {
			t.Fatalf("trial %d: %v vs %v", trial, full, lin)
		}
		for k := range full {
			if full[k] != lin[k] {
				t.Fatalf("trial %d: pairs differ: %v vs %v", trial, full, lin)
			}
		}
		for k := 1; k < len(lin); k++ {
			if lin[k].A <= lin[k-1].A || lin[k].B <= lin[k-1].B {
				t.Fatalf("trial %d: order broken: %v", trial, lin)
			}
		}
		for _, p := range lin {
			if s[p.A][p.B] <= 0 {
				t.Fatalf("trial %d: took a non-positive pair %v", trial, p)
			}
		}
	}
}

func TestSimilarityRules(t *testing.T) {
	a := []Candidate{{H: 8, W: 8, Progress: 0.2}, {H: 4, W: 4, Progress: 0.5, Branch: true}}
	b := []Candidate{{H: 8, W: 8, Progress: 0.3}, {H: 4, W: 4, Progress: 0.5, Branch: true}, {H: 4, W: 4, Progress: 0.5}}
	s := Similarity(a, b, DefaultMatchOptions())
	if !math.IsInf(s[0][1], -1) || !math.IsInf(s[1][0], -1) {
		t.Errorf("pairs across scales allowed: %v", s)
	}
	if math.Abs(s[0][0]-(1-0.01)) > 1e-12 {
		t.Errorf("S[0][0] = %g, want 0.99", s[0][0])
	}
	if s[1][1] != 2 || s[1][2] != 1 {
		t.Errorf("branch bonus: %g %g, want 2 1", s[1][1], s[1][2])
	}
}

func TestTopoOrderFindsCycles(t *testing.T) {
	// 0 -> 1 -> 2 -> 1: a cycle.
	nodes := []node{{}, {inputs: []int{0, 2}}, {inputs: []int{1}}}
	if _, err := topoOrder(nodes); err == nil {
		t.Error("cycle not detected")
	}
	nodes[1].inputs = []int{0}
	order, err := topoOrder(nodes)
	if err != nil || len(order) != 3 || order[0] != 0 || order[2] != 2 {
		t.Errorf("order %v, %v", order, err)
	}
}
