package experiment

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"suture/stitch"
)

// savePlot writes p as a PNG atomically.
func savePlot(p *plot.Plot, path string, w, h vg.Length) error {
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return err
	}
	return writeTextFrom(path, wt)
}

// Plot draws Dice and HD95 per stitch position, with the base networks and
// their ensemble as horizontal lines (the paper's Figure 8).
func (sw *Sweep) Plot(path string) error {
	p := plot.New()
	p.Title.Text = "Stitch-ensembles by position"
	p.X.Label.Text = "stitch index (matched pairs in A's call order)"
	p.Y.Label.Text = "mean Dice"
	pts := make(plotter.XYs, len(sw.Scores))
	for k, s := range sw.Scores {
		pts[k] = plotter.XY{X: float64(k), Y: s.Dice}
	}
	line, dots, err := plotter.NewLinePoints(pts)
	if err != nil {
		return err
	}
	line.Color, dots.Color = color.RGBA{R: 200, A: 255}, color.RGBA{R: 200, A: 255}
	p.Add(line, dots)
	p.Legend.Add("stitch-ensemble", line, dots)
	for _, ref := range []struct {
		name string
		s    stitch.Score
		c    color.RGBA
	}{{"a", sw.A, color.RGBA{B: 200, A: 255}}, {"b", sw.B, color.RGBA{G: 150, A: 255}}, {"a&b", sw.Ensemble, color.RGBA{A: 255}}} {
		l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: ref.s.Dice}, {X: float64(max(len(sw.Scores)-1, 1)), Y: ref.s.Dice}})
		if err != nil {
			return err
		}
		l.Color = ref.c
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s (%.3f)", ref.name, ref.s.Dice), l)
	}
	p.Legend.Top, p.Legend.Left = false, true
	p.Legend.YOffs = vg.Points(-10)
	return savePlot(p, path, 8*vg.Inch, 4.5*vg.Inch)
}

// PlotSample draws Dice against the number of stitched switches (RQ1).
func PlotSample(path string, res []stitch.SampledNetwork, label string) error {
	p := plot.New()
	p.Title.Text = "Sampled stitched networks (" + label + ")"
	p.X.Label.Text = "switches set to stitched"
	p.Y.Label.Text = "mean Dice"
	pts := make(plotter.XYs, 0, len(res))
	for _, r := range res {
		pts = append(pts, plotter.XY{X: float64(r.Stitched), Y: r.Score.Dice})
	}
	sc, err := plotter.NewScatter(pts)
	if err != nil {
		return err
	}
	p.Add(sc)
	return savePlot(p, path, 6*vg.Inch, 4*vg.Inch)
}
