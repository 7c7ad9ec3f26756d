package splits

import (
	"fmt"
	"slices"

	"suture/tensor"
)

// NumParts is the number of parts a dataset is split into; NumFolds of them
// take turns as the validation set and the last one is the test set.
const (
	NumParts = 6
	NumFolds = NumParts - 1
	testPart = NumParts - 1
)

// Splits is the assignment of sample indices 0..N-1 to the six parts.
type Splits struct {
	// Parts[0..4] are the cross-validation parts, Parts[5] the test set. Each
	// part's indices are in ascending order; every index is in exactly one part.
	Parts [NumParts][]int
	// Grouped is true when the split kept groups whole (bin covering).
	Grouped bool
}

// Split assigns the indices 0..n-1 to six parts.
//
// Without groups (groups nil or every entry ""), the indices are shuffled with
// the seed; parts 0..4 get floor(n/6) each and the test part gets the rest
// (floor(n/6) plus the remainder), as in the paper.
//
// With groups (len(groups) == n and some entry non-empty), samples with the
// same group name stay in one part; a sample whose group is "" is a group of
// its own. The parts are filled by bin covering (see binCover); the bin with
// the most samples becomes the test part, mirroring the ungrouped case where
// the test part takes the remainder. The seed breaks ties between groups of
// equal size, so different seeds can give different splits.
func Split(n int, groups []string, seed uint64) (Splits, error) {
	if n < NumParts {
		return Splits{}, fmt.Errorf("splits: %d samples cannot fill %d parts", n, NumParts)
	}
	if len(groups) != 0 && len(groups) != n {
		return Splits{}, fmt.Errorf("splits: %d group names for %d samples", len(groups), n)
	}
	if !anyNonEmpty(groups) {
		return splitRandom(n, seed), nil
	}
	members := groupMembers(groups)
	if len(members) < NumParts {
		return Splits{}, fmt.Errorf("splits: %d groups cannot fill %d parts without splitting a group", len(members), NumParts)
	}
	rng := tensor.NewRNG(seed)
	// Shuffle first so that the stable sort by size inside binCover breaks
	// ties between equal-sized groups at random rather than by name.
	rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	bins := binCover(members, n)
	return fromBins(bins, true), nil
}

// Fold returns the training indices (the four parts other than k) and the
// validation indices (part k) of cross-validation fold k, 0 <= k < NumFolds.
// The slices are fresh copies.
func (s Splits) Fold(k int) (train, val []int, err error) {
	if k < 0 || k >= NumFolds {
		return nil, nil, fmt.Errorf("splits: fold %d out of range [0, %d)", k, NumFolds)
	}
	for p := 0; p < NumFolds; p++ {
		if p != k {
			train = append(train, s.Parts[p]...)
		}
	}
	slices.Sort(train)
	return train, slices.Clone(s.Parts[k]), nil
}

// Test returns the test indices (a fresh copy).
func (s Splits) Test() []int { return slices.Clone(s.Parts[testPart]) }

// Sizes returns the number of indices in each part.
func (s Splits) Sizes() [NumParts]int {
	var sz [NumParts]int
	for p := range s.Parts {
		sz[p] = len(s.Parts[p])
	}
	return sz
}

func anyNonEmpty(groups []string) bool {
	for _, g := range groups {
		if g != "" {
			return true
		}
	}
	return false
}

// splitRandom deals a seeded permutation into five parts of floor(n/6) and a
// last part with the rest.
func splitRandom(n int, seed uint64) Splits {
	perm := tensor.NewRNG(seed).Perm(n)
	q := n / NumParts
	var s Splits
	for p := 0; p < NumParts; p++ {
		hi := (p + 1) * q
		if p == testPart {
			hi = n
		}
		s.Parts[p] = slices.Clone(perm[p*q : hi])
		slices.Sort(s.Parts[p])
	}
	return s
}

// groupMembers lists the sample indices of each group, groups in order of
// first appearance (never map order, so the result is reproducible). A
// sample with group "" forms a group of its own.
func groupMembers(groups []string) [][]int {
	var members [][]int
	slot := make(map[string]int)
	for i, g := range groups {
		if g == "" {
			members = append(members, []int{i})
			continue
		}
		k, ok := slot[g]
		if !ok {
			k = len(members)
			slot[g] = k
			members = append(members, nil)
		}
		members[k] = append(members[k], i)
	}
	return members
}

// fromBins makes the parts from six bins of groups: the bin with the most
// samples (the first such bin on ties) is the test part, the others keep
// their order as parts 0..4.
func fromBins(bins [NumParts][][]int, grouped bool) Splits {
	size := func(b [][]int) int {
		t := 0
		for _, g := range b {
			t += len(g)
		}
		return t
	}
	test := 0
	for b := 1; b < NumParts; b++ {
		if size(bins[b]) > size(bins[test]) {
			test = b
		}
	}
	s := Splits{Grouped: grouped}
	p := 0
	for b := 0; b < NumParts; b++ {
		var idx []int
		for _, g := range bins[b] {
			idx = append(idx, g...)
		}
		slices.Sort(idx)
		if b == test {
			s.Parts[testPart] = idx
			continue
		}
		s.Parts[p] = idx
		p++
	}
	return s
}
