package experiment

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// palette gives approach i a colour and a glyph that tell 21 series apart.
func palette(i int) (color.RGBA, draw.GlyphDrawer) {
	cols := []color.RGBA{
		{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
		{140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255},
	}
	glyphs := []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.SquareGlyph{}, draw.PlusGlyph{}, draw.CrossGlyph{},
		draw.RingGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}}
	return cols[i%len(cols)], glyphs[(i/len(cols)+i)%len(glyphs)]
}

// plotBiObjective draws Figure 6: each approach's score on a's test set
// against its score on b's, per fold (small marks) and the mean over folds
// (large mark), for Dice and for HD95.
func (d *reportData) plotBiObjective(out string) ([]string, error) {
	var files []string
	for _, metric := range []string{"dice", "hd95"} {
		p := plot.New()
		name := map[string]string{"dice": "Dice", "hd95": "HD95 (px)"}[metric]
		p.Title.Text = name + " on both test sets, per fold and mean"
		p.X.Label.Text = name + " on a's test set"
		p.Y.Label.Text = name + " on b's test set"
		points := 0
		for i, r := range d.shown {
			c, g := palette(i)
			// A score undefined on either test set (HD95 where every
			// prediction is empty) has no place in the plane: it is left
			// out, and the legend says so.
			var folds plotter.XYs
			for _, f := range d.plan.Folds {
				x, _ := meanOf(foldRows(d.scores[r.name]["a"], f), metric)
				y, _ := meanOf(foldRows(d.scores[r.name]["b"], f), metric)
				if defined(x) && defined(y) {
					folds = append(folds, plotter.XY{X: x, Y: y})
				}
			}
			mx, _ := meanOf(d.scores[r.name]["a"], metric)
			my, _ := meanOf(d.scores[r.name]["b"], metric)
			var mean plotter.XYs
			label := r.name
			if defined(mx) && defined(my) {
				mean = plotter.XYs{{X: mx, Y: my}}
			} else {
				label += " (mean undefined)"
			}
			points += len(folds) + len(mean)
			small, err := plotter.NewScatter(folds)
			if err != nil {
				return nil, fmt.Errorf("figure 6 (%s), approach %q: %w", metric, r.name, err)
			}
			small.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(2), Shape: g}
			big, err := plotter.NewScatter(mean)
			if err != nil {
				return nil, fmt.Errorf("figure 6 (%s), approach %q: %w", metric, r.name, err)
			}
			big.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(5), Shape: g}
			p.Add(small, big)
			p.Legend.Add(label, big)
		}
		if points == 0 {
			p.Title.Text += " (undefined for every approach)"
			p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
		}
		// Room on the right for the legend (21 entries).
		p.Legend.Top, p.Legend.Left = true, false
		p.Legend.TextStyle.Font.Size = vg.Points(8)
		p.X.Max += (p.X.Max - p.X.Min) * 0.6
		path := filepath.Join(out, "fig6-"+metric+".png")
		if err := savePlot(p, path, 9*vg.Inch, 6*vg.Inch); err != nil {
			return nil, err
		}
		files = append(files, path)
	}
	return files, nil
}

func foldRows(rows []ScoreRow, f int) []ScoreRow {
	var out []ScoreRow
	for _, r := range rows {
		if r.Fold == f {
			out = append(out, r)
		}
	}
	return out
}

// plotBoxes draws Figures 9-10 for a perspective: box plots of every
// feasible approach's per-sample scores on the party's own test set, over
// all samples and folds.
func (d *reportData) plotBoxes(out string, pv perspective) ([]string, error) {
	var files []string
	for _, metric := range []string{"dice", "hd95"} {
		p := plot.New()
		name := map[string]string{"dice": "Dice", "hd95": "HD95 (px)"}[metric]
		p.Title.Text = fmt.Sprintf("%s on %s's test set (all samples and folds)", name, pv.party)
		p.Y.Label.Text = name
		var names []string
		for _, r := range d.shown {
			if !slices.Contains(pv.feasible, r.approach) {
				continue
			}
			var vals plotter.Values
			for _, s := range d.scores[r.name][pv.party] {
				v := s.Dice
				if metric == "hd95" {
					v = s.HD95
				}
				if defined(v) {
					vals = append(vals, v)
				}
			}
			if len(vals) == 0 {
				continue
			}
			box, err := plotter.NewBoxPlot(vg.Points(14), float64(len(names)), vals)
			if err != nil {
				return nil, fmt.Errorf("figure 9 (%s on %s's test set), approach %q: %w", metric, pv.party, r.name, err)
			}
			c, _ := palette(slices.IndexFunc(d.shown, func(x reported) bool { return x.name == r.name }))
			box.FillColor = color.NRGBA{c.R, c.G, c.B, 110}
			p.Add(box)
			names = append(names, r.name)
		}
		p.NominalX(names...)
		p.X.Tick.Label.Rotation = math.Pi / 4
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
		path := filepath.Join(out, fmt.Sprintf("fig9-%s-%s.png", pv.party, metric))
		if err := savePlot(p, path, 9*vg.Inch, 5.5*vg.Inch); err != nil {
			return nil, err
		}
		files = append(files, path)
	}
	return files, nil
}

// plotSweeps draws Figures 7-8 for a perspective: validation Dice and HD95
// by stitch index, averaged over folds, for each stitched approach whose
// stitches the party trains, with its A, B and a&b (mean over folds) as
// dashed lines.
func (d *reportData) plotSweeps(out string, pv perspective) ([]string, error) {
	var aps []string
	for _, ap := range d.plan.Approaches {
		if _, ok := d.sweeps[ap]; ok && stitchedApproaches[ap].party == pv.party {
			aps = append(aps, ap)
		}
	}
	if len(aps) == 0 {
		return nil, nil
	}
	var files []string
	for _, metric := range []string{"dice", "hd95"} {
		p := plot.New()
		name := map[string]string{"dice": "Dice", "hd95": "HD95 (px)"}[metric]
		p.Title.Text = fmt.Sprintf("Stitch-ensembles on %s's validation data, mean over folds", pv.party)
		p.X.Label.Text = "stitch index"
		p.Y.Label.Text = name
		pick := func(sw *Sweep, k int) float64 {
			s := sw.A
			switch {
			case k >= 0:
				s = sw.Scores[k]
			case k == -2:
				s = sw.B
			case k == -3:
				s = sw.Ensemble
			}
			if metric == "hd95" {
				return s.HD95
			}
			return s.Dice
		}
		// meanAt is the mean over folds where the score is defined (NaN
		// where it is defined in none: that position is left out).
		meanAt := func(sws []*Sweep, k int) float64 {
			var s float64
			n := 0
			for _, sw := range sws {
				if v := pick(sw, k); defined(v) {
					s += v
					n++
				}
			}
			if n == 0 {
				return math.NaN()
			}
			return s / float64(n)
		}
		points := 0
		for i, ap := range aps {
			sws := d.sweeps[ap]
			n := len(sws[0].Scores)
			var pts plotter.XYs
			for k := range n {
				if s := meanAt(sws, k); defined(s) {
					pts = append(pts, plotter.XY{X: float64(k), Y: s})
				}
			}
			points += len(pts)
			label := ap
			if len(pts) < n {
				label += fmt.Sprintf(" (undefined at %d of %d positions)", n-len(pts), n)
			}
			line, dots, err := plotter.NewLinePoints(pts)
			if err != nil {
				return nil, fmt.Errorf("figure 7 (%s on %s's validation data), approach %q: %w", metric, pv.party, ap, err)
			}
			c, g := palette(3*i + 3)
			line.Color, dots.Color, dots.Shape = c, c, g
			p.Add(line, dots)
			p.Legend.Add(label, line, dots)
			for j, ref := range []struct {
				name string
				k    int
			}{{"A", -1}, {"B", -2}, {"a&b", -3}} {
				s := meanAt(sws, ref.k)
				var seg plotter.XYs
				if defined(s) {
					seg = plotter.XYs{{X: 0, Y: s}, {X: float64(max(n-1, 1)), Y: s}}
					points++
				}
				l, err := plotter.NewLine(seg)
				if err != nil {
					return nil, fmt.Errorf("figure 7 (%s on %s's validation data), %s of approach %q: %w", metric, pv.party, ref.name, ap, err)
				}
				l.Color = c
				l.Dashes = []vg.Length{vg.Points(float64(2 + 3*j)), vg.Points(3)}
				p.Add(l)
				what := fmt.Sprintf("%.3f", s)
				if !defined(s) {
					what = "undefined"
				}
				p.Legend.Add(fmt.Sprintf("%s of %s (%s)", ref.name, ap, what), l)
			}
		}
		if points == 0 {
			p.Title.Text += " (undefined everywhere)"
			p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
		}
		// Room above the curves for the legend.
		p.Legend.Top, p.Legend.Left = true, false
		p.Legend.TextStyle.Font.Size = vg.Points(8)
		p.Y.Max += (p.Y.Max - p.Y.Min) * 0.5
		path := filepath.Join(out, fmt.Sprintf("fig7-%s-%s.png", pv.party, metric))
		if err := savePlot(p, path, 9*vg.Inch, 5*vg.Inch); err != nil {
			return nil, err
		}
		files = append(files, path)
	}
	return files, nil
}

// defined tells whether a score is defined: HD95 is NaN (or, read from a
// file, infinite) when a mask is empty.
func defined(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
