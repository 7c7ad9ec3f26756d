package experiment

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"

	"suture/experiment/metrics"
	"suture/internal/stats"
)

// ScoreRow is one sample's scores in a per-sample CSV (as `suture eval
// --out` writes them: name,dice,hd95, and a fold column when rows come
// from several folds).
type ScoreRow struct {
	Fold       int // 0 when the file has no fold column
	Name       string
	Dice, HD95 float64
}

// ReadScores reads a per-sample CSV; the columns may come in any order
// (name, dice and hd95 required; fold optional).
func ReadScores(r io.Reader, name string) ([]ScoreRow, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: empty file", name)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"name", "dice", "hd95"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("%s: no %q column (header %v; want name,dice,hd95 and optionally fold)", name, h, rows[0])
		}
	}
	fi, hasFold := col["fold"]
	out := make([]ScoreRow, 0, len(rows)-1)
	for i, r := range rows[1:] {
		line := i + 2
		var s ScoreRow
		s.Name = r[col["name"]]
		if s.Dice, err = strconv.ParseFloat(r[col["dice"]], 64); err != nil {
			return nil, fmt.Errorf("%s line %d: dice %q is not a number", name, line, r[col["dice"]])
		}
		if s.Dice < 0 || s.Dice > 1 || math.IsInf(s.Dice, 0) {
			return nil, fmt.Errorf("%s line %d: dice %v is outside [0, 1]", name, line, s.Dice)
		}
		if s.HD95, err = strconv.ParseFloat(r[col["hd95"]], 64); err != nil {
			return nil, fmt.Errorf("%s line %d: hd95 %q is not a number", name, line, r[col["hd95"]])
		}
		if s.HD95 < 0 {
			return nil, fmt.Errorf("%s line %d: hd95 %v is negative", name, line, s.HD95)
		}
		if hasFold {
			if s.Fold, err = strconv.Atoi(r[fi]); err != nil {
				return nil, fmt.Errorf("%s line %d: fold %q is not an integer", name, line, r[fi])
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// ReadScoresFile reads a per-sample CSV file.
func ReadScoresFile(path string) ([]ScoreRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadScores(f, path)
}

// Comparison is one alternative against the reference, paired by (fold,
// name): N pairs compared (zero differences included), Dropped pairs with
// an undefined score on either side, the mean and median of alt - ref,
// the two-sided Wilcoxon signed-rank p-value (normal approximation, as
// scipy.stats.wilcoxon(alt, ref, zero_method="wilcox", correction=False,
// method="approx")) and its Holm adjustment over the alternatives compared
// together. P is NaN when every difference is zero (scipy refuses that
// case); such a p-value takes no part in the Holm adjustment.
type Comparison struct {
	Alt        string
	N, Dropped int
	MeanDiff   float64
	MedianDiff float64
	P, PHolm   float64
}

// MarshalJSON writes a comparison as one object: alt, n, dropped,
// mean_diff, median_diff, p and p_holm, a figure that is not a finite
// number as null.
func (c Comparison) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Alt        string   `json:"alt"`
		N          int      `json:"n"`
		Dropped    int      `json:"dropped"`
		MeanDiff   *float64 `json:"mean_diff"`
		MedianDiff *float64 `json:"median_diff"`
		P          *float64 `json:"p"`
		PHolm      *float64 `json:"p_holm"`
	}{c.Alt, c.N, c.Dropped, finite(c.MeanDiff), finite(c.MedianDiff), finite(c.P), finite(c.PHolm)})
}

// Named is a labelled set of per-sample scores.
type Named struct {
	Name string
	Rows []ScoreRow
}

type pairKey struct {
	fold int
	name string
}

func index(rows []ScoreRow, label string) (map[pairKey]ScoreRow, error) {
	m := make(map[pairKey]ScoreRow, len(rows))
	for _, r := range rows {
		k := pairKey{r.Fold, r.Name}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("%s: sample %q of fold %d appears twice", label, r.Name, r.Fold)
		}
		m[k] = r
	}
	return m, nil
}

// CompareFiles is the compare job: it reads the per-sample CSVs (ReadScoresFile)
// of the reference ref and of the alternatives files, labelled labels, and
// compares them on metric (Compare; the reference is labelled by its path).
func CompareFiles(ref string, labels, files []string, metric string) ([]Comparison, error) {
	rr, err := ReadScoresFile(ref)
	if err != nil {
		return nil, err
	}
	named := make([]Named, len(files))
	for i, f := range files {
		rows, err := ReadScoresFile(f)
		if err != nil {
			return nil, err
		}
		named[i] = Named{Name: labels[i], Rows: rows}
	}
	return Compare(Named{Name: ref, Rows: rr}, named, metric)
}

// Compare tests every alternative against ref on metric "dice" or "hd95".
// Every (fold, name) must be present on both sides.
func Compare(ref Named, alts []Named, metric string) ([]Comparison, error) {
	pick := func(r ScoreRow) float64 { return r.Dice }
	switch metric {
	case "dice":
	case "hd95":
		pick = func(r ScoreRow) float64 { return r.HD95 }
	default:
		return nil, fmt.Errorf("metric %q, want dice or hd95", metric)
	}
	ri, err := index(ref.Rows, ref.Name)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, alt := range alts {
		if seen[alt.Name] {
			return nil, fmt.Errorf("alternative %q is given twice; each needs its own label", alt.Name)
		}
		seen[alt.Name] = true
	}
	out := make([]Comparison, len(alts))
	var ps []float64
	var psAt []int
	for ai, alt := range alts {
		am, err := index(alt.Rows, alt.Name)
		if err != nil {
			return nil, err
		}
		for _, r := range alt.Rows {
			if _, ok := ri[pairKey{r.Fold, r.Name}]; !ok {
				return nil, fmt.Errorf("sample %q (fold %d) is in %s but not in %s", r.Name, r.Fold, alt.Name, ref.Name)
			}
		}
		c := Comparison{Alt: alt.Name}
		var x, y, d []float64
		for _, r := range ref.Rows {
			a, ok := am[pairKey{r.Fold, r.Name}]
			if !ok {
				return nil, fmt.Errorf("sample %q (fold %d) is in %s but not in %s", r.Name, r.Fold, ref.Name, alt.Name)
			}
			va, vr := pick(a), pick(r)
			if math.IsNaN(va) || math.IsNaN(vr) || math.IsInf(va, 0) || math.IsInf(vr, 0) {
				c.Dropped++
				continue
			}
			x, y, d = append(x, va), append(y, vr), append(d, va-vr)
		}
		c.N = len(d)
		c.MeanDiff, c.MedianDiff, c.P, c.PHolm = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		if c.N > 0 {
			var s float64
			for _, v := range d {
				s += v
			}
			c.MeanDiff = s / float64(c.N)
			c.MedianDiff = stats.Median(slices.Clone(d))
			if w, err := metrics.WilcoxonApprox(x, y); err == nil {
				c.P = w.P
				ps, psAt = append(ps, w.P), append(psAt, ai)
			}
		}
		out[ai] = c
	}
	adj, err := metrics.Holm(ps)
	if err != nil {
		return nil, err
	}
	for i, ai := range psAt {
		out[ai].PHolm = adj[i]
	}
	return out, nil
}

// WriteComparisons writes CompareFiles' results (metric and the reference
// file ref as compared) as a table.
func WriteComparisons(w io.Writer, metric, ref string, res []Comparison) {
	fmt.Fprintf(w, "%s against %s (alt - ref; two-sided Wilcoxon signed-rank, normal approximation; Holm over the %d alternatives)\n",
		metric, ref, len(res))
	fmt.Fprintf(w, "%-24s %6s %8s %11s %11s %10s %10s\n", "alt", "n", "dropped", "mean diff", "median diff", "p", "p (Holm)")
	for _, c := range res {
		fmt.Fprintf(w, "%-24s %6d %8d %11.5f %11.5f %10s %10s\n", c.Alt, c.N, c.Dropped, c.MeanDiff, c.MedianDiff, pval(c.P), pval(c.PHolm))
	}
}

func pval(p float64) string {
	if p != p {
		return "-"
	}
	return fmt.Sprintf("%.4g", p)
}
