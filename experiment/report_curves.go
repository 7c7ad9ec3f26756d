package experiment

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// curve is one trained approach's validation Dice by epoch, mean over the
// plan's folds (a plan with curves: every job's log.csv has them).
type curve struct {
	approach string
	val      string    // the validation data: "a", "b" or "a+b"
	offset   int       // epochs before its first (a fine-tuning or a student starts from an E-epoch network)
	dice     []float64 // mean over folds, epoch 1..len
}

// trainingCurves reads the validation curves of every trained approach of
// the plan from the results folder dir, in the plan's job order.
func (d *reportData) trainingCurves(dir string) ([]curve, error) {
	var out []curve
	at := map[string]int{}
	for _, j := range d.g.jobs {
		if !j.Kind.Trains() {
			continue
		}
		rows, err := readValDice(filepath.Join(dir, j.Dir, "log.csv"))
		if err != nil {
			return nil, fmt.Errorf("training curve of %s: %w", j.ID, err)
		}
		i, ok := at[j.Approach]
		if !ok {
			c := curve{approach: j.Approach, val: strings.Join(j.Parties, "+"), dice: make([]float64, len(rows))}
			if j.Kind == KindFineTune || j.Kind == KindDistill {
				c.offset = d.plan.UNet.Epochs
			}
			i, at[j.Approach] = len(out), len(out)
			out = append(out, c)
		}
		if len(rows) != len(out[i].dice) {
			return nil, fmt.Errorf("training curve of %s: %d epochs in log.csv, another fold has %d", j.ID, len(rows), len(out[i].dice))
		}
		for e, v := range rows {
			out[i].dice[e] += v / float64(len(d.plan.Folds))
		}
	}
	return out, nil
}

// readValDice reads the val_dice column of a training log.
func readValDice(path string) ([]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("%s: no epochs", path)
	}
	col := slices.Index(recs[0], "val_dice")
	if col < 0 {
		return nil, fmt.Errorf("%s: no val_dice column", path)
	}
	var out []float64
	for n, r := range recs[1:] {
		v, err := strconv.ParseFloat(r[col], 64)
		if err != nil {
			return nil, fmt.Errorf("%s, epoch row %d: %w", path, n+1, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// plotCurves draws the curves, one figure per validation set
// (curves-a.png, curves-b.png, curves-a+b.png), in the order they come.
func plotCurves(out string, cs []curve) ([]string, error) {
	var vals []string
	for _, c := range cs {
		if !slices.Contains(vals, c.val) {
			vals = append(vals, c.val)
		}
	}
	var files []string
	for _, v := range vals {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("Validation Dice by epoch, mean over folds (validation part of %s)", v)
		p.X.Label.Text = "epoch (fine-tunings and students continue from their base network's last epoch)"
		p.Y.Label.Text = "mean Dice"
		for i, c := range cs {
			if c.val != v {
				continue
			}
			pts := make(plotter.XYs, len(c.dice))
			for e, y := range c.dice {
				pts[e] = plotter.XY{X: float64(c.offset + e + 1), Y: y}
			}
			line, dots, err := plotter.NewLinePoints(pts)
			if err != nil {
				return nil, fmt.Errorf("training curve of %s: %w", c.approach, err)
			}
			col, g := palette(i)
			line.Color, dots.Color, dots.Shape = col, col, g
			dots.Radius = vg.Points(2)
			p.Add(line, dots)
			p.Legend.Add(c.approach, line, dots)
		}
		p.Legend.Top, p.Legend.Left = false, false
		p.Legend.TextStyle.Font.Size = vg.Points(8)
		path := filepath.Join(out, "curves-"+v+".png")
		if err := savePlot(p, path, 9*vg.Inch, 5*vg.Inch); err != nil {
			return nil, err
		}
		files = append(files, path)
	}
	return files, nil
}

// writeCurves adds the training-curves section: a table of each curve's
// first, last and best epoch, and the figures.
func (d *reportData) writeCurves(w func(string, ...any), dir, out string) ([]string, error) {
	cs, err := d.trainingCurves(dir)
	if err != nil {
		return nil, err
	}
	files, err := plotCurves(out, cs)
	if err != nil {
		return nil, err
	}
	w("## Training curves\n\n")
	w("Validation Dice after every epoch (every round for `a || b`), mean over folds, on the validation part of the data each " +
		"network trains on (both parties' for `a + b` and `a || b`). A fine-tuning or a student starts from its base network, " +
		"so its epochs are counted on from the base network's last. The networks tested are those of the last epoch, not the best.\n\n")
	w("| approach | validation part | epochs | first | last | best (epoch) |\n|---|---|---|---|---|---|\n")
	for _, c := range cs {
		best := 0
		for e, v := range c.dice {
			if v > c.dice[best] {
				best = e
			}
		}
		w("| `%s` | %s | %d-%d | %s | %s | %s (%d) |\n", c.approach, c.val, c.offset+1, c.offset+len(c.dice),
			f4(c.dice[0]), f4(c.dice[len(c.dice)-1]), f4(c.dice[best]), c.offset+best+1)
	}
	w("\n")
	for _, f := range files {
		w("![%s](%s) ", strings.TrimSuffix(filepath.Base(f), ".png"), filepath.Base(f))
	}
	w("\n\n")
	return files, nil
}
