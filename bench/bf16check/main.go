// Command bf16check draws the per-epoch validation Dice of the FP32 and
// BF16 runs of docs/bf16-check.md side by side:
//
//	go run ./bench/bf16check FP32/log.csv BF16/log.csv curves.png
package main

import (
	"encoding/csv"
	"fmt"
	"image/color"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: bf16check FP32/log.csv BF16/log.csv OUT.png")
		os.Exit(2)
	}
	if err := draw(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "bf16check:", err)
		os.Exit(1)
	}
}

// curve reads the epoch and val_dice columns of a training's log.csv.
func curve(path string) (plotter.XYs, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("%s: no epochs", path)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	ei, ok1 := col["epoch"]
	vi, ok2 := col["val_dice"]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%s: no epoch and val_dice columns", path)
	}
	var xy plotter.XYs
	for _, r := range rows[1:] {
		e, err1 := strconv.ParseFloat(r[ei], 64)
		v, err2 := strconv.ParseFloat(r[vi], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: bad row %v", path, r)
		}
		xy = append(xy, plotter.XY{X: e, Y: v})
	}
	return xy, nil
}

func draw(fp32, bf16, out string) error {
	p := plot.New()
	p.Title.Text = "Kvasir-SEG 64 px, fold 0: validation Dice by epoch"
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = "validation Dice"
	for i, run := range []struct{ name, path string }{{"FP32", fp32}, {"BF16", bf16}} {
		xy, err := curve(run.path)
		if err != nil {
			return err
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.Color = plotColors[i]
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(run.name, l)
	}
	p.Legend.Top, p.Legend.Left = false, false
	return p.Save(7*vg.Inch, 4*vg.Inch, out)
}

var plotColors = [2]color.Color{color.RGBA{R: 31, G: 119, B: 180, A: 255}, color.RGBA{R: 214, G: 39, B: 40, A: 255}}
