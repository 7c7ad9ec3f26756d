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
		for i, r := range d.shown {
			c, g := palette(i)
			var folds plotter.XYs
			for _, f := range d.plan.Folds {
				x, _ := meanOf(foldRows(d.scores[r.name]["a"], f), metric)
				y, _ := meanOf(foldRows(d.scores[r.name]["b"], f), metric)
				if !math.IsNaN(x) && !math.IsNaN(y) {
					folds = append(folds, plotter.XY{X: x, Y: y})
				}
			}
			mx, _ := meanOf(d.scores[r.name]["a"], metric)
			my, _ := meanOf(d.scores[r.name]["b"], metric)
			small, err := plotter.NewScatter(folds)
			if err != nil {
				return nil, err
			}
			small.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(2), Shape: g}
			big, err := plotter.NewScatter(plotter.XYs{{X: mx, Y: my}})
			if err != nil {
				return nil, err
			}
			big.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(5), Shape: g}
			p.Add(small, big)
			p.Legend.Add(r.name, big)
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
				if !math.IsNaN(v) {
					vals = append(vals, v)
				}
			}
			if len(vals) == 0 {
				continue
			}
			box, err := plotter.NewBoxPlot(vg.Points(14), float64(len(names)), vals)
			if err != nil {
				return nil, err
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
		for i, ap := range aps {
			sws := d.sweeps[ap]
			n := len(sws[0].Scores)
			pts := make(plotter.XYs, n)
			for k := range n {
				var s float64
				for _, sw := range sws {
					s += pick(sw, k) / float64(len(sws))
				}
				pts[k] = plotter.XY{X: float64(k), Y: s}
			}
			line, dots, err := plotter.NewLinePoints(pts)
			if err != nil {
				return nil, err
			}
			c, g := palette(3*i + 3)
			line.Color, dots.Color, dots.Shape = c, c, g
			p.Add(line, dots)
			p.Legend.Add(ap, line, dots)
			for j, ref := range []struct {
				name string
				k    int
			}{{"A", -1}, {"B", -2}, {"a&b", -3}} {
				var s float64
				for _, sw := range sws {
					s += pick(sw, ref.k) / float64(len(sws))
				}
				l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: s}, {X: float64(max(n-1, 1)), Y: s}})
				if err != nil {
					return nil, err
				}
				l.Color = c
				l.Dashes = []vg.Length{vg.Points(float64(2 + 3*j)), vg.Points(3)}
				p.Add(l)
				p.Legend.Add(fmt.Sprintf("%s of %s (%.3f)", ref.name, ap, s), l)
			}
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
