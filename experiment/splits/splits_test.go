package splits

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// checkPartition fails unless every index 0..n-1 is in exactly one part and
// each part is sorted.
func checkPartition(t *testing.T, s Splits, n int) {
	t.Helper()
	seen := make([]int, n)
	for p, part := range s.Parts {
		if !slices.IsSorted(part) {
			t.Errorf("part %d not sorted", p)
		}
		for _, i := range part {
			if i < 0 || i >= n {
				t.Fatalf("part %d holds index %d outside [0,%d)", p, i, n)
			}
			seen[i]++
		}
	}
	for i, c := range seen {
		if c != 1 {
			t.Fatalf("index %d is in %d parts", i, c)
		}
	}
}

// checkGroupsWhole fails when samples of one non-empty group are in two parts.
func checkGroupsWhole(t *testing.T, s Splits, groups []string) {
	t.Helper()
	partOf := make([]int, len(groups))
	for p, part := range s.Parts {
		for _, i := range part {
			partOf[i] = p
		}
	}
	where := map[string]int{}
	for i, g := range groups {
		if g == "" {
			continue
		}
		if p, ok := where[g]; ok && p != partOf[i] {
			t.Fatalf("group %q spans parts %d and %d", g, p, partOf[i])
		}
		where[g] = partOf[i]
	}
}

func TestRandomSizes(t *testing.T) {
	for _, n := range []int{6, 7, 11, 12, 100, 612, 1000, 1001} {
		s, err := Split(n, nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		checkPartition(t, s, n)
		sz := s.Sizes()
		for p := 0; p < NumFolds; p++ {
			if sz[p] != n/6 {
				t.Errorf("n=%d: part %d has %d, want %d", n, p, sz[p], n/6)
			}
		}
		if want := n - 5*(n/6); sz[testPart] != want {
			t.Errorf("n=%d: test part has %d, want %d", n, sz[testPart], want)
		}
		if s.Grouped {
			t.Errorf("n=%d: ungrouped split says Grouped", n)
		}
	}
}

func TestEmptyGroupNamesMeanUngrouped(t *testing.T) {
	groups := make([]string, 50)
	a, err := Split(50, groups, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Split(50, nil, 3)
	if a.Grouped || !slices.EqualFunc(a.Parts[:], b.Parts[:], slices.Equal[[]int]) {
		t.Fatal("all-empty group names should split like no groups")
	}
}

func TestDeterministicBySeed(t *testing.T) {
	groups := make([]string, 300)
	for i := range groups {
		groups[i] = fmt.Sprint("g", i/10) // 30 groups of 10: ties everywhere
	}
	for _, g := range [][]string{nil, groups} {
		a, _ := Split(300, g, 42)
		b, _ := Split(300, g, 42)
		c, _ := Split(300, g, 43)
		if !slices.EqualFunc(a.Parts[:], b.Parts[:], slices.Equal[[]int]) {
			t.Fatal("same seed gave different splits")
		}
		if slices.EqualFunc(a.Parts[:], c.Parts[:], slices.Equal[[]int]) {
			t.Fatal("seeds 42 and 43 gave the same split")
		}
	}
}

func TestFold(t *testing.T) {
	s, err := Split(100, nil, 7)
	if err != nil {
		t.Fatal(err)
	}
	test := s.Test()
	for k := 0; k < NumFolds; k++ {
		train, val, err := s.Fold(k)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(val, s.Parts[k]) {
			t.Errorf("fold %d: val is not part %d", k, k)
		}
		all := append(append(append([]int{}, train...), val...), test...)
		slices.Sort(all)
		for i, v := range all {
			if v != i {
				t.Fatalf("fold %d: train+val+test is not a partition of 0..99 (at %d: %d)", k, i, v)
			}
		}
		if len(train) != 4*(100/6) {
			t.Errorf("fold %d: %d train indices, want %d", k, len(train), 4*(100/6))
		}
		val[0] = -1 // the returned slices are copies
		if s.Parts[k][0] == -1 {
			t.Fatal("Fold returned an alias of the part")
		}
	}
	for _, k := range []int{-1, NumFolds} {
		if _, _, err := s.Fold(k); err == nil || !strings.Contains(err.Error(), "fold") {
			t.Errorf("Fold(%d): want an out-of-range error, got %v", k, err)
		}
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		n      int
		groups []string
		want   string
	}{
		{0, nil, "0 samples"},
		{5, nil, "5 samples"},
		{-3, nil, "-3 samples"},
		{10, []string{"a", "b"}, "2 group names for 10 samples"},
		{10, []string{"a", "a", "b", "b", "c", "c", "d", "d", "e", "e"}, "5 groups"},
	}
	for _, c := range cases {
		_, err := Split(c.n, c.groups, 1)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Split(%d, %v): got %v, want an error containing %q", c.n, c.groups, err, c.want)
		}
	}
}

// groupsOfSizes names consecutive runs of samples "g0", "g1", ... with the
// given sizes.
func groupsOfSizes(sizes ...int) []string {
	var g []string
	for k, s := range sizes {
		for range s {
			g = append(g, fmt.Sprint("g", k))
		}
	}
	return g
}

// TestBinCoverByHand follows the algorithm on paper for distinct group sizes
// 15, 9, 8, ..., 1 (60 samples, a sixth is 10): phase 1 gives bins {15} {9}
// {8} {7} {6} {5,4}; the deferred 3, 2, 1 go to the then-smallest bins
// (6 -> 9, 7 -> 9, 8 -> 9). The 15-bin is the largest and becomes the test.
func TestBinCoverByHand(t *testing.T) {
	sizes := []int{15, 9, 8, 7, 6, 5, 4, 3, 2, 1}
	groups := groupsOfSizes(sizes...)
	s, err := Split(len(groups), groups, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, s, len(groups))
	checkGroupsWhole(t, s, groups)
	want := [][]string{{"g1"}, {"g2", "g9"}, {"g3", "g8"}, {"g4", "g7"}, {"g5", "g6"}, {"g0"}}
	for p, part := range s.Parts {
		var names []string
		for _, i := range part {
			if len(names) == 0 || names[len(names)-1] != groups[i] {
				names = append(names, groups[i])
			}
		}
		slices.Sort(names)
		w := slices.Clone(want[p])
		slices.Sort(w)
		if !slices.Equal(names, w) {
			t.Errorf("part %d holds groups %v, want %v", p, names, w)
		}
	}
	if !s.Grouped {
		t.Error("grouped split does not say Grouped")
	}
}

// TestBinCoverNoEmptyPart: one huge group and a few tiny ones must still give
// six non-empty parts.
func TestBinCoverNoEmptyPart(t *testing.T) {
	groups := groupsOfSizes(94, 1, 1, 1, 1, 1, 1)
	s, err := Split(len(groups), groups, 5)
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, s, len(groups))
	checkGroupsWhole(t, s, groups)
	for p, n := range s.Sizes() {
		if n == 0 {
			t.Errorf("part %d is empty: %v", p, s.Sizes())
		}
	}
	if len(s.Test()) != 94 {
		t.Errorf("the 94-sample group should be the test part, sizes %v", s.Sizes())
	}
}

// TestBinCoverRandomGroups checks the invariants on many random group layouts,
// with some ungrouped ("") samples mixed in.
func TestBinCoverRandomGroups(t *testing.T) {
	for trial := range 200 {
		seed := uint64(trial)
		// A simple deterministic size sequence per trial.
		var sizes []int
		x := seed*2654435761 + 12345
		ng := 6 + int(x%40)
		for range ng {
			x = x*6364136223846793005 + 1442695040888963407
			sizes = append(sizes, 1+int((x>>33)%30))
		}
		groups := groupsOfSizes(sizes...)
		for i := 0; i < len(groups); i += 7 {
			groups[i] = "" // singletons
		}
		s, err := Split(len(groups), groups, seed)
		if err != nil {
			t.Fatal(err)
		}
		checkPartition(t, s, len(groups))
		checkGroupsWhole(t, s, groups)
		sz := s.Sizes()
		for p := range NumFolds {
			if sz[p] == 0 {
				t.Fatalf("trial %d: part %d empty, sizes %v", trial, p, sz)
			}
			if sz[p] > sz[testPart] {
				t.Fatalf("trial %d: part %d larger than the test part, sizes %v", trial, p, sz)
			}
		}
	}
}

// moduleRoot walks up from the test's directory to the folder with go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = up
	}
}

// TestCVCSequences splits the real CVC-ClinicDB frames by their video
// sequence ids (612 frames, 29 sequences).
func TestCVCSequences(t *testing.T) {
	path := filepath.Join(moduleRoot(t), "..", "shared", "data", "polyp", "cvc", "index.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("CVC-ClinicDB index not available (%v); skipping the real-data split test", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(rows[0], "sequence_id")
	if col < 0 {
		t.Fatalf("%s has no sequence_id column", path)
	}
	var groups []string
	for _, r := range rows[1:] {
		groups = append(groups, r[col])
	}
	if len(groups) != 612 {
		t.Fatalf("%s: %d rows, want 612", path, len(groups))
	}
	for seed := range uint64(5) {
		s, err := Split(len(groups), groups, seed)
		if err != nil {
			t.Fatal(err)
		}
		checkPartition(t, s, len(groups))
		checkGroupsWhole(t, s, groups)
		sz := s.Sizes()
		t.Logf("seed %d: CVC part sizes %v (last = test)", seed, sz)
		for p, n := range sz {
			// A sixth is 102; sequences have up to 26 frames.
			if n < 90 || n > 115 {
				t.Errorf("seed %d: part %d has %d frames, far from 102", seed, p, n)
			}
		}
	}
}
