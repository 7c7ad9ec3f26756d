package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"suture/experiment"
)

func runDemo(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("demo", out)
	dir := fs.String("out", "demo-out", "folder for the checkpoints, the sweep CSV and its plot")
	quick := fs.Bool("quick", false, "a tiny run (seconds) that shows the pipeline, not the result")
	mkBackend := backendFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	b, err := mkBackend()
	if err != nil {
		return err
	}
	o := experiment.DemoOptions{Dir: *dir, N: 360, Size: 32, Features: []int{16, 32, 64}, UNetEpochs: 12, Batch: 8,
		StitchEpochs: 3, Points: "all", Seed: 1}
	if *quick {
		o = experiment.DemoOptions{Dir: *dir, N: 48, Size: 16, Features: []int{4, 8}, UNetEpochs: 2, UNetIters: 3, Batch: 4,
			StitchEpochs: 1, StitchIters: 2, Points: "all", Seed: 1}
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(out, "Suture demo: two parties with synthetic data (%d images of %d px each; party b is domain-shifted).\n", o.N, o.Size)
	bar := newProgress(out)
	stage := ""
	res, err := experiment.Demo(ctx, b, o, func(s experiment.DemoStage) {
		if s.Stage != stage {
			bar.done()
			stage = s.Stage
			fmt.Fprintf(out, "- %s\n", stage)
		}
		bar.update(s.Done, s.Total, fmt.Sprintf("%d/%d  loss %.4f", s.Done, s.Total, s.Loss))
	})
	bar.done()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %v", errInterrupted, err)
		}
		return err
	}
	fmt.Fprintf(out, "\n%d matched pairs; stitch-ensemble %d chosen on party a's validation data.\n\n", res.Pairs, res.Chosen)
	fmt.Fprintf(out, "%-20s %18s %18s\n", "network", "test a: Dice HD95", "test b: Dice HD95")
	for _, r := range res.Rows {
		fmt.Fprintf(out, "%-20s %9.4f %8.2f %9.4f %8.2f\n", r.Name, r.OnA.Dice, r.OnA.HD95, r.OnB.Dice, r.OnB.HD95)
	}
	fmt.Fprintf(out, "\nwrote:")
	for _, f := range res.Files {
		fmt.Fprintf(out, " %s", f)
	}
	fmt.Fprintf(out, "\ndone in %.0f s\n", res.Seconds)
	return nil
}
