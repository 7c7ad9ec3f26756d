package experiment

import (
	"encoding/csv"
	"fmt"
	"image/color"
	"math"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// SampleRow is one row of a sample CSV (WriteSampleCSV).
type SampleRow struct {
	Stitched, Active int
	Dice, HD95       float64
}

// ReadSampleCSV reads a CSV written by WriteSampleCSV.
func ReadSampleCSV(path string) ([]SampleRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) < 2 || len(recs[0]) < 5 || recs[0][0] != "stitched_switches" || recs[0][3] != "dice" {
		return nil, fmt.Errorf("%s: not a sample CSV (want the header of `suture stitch sample`)", path)
	}
	rows := make([]SampleRow, 0, len(recs)-1)
	for i, r := range recs[1:] {
		var row SampleRow
		var e1, e2, e3, e4 error
		row.Stitched, e1 = strconv.Atoi(r[0])
		row.Active, e2 = strconv.Atoi(r[1])
		row.Dice, e3 = strconv.ParseFloat(r[3], 64)
		row.HD95, e4 = strconv.ParseFloat(r[4], 64)
		for _, e := range []error{e1, e2, e3, e4} {
			if e != nil {
				return nil, fmt.Errorf("%s: row %d: %v", path, i+2, e)
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// RQ1Bins summarises sampled networks by the fraction of switches stitched:
// the mean Dice in [0, 1/4), [1/4, 1/2), [1/2, 3/4), [3/4, 1], and over all
// networks with at least half of the switches stitched (RQ1's figure).
type RQ1Bins struct {
	Switches    int
	Bins        [4]float64
	Counts      [4]int
	AtLeastHalf float64
	NHalf       int
}

// SummarizeRQ1 bins rows; switches is the number of switches (2 x pairs),
// taken as the largest stitched count when 0.
func SummarizeRQ1(rows []SampleRow, switches int) RQ1Bins {
	for _, r := range rows {
		switches = max(switches, r.Stitched)
	}
	var b RQ1Bins
	b.Switches = switches
	var sums [4]float64
	var half float64
	for _, r := range rows {
		if math.IsNaN(r.Dice) || switches == 0 {
			continue
		}
		i := min(4*r.Stitched/switches, 3)
		sums[i] += r.Dice
		b.Counts[i]++
		if 2*r.Stitched >= switches {
			half += r.Dice
			b.NHalf++
		}
	}
	for i := range sums {
		b.Bins[i] = sums[i] / float64(b.Counts[i])
	}
	b.AtLeastHalf = half / float64(b.NHalf)
	return b
}

// PlotRQ1 draws the sampled networks of several runs on one plot: Dice
// against the fraction of switches stitched.
func PlotRQ1(path string, labels []string, runs [][]SampleRow) error {
	p := plot.New()
	p.Title.Text = "Sampled stitched networks (RQ1)"
	p.X.Label.Text = "fraction of switches set to stitched"
	p.Y.Label.Text = "mean Dice"
	colors := []color.RGBA{{R: 200, A: 255}, {B: 200, A: 255}, {G: 140, A: 255}, {R: 120, B: 120, A: 255}}
	shapes := []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.SquareGlyph{}, draw.CrossGlyph{}}
	for i, rows := range runs {
		sw := SummarizeRQ1(rows, 0).Switches
		pts := make(plotter.XYs, 0, len(rows))
		for _, r := range rows {
			pts = append(pts, plotter.XY{X: float64(r.Stitched) / float64(max(sw, 1)), Y: r.Dice})
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.Color = colors[i%len(colors)]
		sc.Shape = shapes[i%len(shapes)]
		p.Add(sc)
		p.Legend.Add(labels[i], sc)
	}
	p.Legend.Top = true
	return savePlot(p, path, 7*vg.Inch, 4.5*vg.Inch)
}
