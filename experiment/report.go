package experiment

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"suture/experiment/metrics"
	"suture/kernels"
	"suture/kernels/cpu"
	"suture/unet"
)

// A reported approach: one of the plan's approaches, or a stitch-ensemble
// of a stitched approach chosen by one strategy ("a <-[a]-> b (s1)").
type reported struct {
	name     string // as shown
	approach string
	strategy string // "" or s1, s2, s3
}

func (r reported) file(party string) string {
	if r.strategy != "" {
		return r.strategy + "-test-" + party + ".csv"
	}
	return "test-" + party + ".csv"
}

// reportedApproaches lists what the report shows, in order.
func reportedApproaches(p *Plan, sel *Selection) []reported {
	var out []reported
	for _, ap := range p.Approaches {
		if _, ok := stitchedApproaches[ap]; !ok {
			out = append(out, reported{name: ap, approach: ap})
			continue
		}
		for _, s := range Strategies {
			if s == "s3" && sel.S3 < 0 {
				continue
			}
			out = append(out, reported{name: fmt.Sprintf("%s (%s)", ap, s), approach: ap, strategy: s})
		}
	}
	for _, d := range p.distilled() {
		out = append(out, reported{name: d[0], approach: d[0]})
	}
	return out
}

// perspective is one party's view (DESIGN.md 7.1).
type perspective struct {
	party, other string
	own          string   // its own model
	feasible     []string // approaches it can build or receive, own first
	fineTuned    string   // the other's model fine-tuned on its data
}

func perspectives() []perspective {
	return []perspective{
		{"a", "b", ApA, []string{ApA, ApB, ApBtoA, ApEns, ApEnsA, ApFed, ApPooled, ApStitchA, ApStitchAF,
			DistilledName(ApStitchA), DistilledName(ApStitchAF)}, ApBtoA},
		{"b", "a", ApB, []string{ApB, ApA, ApAtoB, ApEns, ApEnsB, ApFed, ApPooled, ApStitchB, ApStitchBF,
			DistilledName(ApStitchB), DistilledName(ApStitchBF)}, ApAtoB},
	}
}

// comparisonRow is one test of a perspective's Holm family.
type comparisonRow struct {
	group    string // "own", "F3", "F5"
	ref, alt string
	c        Comparison
}

// ReportResult lists what Report wrote.
type ReportResult struct {
	Files []string
}

// reportData is everything the report reads.
type reportData struct {
	plan   *Plan
	g      *graph
	sel    *Selection
	shown  []reported
	scores map[string]map[string][]ScoreRow // shown name -> party -> rows (all folds, with fold set)
	sweeps map[string][]*Sweep              // stitched approach -> per fold (plan order)
}

// loadReportData reads the results of every test and sweep job of the plan
// in dir; any of them not done is an error naming how many.
func loadReportData(dir string) (*reportData, error) {
	p, err := LoadStoredPlan(filepath.Join(dir, planFile))
	if err != nil {
		return nil, err
	}
	g := buildGraph(p)
	var missing []string
	var selJob *Job
	for _, j := range g.jobs {
		if j.Kind == KindSelect {
			selJob = j
		}
		if (j.Kind == KindTest || j.Kind == KindSweep || j.Kind == KindSelect) && !jobDone(dir, j) {
			missing = append(missing, j.ID)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%d jobs the report needs are not done (first: %s); run `suture experiment run` to finish them", len(missing), missing[0])
	}
	d := &reportData{plan: p, g: g, sel: &Selection{}, scores: map[string]map[string][]ScoreRow{}, sweeps: map[string][]*Sweep{}}
	if err := readJSON(filepath.Join(dir, selJob.Dir, "selection.json"), d.sel); err != nil {
		return nil, err
	}
	d.shown = reportedApproaches(p, d.sel)
	for _, r := range d.shown {
		d.scores[r.name] = map[string][]ScoreRow{}
		for _, f := range p.Folds {
			for _, party := range []string{"a", "b"} {
				j := g.tests[testKey{r.approach, f, party}]
				rows, err := ReadScoresFile(filepath.Join(dir, j.Dir, r.file(party)))
				if err != nil {
					return nil, err
				}
				for i := range rows {
					rows[i].Fold = f
				}
				d.scores[r.name][party] = append(d.scores[r.name][party], rows...)
			}
		}
	}
	for _, ap := range p.Approaches {
		if _, ok := stitchedApproaches[ap]; !ok {
			continue
		}
		for _, f := range p.Folds {
			j := g.byID[fmt.Sprintf("fold %d: sweep %s", f, ap)]
			sw, err := ReadSweepCSV(filepath.Join(dir, j.Dir, "sweep.csv"))
			if err != nil {
				return nil, err
			}
			d.sweeps[ap] = append(d.sweeps[ap], sw)
		}
	}
	return d, nil
}

// family builds a perspective's Holm family (docs/evaluation.md) for one
// metric and runs it.
func (d *reportData) family(pv perspective, metric string) ([]comparisonRow, error) {
	has := func(name string) bool { _, ok := d.scores[name]; return ok }
	var rows []comparisonRow
	var ses []string // the perspective's stitch-ensembles
	for _, r := range d.shown {
		if r.strategy != "" && slices.Contains(pv.feasible, r.approach) {
			ses = append(ses, r.name)
		}
	}
	for _, r := range d.shown {
		if r.name != pv.own && (slices.Contains(pv.feasible, r.approach)) {
			rows = append(rows, comparisonRow{group: "own", ref: pv.own, alt: r.name})
		}
	}
	if has(ApEns) {
		for _, se := range ses {
			rows = append(rows, comparisonRow{group: "F3", ref: ApEns, alt: se})
		}
	}
	for _, se := range ses {
		for _, other := range []string{pv.fineTuned, ApFed, ApPooled} {
			if has(other) {
				rows = append(rows, comparisonRow{group: "F5", ref: other, alt: se})
			}
		}
	}
	// Distilled students (docs/distill.md) against a & b and their teacher
	// (the s1 stitch-ensemble); against the own model they are in "own".
	for _, dd := range d.plan.distilled() {
		if !slices.Contains(pv.feasible, dd[0]) {
			continue
		}
		if has(ApEns) {
			rows = append(rows, comparisonRow{group: "distil", ref: ApEns, alt: dd[0]})
		}
		if teacher := dd[1] + " (s1)"; has(teacher) {
			rows = append(rows, comparisonRow{group: "distil", ref: teacher, alt: dd[0]})
		}
	}
	// One Holm family over all rows: run each comparison alone, then adjust.
	var ps []float64
	var at []int
	for i := range rows {
		res, err := Compare(Named{rows[i].ref, d.scores[rows[i].ref][pv.party]}, []Named{{rows[i].alt, d.scores[rows[i].alt][pv.party]}}, metric)
		if err != nil {
			return nil, err
		}
		rows[i].c = res[0]
		if !math.IsNaN(res[0].P) {
			ps, at = append(ps, res[0].P), append(at, i)
		}
	}
	adj, err := metrics.Holm(ps)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].c.PHolm = math.NaN()
	}
	for k, i := range at {
		rows[i].c.PHolm = adj[k]
	}
	return rows, nil
}

func meanOf(rows []ScoreRow, metric string) (float64, int) {
	var s float64
	n, nan := 0, 0
	for _, r := range rows {
		v := r.Dice
		if metric == "hd95" {
			v = r.HD95
		}
		if !defined(v) {
			nan++
			continue
		}
		s += v
		n++
	}
	if n == 0 {
		return math.NaN(), nan
	}
	return s / float64(n), nan
}

func f4(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.4f", v)
}

func f2(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

func pfmt(p float64) string {
	switch {
	case math.IsNaN(p):
		return "-"
	case p < 1e-4:
		return fmt.Sprintf("%.1e", p)
	}
	return fmt.Sprintf("%.4f", p)
}

// better reports whether alt beat ref (Holm-significant, in the metric's
// good direction), was worse, or neither.
func verdict(c Comparison, metric string) string {
	if math.IsNaN(c.PHolm) || c.PHolm >= 0.05 {
		return "no significant difference"
	}
	good := c.MeanDiff > 0
	if metric == "hd95" {
		good = c.MeanDiff < 0
	}
	if good {
		return "**better**"
	}
	return "**worse**"
}

// Report writes report.md and its PNG plots into out for the results in
// dir, and timings.md (the only file with times). The report holds no
// wall-clock times or absolute paths, so two runs of one plan give
// byte-identical reports.
//
// The report is written into a temporary folder beside out and swapped in
// whole when complete: a report that fails leaves out as it was. An out
// that holds anything but a report's files (report.md, timings.md, PNGs)
// is refused rather than replaced.
func Report(dir, out string) (*ReportResult, error) {
	d, err := loadReportData(dir)
	if err != nil {
		return nil, err
	}
	out = filepath.Clean(out)
	if err := checkReportFolder(out); err != nil {
		return nil, err
	}
	parent := filepath.Dir(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // nothing left there once swapped in
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	res, err := d.write(dir, tmp)
	if err != nil {
		return nil, err
	}
	if err := swapInDir(tmp, out); err != nil {
		return nil, err
	}
	for i, f := range res.Files {
		res.Files[i] = filepath.Join(out, filepath.Base(f))
	}
	return res, nil
}

// isReportFile tells whether a folder entry is one a report writes.
func isReportFile(e os.DirEntry) bool {
	n := e.Name()
	return e.Type().IsRegular() && (n == "report.md" || n == "timings.md" || strings.HasSuffix(n, ".png"))
}

// checkReportFolder accepts a folder that does not exist yet, or one that
// holds only a report's files (an earlier report, which is replaced).
func checkReportFolder(out string) error {
	fi, err := os.Stat(out)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", out)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !isReportFile(e) {
			return fmt.Errorf("%s holds %s, which is not part of a report; a report replaces its folder whole, so give a new folder or one holding only an earlier report", out, e.Name())
		}
	}
	return nil
}

// swapInDir replaces folder out (if any) by folder tmp: the old folder is
// moved aside, tmp renamed in its place, and the old one removed; if the
// second rename fails, the old folder is put back.
func swapInDir(tmp, out string) error {
	if _, err := os.Lstat(out); os.IsNotExist(err) {
		return os.Rename(tmp, out)
	}
	aside, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".old-")
	if err != nil {
		return err
	}
	old := filepath.Join(aside, "report")
	if err := os.Rename(out, old); err != nil {
		os.Remove(aside)
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		if rerr := os.Rename(old, out); rerr != nil {
			return fmt.Errorf("%w; the earlier report is kept in %s", err, old)
		}
		os.Remove(aside)
		return err
	}
	if err := os.RemoveAll(aside); err != nil {
		return fmt.Errorf("the report is written; removing the earlier one moved to %s: %w", old, err)
	}
	return nil
}

// write writes the report's files into folder out.
func (d *reportData) write(dir, out string) (*ReportResult, error) {
	res := &ReportResult{}
	var b bytes.Buffer
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	d.writeHeader(w)
	if err := d.writeTable(w, out, res); err != nil {
		return nil, err
	}
	families, err := d.writePerspectives(w, out, res)
	if err != nil {
		return nil, err
	}
	if err := d.writeSelection(w, out, res); err != nil {
		return nil, err
	}
	if d.plan.Curves {
		files, err := d.writeCurves(w, dir, out)
		if err != nil {
			return nil, err
		}
		res.Files = append(res.Files, files...)
	}
	d.writeFindings(&b, families)
	speed, err := d.writeCosts(w, dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(out, "report.md")
	if err := writeText(path, &b); err != nil {
		return nil, err
	}
	res.Files = append([]string{path}, res.Files...)
	tpath, err := writeTimings(dir, out, d.g, speed)
	if err != nil {
		return nil, err
	}
	res.Files = append(res.Files, tpath)
	return res, nil
}

// writeHeader writes the title and the plan's settings.
func (d *reportData) writeHeader(w func(string, ...any)) {
	p := d.plan
	w("# Evaluation report: plan %q\n\n", p.Name)
	if p.Note != "" {
		w("%s\n\n", p.Note)
	}
	w("Parties: a = `%s`, b = `%s` (split seed %d); folds %v. ", p.A.Data, p.B.Data, p.SplitSeed, p.Folds)
	w("U-Nets %d epochs (batch %d, lr %g); fine-tuning %d epochs (lr x%g, warm-up %d); federated averaging %d rounds (%s-weighted); "+
		"stitches %s-trained %d epochs at %s points. Scores are means over test samples and folds; the own test set of party a is a's "+
		"test part, likewise for b. Stitch-ensembles are named by the strategy that chose them: %s.\n\n",
		p.UNet.Epochs, p.UNet.Batch, p.UNet.LR, p.FineTune.Epochs, p.FineTune.LRFactor, p.FineTune.WarmupEpochs, p.Fed.Rounds,
		p.Fed.Weighting, p.Stitch.Mode, p.Stitch.Epochs, p.Stitch.Points, strategyLegend())
	if p.Precision != "" && kernels.Precision(p.Precision).OrFP32() != kernels.FP32 {
		w("Training arithmetic: %s (the convolutions' and GEMMs' operands rounded to %s, sums, weights, optimizer state, norms and losses "+
			"float32); scoring runs float32.\n\n", strings.ToUpper(p.Precision), strings.ToUpper(p.Precision))
	}
	if dp := p.Distill; dp != nil {
		w("Distilled students `distil(X)`: the stitching party's own network distilled from X's stitch-ensemble chosen by s1, "+
			"%d epochs (lr x%g), temperature %g, alpha %g (docs/distill.md).\n\n", dp.Epochs, dp.LRFactor, dp.Temperature, dp.Alpha)
	}
}

// writeTable writes every approach's mean scores on both test sets and
// Figure 6.
func (d *reportData) writeTable(w func(string, ...any), out string, res *ReportResult) error {
	w("## Every approach on both test sets\n\n")
	w("| approach | Dice on a's test | HD95 on a's test | Dice on b's test | HD95 on b's test |\n|---|---|---|---|---|\n")
	for _, r := range d.shown {
		da, _ := meanOf(d.scores[r.name]["a"], "dice")
		ha, na := meanOf(d.scores[r.name]["a"], "hd95")
		db, _ := meanOf(d.scores[r.name]["b"], "dice")
		hb, nb := meanOf(d.scores[r.name]["b"], "hd95")
		w("| `%s` | %s | %s%s | %s | %s%s |\n", r.name, f4(da), f2(ha), nanNote(na), f4(db), f2(hb), nanNote(nb))
	}
	w("\nHD95 in pixels, mean over samples where it is defined (both masks non-empty); (n undefined) when some were not.\n\n")

	plots, err := d.plotBiObjective(out)
	if err != nil {
		return err
	}
	res.Files = append(res.Files, plots...)
	w("Figure 6 (per fold, and the mean over folds as the larger mark): ![Dice](%s) ![HD95](%s)\n\n", filepath.Base(plots[0]), filepath.Base(plots[1]))
	return nil
}

// writePerspectives writes each perspective's Holm families (returned, by
// party and metric) and its own-data distributions.
func (d *reportData) writePerspectives(w func(string, ...any), out string, res *ReportResult) (map[string]map[string][]comparisonRow, error) {
	families := map[string]map[string][]comparisonRow{}
	for _, pv := range perspectives() {
		families[pv.party] = map[string][]comparisonRow{}
		w("## Perspective of party %s (own test set: %s's)\n\n", pv.party, pv.party)
		for _, metric := range []string{"dice", "hd95"} {
			rows, err := d.family(pv, metric)
			if err != nil {
				return nil, err
			}
			families[pv.party][metric] = rows
			w("%s (alt - ref over (test sample, fold) pairs; two-sided Wilcoxon signed-rank, normal approximation; Holm over the %d comparisons of this table):\n\n",
				map[string]string{"dice": "Dice, higher is better", "hd95": "HD95, lower is better"}[metric], len(rows))
			w("| test | ref | alt | n | dropped | mean diff | median diff | p | p (Holm) | alt is |\n|---|---|---|---|---|---|---|---|---|---|\n")
			for _, r := range rows {
				w("| %s | `%s` | `%s` | %d | %d | %+.4f | %+.4f | %s | %s | %s |\n", r.group, r.ref, r.alt, r.c.N, r.c.Dropped,
					r.c.MeanDiff, r.c.MedianDiff, pfmt(r.c.P), pfmt(r.c.PHolm), verdict(r.c, metric))
			}
			w("\n")
		}
		files, err := d.plotBoxes(out, pv)
		if err != nil {
			return nil, err
		}
		res.Files = append(res.Files, files...)
		w("Own-data distributions over all samples and folds (Figures 9-10): ![Dice](%s) ![HD95](%s)\n\n", filepath.Base(files[0]), filepath.Base(files[1]))
	}
	return families, nil
}

// writeSelection writes the stitch-ensembles chosen and the validation
// sweeps (Figures 7-8), when the plan has stitched approaches.
func (d *reportData) writeSelection(w func(string, ...any), out string, res *ReportResult) error {
	p := d.plan
	if len(d.sweeps) > 0 {
		w("## Stitch-ensembles: selection on validation data\n\n")
		w("Position chosen per fold (stitch index: matched pairs in A's call order; the vertex names are A's and B's):\n\n")
		w("| stitched approach | strategy |")
		for _, f := range p.Folds {
			w(" fold %d |", f)
		}
		w("\n|---|---|%s\n", strings.Repeat("---|", len(p.Folds)))
		for _, ap := range p.Approaches {
			sws, ok := d.sweeps[ap]
			if !ok {
				continue
			}
			for _, s := range Strategies {
				picks := d.sel.Picks[ap][s]
				if len(picks) == 0 {
					continue
				}
				w("| `%s` | %s |", ap, s)
				for i, k := range picks {
					w(" %d (%s / %s) |", k, sws[i].Names[k][0], sws[i].Names[k][1])
				}
				w("\n")
			}
		}
		if d.sel.S3Note != "" {
			w("\nStrategy 3 is not reported: %s.\n", d.sel.S3Note)
		}
		w("\n")
		for _, pv := range perspectives() {
			files, err := d.plotSweeps(out, pv)
			if err != nil {
				return err
			}
			if len(files) == 0 {
				continue
			}
			res.Files = append(res.Files, files...)
			w("Validation Dice and HD95 by stitch index, mean over folds, perspective %s (Figures 7-8): ![Dice](%s) ![HD95](%s)\n\n",
				pv.party, filepath.Base(files[0]), filepath.Base(files[1]))
		}
	}
	return nil
}

// writeCosts writes the distilled students' cost table, when the plan has
// students, and returns the images-per-second section for timings.md.
func (d *reportData) writeCosts(w func(string, ...any), dir string) (string, error) {
	p := d.plan
	costs, err := d.distillCosts(dir)
	if err != nil {
		return "", err
	}
	var speed bytes.Buffer
	if len(costs) > 0 {
		w("## Cost of the distilled students\n\n")
		w("Per %dx%d image, fold %d (the networks of the other folds have the same architectures); images per second, measured side by side, are in timings.md.\n\n",
			costs[0].in[1], costs[0].in[2], costs[0].fold)
		w("| student | network | parameters | GFLOP per image |\n|---|---|---|---|\n")
		fmt.Fprintf(&speed, "\n## Cost of the distilled students: images per second\n\n"+
			"CPU backend, all cores, batches of %d random images, forward without gradients, every network once per round, median of %d rounds.\n\n"+
			"| student | network | images/s |\n|---|---|---|\n", p.EvalBatch, costRounds)
		for _, c := range costs {
			for _, r := range c.rows {
				w("| `%s` | %s | %d | %.4f |\n", c.approach, r.Name, r.Params, r.GFLOP)
				fmt.Fprintf(&speed, "| `%s` | %s | %.1f |\n", c.approach, r.Name, r.ImgPerSec)
			}
		}
		w("\n")
	}
	return speed.String(), nil
}

func nanNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d undefined)", n)
}

func strategyLegend() string {
	var parts []string
	for _, s := range Strategies {
		parts = append(parts, fmt.Sprintf("%s %s", s, StrategyNames[s]))
	}
	return strings.Join(parts, "; ")
}

// writeFindings answers F1-F5 of DESIGN.md 7.1 from the tables above, by
// fixed rules (Holm-adjusted p < 0.05 in the claimed direction).
func (d *reportData) writeFindings(b *bytes.Buffer, fam map[string]map[string][]comparisonRow) {
	w := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	find := func(party, metric, group, ref, alt string) (Comparison, bool) {
		for _, r := range fam[party][metric] {
			if r.group == group && r.ref == ref && r.alt == alt {
				return r.c, true
			}
		}
		return Comparison{}, false
	}
	line := func(c Comparison, metric string) string {
		return fmt.Sprintf("%s %+.4f, p (Holm) %s", metric, c.MeanDiff, pfmt(c.PHolm))
	}
	holds := func(c Comparison, metric string, wantBetter bool) string {
		v := verdict(c, metric)
		if (wantBetter && v == "**better**") || (!wantBetter && v == "**worse**") {
			return "holds"
		}
		return "does not hold"
	}
	w("## The paper's findings (DESIGN.md 7.1), answered by fixed rules\n\n")
	w("A finding holds for a metric when the Holm-adjusted p-value of its comparison is below 0.05 and the difference points the claimed way.\n\n")
	w("- **F1** (a model trained on one party is worse on the other party's test set than that party's own model):\n")
	for _, pv := range perspectives() {
		for _, m := range []string{"dice", "hd95"} {
			if c, ok := find(pv.party, m, "own", pv.own, pv.other); ok {
				w("  - `%s` against `%s` on %s's test: %s: %s.\n", pv.other, pv.own, pv.party, line(c, m), holds(c, m, false))
			}
		}
	}
	w("- **F2** (the plain ensemble `a & b` is worse than `a` on a's test set):\n")
	for _, m := range []string{"dice", "hd95"} {
		if c, ok := find("a", m, "own", ApA, ApEns); ok {
			w("  - %s: %s.\n", line(c, m), holds(c, m, false))
		}
	}
	w("- **F3** (the selected stitch-ensemble is better than `a & b` on the perspective's own test set):\n")
	for _, pv := range perspectives() {
		for _, m := range []string{"dice", "hd95"} {
			for _, r := range fam[pv.party][m] {
				if r.group == "F3" {
					w("  - party %s, `%s`: %s: %s.\n", pv.party, r.alt, line(r.c, m), holds(r.c, m, true))
				}
			}
		}
	}
	w("- **F4** (on validation, averaged over folds: stitches in the last third of the indices, the last one excepted, beat the first third, and the last stitch is the worst):\n")
	for _, ap := range d.plan.Approaches {
		sws, ok := d.sweeps[ap]
		if !ok {
			continue
		}
		mean := meanSweep(sws)
		n := len(mean)
		third := n / 3
		if third < 2 {
			// The last third without the last position would be empty.
			w("  - `%s`: %d stitch positions, too few to compare thirds (at least 6 are needed): not answered.\n", ap, n)
			continue
		}
		var first, last float64
		for k := 0; k < third; k++ {
			first += mean[k] / float64(third)
		}
		for k := n - third; k < n-1; k++ {
			last += mean[k] / float64(third-1)
		}
		worst := slices.Index(mean, slices.Min(mean))
		later := "holds"
		if !(last > first) {
			later = "does not hold"
		}
		lastWorst := "holds"
		if worst != n-1 {
			lastWorst = fmt.Sprintf("does not hold (the worst is index %d, %.4f)", worst, mean[worst])
		}
		w("  - `%s`: mean validation Dice of indices 0-%d %.4f, of %d-%d %.4f: later > first %s; the last stitch (%d) %.4f: last is worst %s.\n",
			ap, third-1, first, n-third, n-2, last, later, n-1, mean[n-1], lastWorst)
	}
	w("- **F5** (where fine-tuning, federated averaging and pooled data stand against the own model and the stitch-ensemble): see the `own` and `F5` rows of the perspective tables; in short, by Dice:\n")
	for _, pv := range perspectives() {
		for _, alt := range []string{pv.fineTuned, ApFed, ApPooled} {
			if c, ok := find(pv.party, "dice", "own", pv.own, alt); ok {
				w("  - party %s: `%s` against the own model `%s`: %s (%s).\n", pv.party, alt, pv.own, line(c, "Dice"), verdict(c, "dice"))
			}
			for _, r := range fam[pv.party]["dice"] {
				if r.group == "F5" && r.ref == alt {
					w("    - stitch-ensemble `%s` against `%s`: %s (stitch-ensemble %s).\n", r.alt, alt, line(r.c, "Dice"), strings.Trim(verdict(r.c, "dice"), "*"))
				}
			}
		}
	}
	if dist := d.plan.distilled(); len(dist) > 0 {
		w("- **Distillation** (one U-Net of the party's own size from the s1 stitch-ensemble; see the `own` and `distil` rows), by Dice on the own test set:\n")
		for _, pv := range perspectives() {
			for _, dd := range dist {
				if !slices.Contains(pv.feasible, dd[0]) {
					continue
				}
				for _, ref := range []string{pv.own, ApEns, dd[1] + " (s1)"} {
					group := "distil"
					if ref == pv.own {
						group = "own"
					}
					if c, ok := find(pv.party, "dice", group, ref, dd[0]); ok {
						w("  - party %s: `%s` against `%s`: %s (%s).\n", pv.party, dd[0], ref, line(c, "Dice"), verdict(c, "dice"))
					}
				}
			}
		}
	}
	w("\n")
}

// meanSweep averages a stitched approach's validation Dice per position
// over folds.
func meanSweep(sws []*Sweep) []float64 {
	mean := make([]float64, len(sws[0].Scores))
	for _, sw := range sws {
		for k, s := range sw.Scores {
			mean[k] += s.Dice / float64(len(sws))
		}
	}
	return mean
}

// writeTimings writes timings.md: each job kind's machine time, from the
// jobs' records (kept out of report.md, which must not change between runs).
func writeTimings(dir, out string, g *graph, extra string) (string, error) {
	sec := map[JobKind]float64{}
	count := map[JobKind]int{}
	var kinds []JobKind
	var total float64
	for _, j := range g.jobs {
		var rec jobRecord
		if readJSON(filepath.Join(dir, j.Dir, doneFile), &rec) != nil {
			continue
		}
		if _, ok := sec[j.Kind]; !ok {
			kinds = append(kinds, j.Kind)
		}
		sec[j.Kind] += rec.Seconds
		count[j.Kind]++
		total += rec.Seconds
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Timings of plan %q (seconds of wall time per job, summed; jobs that ran at once overlap)\n\n", g.plan.Name)
	fmt.Fprintf(&b, "| job kind | jobs | seconds | hours |\n|---|---|---|---|\n")
	for _, k := range kinds {
		fmt.Fprintf(&b, "| %s | %d | %.0f | %.2f |\n", k, count[k], sec[k], sec[k]/3600)
	}
	fmt.Fprintf(&b, "| total | | %.0f | %.2f |\n", total, total/3600)
	b.WriteString(extra)
	path := filepath.Join(out, "timings.md")
	return path, writeText(path, &b)
}

// costRounds is the number of timed rounds of the report's cost table.
const costRounds = 5

// distCost is one distilled student's cost table.
type distCost struct {
	approach string
	fold     int
	in       [3]int
	rows     []NetCost
}

// distillCosts measures every distilled student of the plan's first fold
// beside the party's own network, a & b and its teacher.
func (d *reportData) distillCosts(dir string) ([]distCost, error) {
	p := d.plan
	var out []distCost
	for _, dd := range p.distilled() {
		f := p.Folds[0]
		dj := d.g.model[fmt.Sprintf("%s/%d", dd[0], f)]
		sj := d.g.model[fmt.Sprintf("%s/%d", dd[1], f)]
		if dj == nil || sj == nil {
			return nil, fmt.Errorf("cost of %s: no jobs for fold %d", dd[0], f)
		}
		b := cpu.New(0)
		picks := d.sel.Picks[dd[1]]["s1"]
		if len(picks) == 0 {
			return nil, fmt.Errorf("cost of %s: the selection has no s1 pick", dd[0])
		}
		tc, err := LoadTeacher(filepath.Join(dir, sj.Dir, sj.Model), b, fmt.Sprintf("stitch-ensemble:%d", picks[0]))
		if err != nil {
			return nil, err
		}
		st, err := unet.Load(filepath.Join(dir, dj.Dir, dj.Model), b)
		if err != nil {
			return nil, err
		}
		rows, err := DistillCost(context.Background(), b, tc, st.Model, CostOptions{Batch: p.EvalBatch, Rounds: costRounds, Own: stitchedApproaches[dd[1]].party})
		if err != nil {
			return nil, fmt.Errorf("cost of %s: %w", dd[0], err)
		}
		out = append(out, distCost{approach: dd[0], fold: f, in: tc.S.Meta.Input, rows: rows})
	}
	return out, nil
}
