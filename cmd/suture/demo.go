package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"suture/experiment"
	"suture/internal/progress"
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
	o := experiment.DemoPreset(*dir, *quick)
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(out, "Suture demo: two parties with synthetic data (%d images of %d px each; party b is domain-shifted).\n", o.N, o.Size)
	bar := progress.New(out)
	res, err := experiment.Demo(ctx, b, o, experiment.DemoProgress(out, bar))
	bar.Done()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %v", errInterrupted, err)
		}
		return err
	}
	res.WriteTable(out)
	return nil
}
