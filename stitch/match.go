package stitch

import "math"

// MatchOptions tune the similarity of Appendix A.
type MatchOptions struct {
	// Offset c added to every allowed pair's similarity: 0 scores purely by
	// progress; a large c makes every allowed match worth about the same, so
	// the alignment maximises the number of matches (the count-based rule).
	Offset float64
	// BranchBonus is added when both vertices are branch points, so that the
	// ends of parallel branches (skip sources, concats) are matched to each other.
	BranchBonus float64
}

// DefaultMatchOptions: no offset, branch bonus 1.
func DefaultMatchOptions() MatchOptions { return MatchOptions{BranchBonus: 1} }

// notAllowed marks pairs that may never match (different spatial scales).
var notAllowed = math.Inf(-1)

// Similarity returns S[i][j] for candidates a[i], b[j]:
// 1 + Offset - (p_a - p_b)^2 (+ BranchBonus for two branch points) for pairs
// at the same spatial size, and -Inf (never matched) across scales.
func Similarity(a, b []Candidate, o MatchOptions) [][]float64 {
	s := make([][]float64, len(a))
	for i, ca := range a {
		s[i] = make([]float64, len(b))
		for j, cb := range b {
			if ca.H != cb.H || ca.W != cb.W {
				s[i][j] = notAllowed
				continue
			}
			d := ca.Progress - cb.Progress
			v := 1 + o.Offset - d*d
			if ca.Branch && cb.Branch {
				v += o.BranchBonus
			}
			s[i][j] = v
		}
	}
	return s
}

// Pair is one matched pair: indices into the two candidate lists.
type Pair struct{ A, B int }

// AlignFull is the textbook quadratic-memory dynamic programme: the
// order-preserving set of pairs (i1 < i2 implies j1 < j2) with the largest
// total similarity; pairs with similarity <= 0 are never taken. It is the
// reference for Align.
func AlignFull(s [][]float64) []Pair {
	n := len(s)
	if n == 0 {
		return nil
	}
	m := len(s[0])
	f := make([][]float64, n+1)
	for i := range f {
		f[i] = make([]float64, m+1)
	}
	for i := 1; i <= n; i++ {
		for j := 1; j <= m; j++ {
			f[i][j] = math.Max(f[i-1][j], f[i][j-1])
			if v := s[i-1][j-1]; v > 0 {
				f[i][j] = math.Max(f[i][j], f[i-1][j-1]+v)
			}
		}
	}
	var pairs []Pair
	for i, j := n, m; i > 0 && j > 0; {
		switch {
		case f[i][j] == f[i-1][j]:
			i--
		case f[i][j] == f[i][j-1]:
			j--
		default:
			pairs = append(pairs, Pair{i - 1, j - 1})
			i, j = i-1, j-1
		}
	}
	for l, r := 0, len(pairs)-1; l < r; l, r = l+1, r-1 {
		pairs[l], pairs[r] = pairs[r], pairs[l]
	}
	return pairs
}

// TotalSimilarity is the summed similarity of a set of pairs.
func TotalSimilarity(s [][]float64, pairs []Pair) float64 {
	var t float64
	for _, p := range pairs {
		t += s[p.A][p.B]
	}
	return t
}

// Align solves the same problem as AlignFull in memory linear in the
// sequence lengths (Hirschberg): the last DP row of the top half and of the
// reversed bottom half meet at the best split column; both halves recurse.
func Align(s [][]float64) []Pair {
	if len(s) == 0 || len(s[0]) == 0 {
		return nil
	}
	var pairs []Pair
	hirschberg(s, 0, len(s), 0, len(s[0]), &pairs)
	return pairs
}

func gain(s [][]float64, i, j int) float64 {
	if v := s[i][j]; v > 0 {
		return v
	}
	return math.Inf(-1)
}

// lastRow returns F[i1-i0][*] of the DP over rows [i0, i1) and columns
// [j0, j1), in forward or reverse direction, in O(j1-j0) memory.
func lastRow(s [][]float64, i0, i1, j0, j1 int, reverse bool) []float64 {
	m := j1 - j0
	prev, cur := make([]float64, m+1), make([]float64, m+1)
	for step := 0; step < i1-i0; step++ {
		i := i0 + step
		if reverse {
			i = i1 - 1 - step
		}
		cur[0] = 0
		for k := 1; k <= m; k++ {
			j := j0 + k - 1
			if reverse {
				j = j1 - k
			}
			cur[k] = math.Max(math.Max(prev[k], cur[k-1]), prev[k-1]+gain(s, i, j))
		}
		prev, cur = cur, prev
	}
	return prev
}

func hirschberg(s [][]float64, i0, i1, j0, j1 int, out *[]Pair) {
	if i1 <= i0 || j1 <= j0 {
		return
	}
	if i1-i0 == 1 {
		best, bj := 0.0, -1
		for j := j0; j < j1; j++ {
			if v := s[i0][j]; v > best {
				best, bj = v, j
			}
		}
		if bj >= 0 {
			*out = append(*out, Pair{i0, bj})
		}
		return
	}
	mid := (i0 + i1) / 2
	top := lastRow(s, i0, mid, j0, j1, false)
	bot := lastRow(s, mid, i1, j0, j1, true)
	m := j1 - j0
	split, best := 0, math.Inf(-1)
	for k := 0; k <= m; k++ {
		if v := top[k] + bot[m-k]; v > best {
			best, split = v, k
		}
	}
	hirschberg(s, i0, mid, j0, j0+split, out)
	hirschberg(s, mid, i1, j0+split, j1, out)
}
