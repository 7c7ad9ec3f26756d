package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"suture/bench"
)

func runBench(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("bench", out)
	prefix := fs.String("case", "", "run only cases starting with these comma-separated prefixes (e.g. conv3x3,unet/train)")
	asJSON := fs.Bool("json", false, "print one JSON object per case (case, ms, gflops, img_per_s, peak_frac, ...)")
	vsTorch := fs.Bool("vs-torch", false, "also run the PyTorch reference script and print the ratio per case")
	script := fs.String("torch-script", "../shared/bench/torch_cpu_bench.py", "the PyTorch reference benchmark")
	threads := fs.Int("threads", 2, "cores to use (the torch script's default is 2)")
	reps := fs.Int("reps", 7, "timed samples per case (median reported)")
	minSample := fs.Duration("min-sample", 200*time.Millisecond, "minimum length of one timed sample")
	list := fs.Bool("list", false, "list the cases and exit")
	startProfile := profileFlag(fs, "the timed cases")
	mkBackend := backendFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cases := bench.Cases()
	if *prefix != "" {
		cases = bench.Select(*prefix)
	}
	if len(cases) == 0 {
		return usageErr("no case starts with %q (see --list)", *prefix)
	}
	if *list {
		for _, c := range cases {
			fmt.Fprintln(out, c.Name)
		}
		return nil
	}
	if *vsTorch {
		if err := bench.TorchAvailable(); err != nil {
			return err // says how to install it; nothing is installed here
		}
	}
	b, err := mkBackend()
	if err != nil {
		return err
	}
	if !*asJSON {
		if _, ok := b.(bench.DeviceTimer); ok {
			fmt.Fprintf(out, "backend %s, timed on the device (events in its stream, L2 flushed before each repeat)\n", b.Name())
		} else {
			fmt.Fprintf(out, "%d threads, backend %s, nominal peak %.0f GFLOP/s\n", *threads, b.Name(), bench.PeakGFLOPS(*threads))
		}
		fmt.Fprintf(out, "%-34s %10s %9s %8s %6s\n", "case", "ms", "GFLOP/s", "img/s", "peak")
	}
	opts := bench.Options{Reps: *reps, MinSample: *minSample}
	stopProfile, err := startProfile()
	if err != nil {
		return err
	}
	defer stopProfile()
	results, err := bench.Run(b, cases, *threads, opts, func(r bench.Result) {
		if !*asJSON {
			printRow(out, r)
		}
	})
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return errInterrupted
	}
	if *vsTorch {
		if !*asJSON {
			fmt.Fprintf(out, "\nrunning the PyTorch reference (%s)...\n", *script)
		}
		torch, err := bench.RunTorch(*script, cases, *threads, os.Stderr)
		if err != nil {
			return err
		}
		if !*asJSON {
			fmt.Fprintf(out, "%-34s %10s %10s %8s\n", "case", "suture ms", "torch ms", "ratio")
		}
		for i := range results {
			r := &results[i]
			tm, ok := torch[r.Case]
			if !ok || tm <= 0 {
				r.TorchNote = "no PyTorch figure for this case"
				continue
			}
			r.TorchMS, r.VsTorch = &tm, ptr(tm/r.MS)
			if !*asJSON {
				fmt.Fprintf(out, "%-34s %10.3f %10.3f %7.2fx\n", r.Case, r.MS, tm, *r.VsTorch)
			}
		}
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func ptr(v float64) *float64 { return &v }

func printRow(out io.Writer, r bench.Result) {
	opt := func(p *float64, f string) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf(f, *p)
	}
	dirty := ""
	if r.Dirty {
		dirty = "  (machine busy: contaminated)"
	}
	fmt.Fprintf(out, "%-34s %10.3f %9s %8s %6s%s\n", r.Case, r.MS, opt(r.GFLOPS, "%.1f"), opt(r.ImgPerS, "%.2f"),
		pct(r.PeakFrac), dirty)
}

func pct(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100**p)
}
