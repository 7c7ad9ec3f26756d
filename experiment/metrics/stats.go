package metrics

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// WilcoxonResult is the outcome of a two-sided Wilcoxon signed-rank test.
type WilcoxonResult struct {
	N         int     // pairs with a non-zero difference: the ones ranked
	Zeros     int     // pairs with a zero difference, discarded
	WPlus     float64 // sum of the ranks of positive differences x-y
	WMinus    float64 // sum of the ranks of negative differences
	Statistic float64 // min(WPlus, WMinus), the statistic scipy reports
	Exact     bool    // P from the exact null distribution, else normal approximation
	Z         float64 // standardised statistic of the normal approximation; NaN when Exact
	P         float64 // two-sided p-value
}

// maxExactN is the largest n for which the exact null distribution is used.
const maxExactN = 50

// Wilcoxon runs the two-sided Wilcoxon signed-rank test on the paired
// samples x and y (H0: the differences x-y are symmetric about zero).
//
// It follows scipy.stats.wilcoxon's defaults zero_method="wilcox" and
// correction=False:
//   - zero differences are discarded and the rest ranked by |x-y|, ties
//     getting their average rank ("wilcox" zero method);
//   - when no difference was zero, no two |x-y| tie and n <= 50, P is exact:
//     2*P(W <= min(W+, W-)) under the null distribution of W+ (each rank's
//     sign equally likely), capped at 1;
//   - otherwise P uses the normal approximation without continuity
//     correction: mean n(n+1)/4, variance n(n+1)(2n+1)/24 - sum(t^3-t)/48
//     over groups of t tied |differences|, P = 2*Phi(-|z|).
//
// For untied data without zeros this is scipy's method="auto" (exact for
// n <= 50). With ties or zeros and small n, scipy >= 1.15 runs a permutation
// test instead of the normal approximation, so p-values can differ there.
//
// Differences are compared exactly, so values that are equal only up to
// rounding are not ties. NaN or infinite values, unequal lengths, and inputs
// with no non-zero difference are errors.
func Wilcoxon(x, y []float64) (WilcoxonResult, error) { return wilcoxon(x, y, true) }

// WilcoxonApprox is Wilcoxon with the normal approximation always (scipy's
// method="approx"), whatever n: the p-value `suture compare` and the
// experiment report give.
func WilcoxonApprox(x, y []float64) (WilcoxonResult, error) { return wilcoxon(x, y, false) }

func wilcoxon(x, y []float64, allowExact bool) (WilcoxonResult, error) {
	res := WilcoxonResult{Z: math.NaN(), P: math.NaN()}
	if len(x) != len(y) {
		return res, fmt.Errorf("wilcoxon: %d and %d values; the samples must be paired", len(x), len(y))
	}
	var d []float64
	for i := range x {
		if math.IsNaN(x[i]) || math.IsNaN(y[i]) || math.IsInf(x[i], 0) || math.IsInf(y[i], 0) {
			return res, fmt.Errorf("wilcoxon: pair %d is (%v, %v); drop undefined scores first", i, x[i], y[i])
		}
		if diff := x[i] - y[i]; diff != 0 {
			d = append(d, diff)
		} else {
			res.Zeros++
		}
	}
	n := len(d)
	res.N = n
	if n == 0 {
		return res, fmt.Errorf("wilcoxon: all %d differences are zero", len(x))
	}

	// Rank |d| with average ranks for ties; remember the tie group sizes.
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Compare(math.Abs(d[a]), math.Abs(d[b]))
	})
	var tieTerm float64 // sum of t^3 - t over tie groups
	for start := 0; start < n; {
		end := start + 1
		for end < n && math.Abs(d[order[end]]) == math.Abs(d[order[start]]) {
			end++
		}
		rank := float64(start+1+end) / 2 // average of ranks start+1 .. end
		for _, k := range order[start:end] {
			if d[k] > 0 {
				res.WPlus += rank
			} else {
				res.WMinus += rank
			}
		}
		t := float64(end - start)
		tieTerm += t*t*t - t
		start = end
	}
	res.Statistic = min(res.WPlus, res.WMinus)

	if allowExact && res.Zeros == 0 && tieTerm == 0 && n <= maxExactN {
		res.Exact = true
		res.P = min(1, 2*signedRankCDF(n, int(res.Statistic)))
		return res, nil
	}
	nf := float64(n)
	mean := nf * (nf + 1) / 4
	variance := nf*(nf+1)*(2*nf+1)/24 - tieTerm/48
	res.Z = (res.Statistic - mean) / math.Sqrt(variance)
	res.P = math.Erfc(math.Abs(res.Z) / math.Sqrt2) // 2 * Phi(-|z|)
	return res, nil
}

// signedRankCDF is P(W+ <= t) for n untied ranks under H0, where each subset
// of {1..n} is equally likely to be the positive ranks. counts[s] is the
// number of subsets summing to s; for n <= 50 every count is below 2^50, so
// float64 holds them exactly.
func signedRankCDF(n, t int) float64 {
	maxSum := n * (n + 1) / 2
	if t < 0 {
		return 0
	}
	if t >= maxSum {
		return 1
	}
	counts := make([]float64, maxSum+1)
	counts[0] = 1
	for r := 1; r <= n; r++ {
		for s := r * (r + 1) / 2; s >= r; s-- {
			counts[s] += counts[s-r]
		}
	}
	var below float64
	for s := 0; s <= t; s++ {
		below += counts[s]
	}
	return below / math.Exp2(float64(n))
}

// Holm returns Holm-Bonferroni adjusted p-values, in the order of p: with the
// m p-values sorted ascending, the i-th (from 1) becomes
// max over j <= i of min(1, (m-j+1) * p_(j)). A hypothesis is rejected at
// family-wise level alpha exactly when its adjusted p-value is <= alpha.
// p-values outside [0, 1] or NaN are errors.
func Holm(p []float64) ([]float64, error) {
	for i, v := range p {
		if !(v >= 0 && v <= 1) {
			return nil, fmt.Errorf("holm: p-value %d is %v, want one in [0, 1]", i, v)
		}
	}
	m := len(p)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	adjusted := make([]float64, m)
	running := 0.0
	for i, k := range order {
		running = max(running, min(1, float64(m-i)*p[k]))
		adjusted[k] = running
	}
	return adjusted, nil
}
