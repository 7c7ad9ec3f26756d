package stitch

import (
	"fmt"
	"math"
	"sort"

	"suture/tensor"
)

// Score is a network's result on some data: mean Dice and mean HD95.
type Score struct {
	Dice, HD95 float64
}

// Evaluator scores one extracted network; the caller supplies it (the
// metrics live above this package).
type Evaluator func(s Setting) (Score, error)

// SampledNetwork is one network drawn by Sample, with its score.
type SampledNetwork struct {
	Setting Setting
	// Stitched is the number of switches set to stitched.
	Stitched int
	// Active is the number of stitched switches the output actually uses
	// (those on the output network's side of the graph, up to the pruning).
	Active int
	Score  Score
}

// SampleSettings draws, for m = 0..2*pairs, perNum networks with m switches
// set to stitched (chosen uniformly without replacement among all switches
// of both networks) and the output taken from A or B at random; duplicates
// are dropped (DESIGN.md 6.7; the paper's RQ1 uses perNum = 3).
func SampleSettings(pairs, perNum int, g *tensor.RNG) []Setting {
	seen := map[string]bool{}
	var out []Setting
	total := 2 * pairs
	for m := 0; m <= total; m++ {
		for r := 0; r < perNum; r++ {
			s := NetA(pairs)
			if g.IntN(2) == 1 {
				s.Out = OutB
			}
			for _, sw := range g.Perm(total)[:m] {
				if sw < pairs {
					s.A[sw] = Stitched
				} else {
					s.B[sw-pairs] = Stitched
				}
			}
			if key := s.String(); !seen[key] {
				seen[key] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// Sample scores SampleSettings' networks (RQ1).
func (m *Model) Sample(perNum int, seed uint64, eval Evaluator) ([]SampledNetwork, error) {
	var res []SampledNetwork
	for _, s := range SampleSettings(m.Pairs(), perNum, tensor.NewRNG(seed)) {
		sc, err := eval(s)
		if err != nil {
			return nil, fmt.Errorf("sampled network %s: %w", s, err)
		}
		res = append(res, SampledNetwork{Setting: s, Stitched: s.StitchedCount(), Active: m.ActiveStitches(s), Score: sc})
	}
	return res, nil
}

// ActiveStitches counts the stitched or averaged switches that the network
// extracted by s actually computes (others are pruned away).
func (m *Model) ActiveStitches(s Setting) int {
	need := m.needed(s)
	n := 0
	for i, nd := range m.nodes {
		if nd.kind == switchNode && need[i] && m.mode(s, nd) != Own {
			n++
		}
	}
	return n
}

// Sweep scores the stitch-ensemble of every pair in index order (the data of
// the paper's Figure 8).
func (m *Model) Sweep(eval Evaluator) ([]Score, error) {
	out := make([]Score, m.Pairs())
	for k := range out {
		s, err := StitchEnsemble(m.Pairs(), k)
		if err != nil {
			return nil, err
		}
		if out[k], err = eval(s); err != nil {
			return nil, fmt.Errorf("stitch-ensemble %d: %w", k, err)
		}
	}
	return out, nil
}

// Ranks orders positions by the mean of their Dice rank (higher Dice first)
// and their HD95 rank (lower HD95 first); ties share the mean rank, NaN
// ranks last. It returns the mean rank of each position (1 is best).
func Ranks(scores []Score) []float64 {
	n := len(scores)
	dice := make([]float64, n)
	hd := make([]float64, n)
	for i, s := range scores {
		dice[i] = -s.Dice // rank ascending: higher Dice first
		hd[i] = s.HD95
	}
	rd, rh := rankAsc(dice), rankAsc(hd)
	out := make([]float64, n)
	for i := range out {
		out[i] = (rd[i] + rh[i]) / 2
	}
	return out
}

// rankAsc gives 1-based ranks with ties averaged; NaN sorts last.
func rankAsc(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	less := func(a, b float64) bool {
		if math.IsNaN(a) {
			return false
		}
		if math.IsNaN(b) {
			return true
		}
		return a < b
	}
	sort.SliceStable(idx, func(i, j int) bool { return less(v[idx[i]], v[idx[j]]) })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && (v[idx[j+1]] == v[idx[i]] || math.IsNaN(v[idx[j+1]]) && math.IsNaN(v[idx[i]])) {
			j++
		}
		for k := i; k <= j; k++ {
			r[idx[k]] = float64(i+j)/2 + 1
		}
		i = j + 1
	}
	return r
}

// Strategy picks a stitch position from validation scores.
type Strategy uint8

const (
	// BestOfFold takes the best mean rank on this fold's validation data.
	BestOfFold Strategy = iota
	// BestOverFolds takes the best rank averaged over all folds.
	BestOverFolds
	// FixedPosition takes a position fixed in advance (the rule of thumb).
	FixedPosition
)

// Select applies a strategy. perFold[f][k] is the validation score of
// position k on fold f; fold is this fold's index; fixed is the position
// FixedPosition returns.
func Select(st Strategy, perFold [][]Score, fold, fixed int) (int, error) {
	if len(perFold) == 0 || fold < 0 || fold >= len(perFold) || len(perFold[fold]) == 0 {
		return 0, fmt.Errorf("select: no validation scores for fold %d", fold)
	}
	n := len(perFold[fold])
	best := func(r []float64) int {
		bi := 0
		for i, v := range r {
			if v < r[bi] {
				bi = i
			}
		}
		return bi
	}
	switch st {
	case BestOfFold:
		return best(Ranks(perFold[fold])), nil
	case BestOverFolds:
		mean := make([]float64, n)
		for f, sc := range perFold {
			if len(sc) != n {
				return 0, fmt.Errorf("select: fold %d has %d positions, fold %d has %d", f, len(sc), fold, n)
			}
			for i, r := range Ranks(sc) {
				mean[i] += r / float64(len(perFold))
			}
		}
		return best(mean), nil
	case FixedPosition:
		if fixed < 0 || fixed >= n {
			return 0, fmt.Errorf("select: fixed position %d outside 0..%d", fixed, n-1)
		}
		return fixed, nil
	}
	return 0, fmt.Errorf("select: unknown strategy %d", st)
}
