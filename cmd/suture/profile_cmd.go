package main

import (
	"context"
	"fmt"
	"io"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"time"

	"suture/bench"
	"suture/bench/profile"
	"suture/internal/atomicfile"
	"suture/kernels"
)

// profileCases are bench's cases with the network cases at size and batch.
func profileCases(size, batch int) []bench.Case {
	var cs []bench.Case
	for _, c := range bench.Cases() {
		if !isNetworkCase(c.Name) {
			cs = append(cs, c)
		}
	}
	return append(cs, bench.NetworkCases(size, batch)...)
}

func isNetworkCase(name string) bool {
	return strings.HasPrefix(name, "unet/") || strings.HasPrefix(name, "stitch/")
}

// pickCase finds the case named name, or the only one it is a prefix of.
func pickCase(cases []bench.Case, name string) (bench.Case, error) {
	var hits []string
	var hit bench.Case
	for _, c := range cases {
		if c.Name == name {
			return c, nil
		}
		if strings.HasPrefix(c.Name, name) {
			hits = append(hits, c.Name)
			hit = c
		}
	}
	switch len(hits) {
	case 0:
		return hit, usageErr("--case %q: no such case (see --list)", name)
	case 1:
		return hit, nil
	}
	return hit, usageErr("--case %q names %d cases (%s); give one", name, len(hits), strings.Join(hits, ", "))
}

func runProfile(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("profile", out)
	caseName := fs.String("case", "", "the case of `suture bench` to profile, e.g. unet/train or stitch/double")
	steps := fs.Int("steps", 5, "steps recorded")
	warmup := fs.Int("warmup", 2, "steps run before recording")
	threads := fs.Int("threads", 2, "cores to use")
	asJSON := fs.Bool("json", false, "print one JSON object per row (op, vertex, phase, calls, ms, self_ms, gflops, frac_step, ...), then the total row")
	tracePath := fs.String("trace", "", "write a Chrome trace (Perfetto, chrome://tracing) of the recorded steps to this file")
	goTrace := fs.String("gotrace", "", "write a runtime/trace of the steps (go tool trace), with a region per vertex and op, to this file")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the steps, labelled op, vertex and phase (go tool pprof -tagfocus), to this file")
	rows := fs.Int("rows", 25, "rows per section of the table (0: all)")
	size := fs.Int("size", 128, "image size of the unet and stitch cases (a multiple of 16, 16..512)")
	batch := fs.Int("batch", 0, "images per step of the unet and stitch cases (0: the case's own, 8 and 4)")
	overhead := fs.Int("overhead", 0, "instead of a profile, measure the step plain and profiled in this many alternating rounds and print the ratios")
	reps := fs.Int("reps", 7, "--overhead: timed samples per measurement (median)")
	minSample := fs.Duration("min-sample", 200*time.Millisecond, "--overhead: minimum length of one timed sample")
	list := fs.Bool("list", false, "list the cases and exit")
	mkBackend := backendFlag(fs)
	setPrecision := precisionFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *size < 16 || *size > 512 || *size%16 != 0:
		return usageErr("--size %d: want a multiple of 16 from 16 to 512 (the U-Net halves the image four times)", *size)
	case *batch < 0 || *batch > 64:
		return usageErr("--batch %d: want 0 (the case's own) to 64", *batch)
	case *batch*(*size)*(*size) > 32*256*256:
		return usageErr("--batch %d at --size %d: more than 32 images of 256x256 per step; the activations would not fit a bounded memory", *batch, *size)
	case *steps < 1 || *warmup < 0:
		return usageErr("--steps must be >= 1 and --warmup >= 0")
	case *threads < 1:
		return usageErr("--threads must be >= 1")
	case *overhead < 0:
		return usageErr("--overhead must be >= 0")
	}
	cases := profileCases(*size, *batch)
	if *list {
		for _, c := range cases {
			fmt.Fprintln(out, c.Name)
		}
		return nil
	}
	if err := require("case", *caseName); err != nil {
		return err
	}
	c, err := pickCase(cases, *caseName)
	if err != nil {
		return err
	}
	if !isNetworkCase(c.Name) && (*size != 128 || *batch != 0) {
		return usageErr("--size and --batch apply to the unet and stitch cases, not %s", c.Name)
	}
	b, err := mkBackend()
	if err != nil {
		return err
	}
	prec, err := setPrecision(b)
	if err != nil {
		return err
	}
	if *overhead > 0 {
		return printOverhead(out, c, b, *threads, *overhead, bench.Options{Reps: *reps, MinSample: *minSample})
	}
	peak, note := machinePeak(b, *threads)
	note += ", precision " + string(prec)
	opts := profile.Options{Warmup: *warmup, Steps: *steps, Trace: *tracePath != "", Labels: *cpuProfile != "",
		PeakGFLOPS: peak, PeakNote: note}
	rep, err := profileWithStreams(c, b, *threads, opts, *cpuProfile, *goTrace)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return errInterrupted
	}
	if *tracePath != "" {
		if err := atomicfile.Write(*tracePath, rep.WriteTrace); err != nil {
			return fmt.Errorf("--trace: %w", err)
		}
	}
	if *asJSON {
		return rep.WriteJSON(out)
	}
	fmt.Fprintf(out, "profile of %s, %d threads\n", c.Name, *threads)
	return rep.WriteTable(out, *rows)
}

// printOverhead measures case c plain, profiled, and profiled with a trace,
// in that many alternating rounds (--overhead), and prints the times and
// the ratios.
func printOverhead(out io.Writer, c bench.Case, b kernels.Backend, threads, rounds int, o bench.Options) error {
	ov, err := bench.ProfileOverhead(c, b, threads, rounds, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s on %s, %d threads, %d rounds (median of each round's median, ms):\n", c.Name, b.Name(), threads, rounds)
	fmt.Fprintf(out, "plain            %s\nprofiled         %s\nprofiled+trace   %s\n", msList(ov.PlainMS), msList(ov.TableMS), msList(ov.TraceMS))
	fmt.Fprintf(out, "overhead: %+.1f%% (table), %+.1f%% (table and trace)\n", 100*(ov.Table-1), 100*(ov.Trace-1))
	return nil
}

// profileWithStreams profiles case c, with a CPU profile (--cpuprofile)
// and a runtime trace (--gotrace) of the recorded steps streaming into
// their files when those are not "". Both are stopped before it returns; a
// failure to finish them is its error.
func profileWithStreams(c bench.Case, b kernels.Backend, threads int, opts profile.Options, cpuProfile, goTrace string) (*profile.Report, error) {
	var stops []func() error
	defer func() {
		for _, s := range stops {
			s()
		}
	}()
	before := func() error {
		if cpuProfile != "" {
			stop, err := startStream(cpuProfile, "--cpuprofile", pprof.StartCPUProfile, pprof.StopCPUProfile)
			if err != nil {
				return err
			}
			stops = append(stops, stop)
		}
		if goTrace != "" {
			stop, err := startStream(goTrace, "--gotrace", trace.Start, trace.Stop)
			if err != nil {
				return err
			}
			stops = append(stops, stop)
		}
		return nil
	}
	rep, err := bench.Profile(c, b, threads, opts, before)
	if err != nil {
		return nil, err
	}
	for _, s := range stops {
		if err := s(); err != nil {
			return nil, err
		}
	}
	stops = nil
	return rep, nil
}

// startStream starts a profile or trace that streams into path (written to
// a temporary file and renamed when stopped, so path is whole or absent).
func startStream(path, flagName string, start func(io.Writer) error, stop func()) (func() error, error) {
	f, err := atomicfile.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flagName, err)
	}
	if err := start(f); err != nil {
		f.Abort()
		return nil, fmt.Errorf("%s: %w", flagName, err)
	}
	done := false
	return func() error {
		if done {
			return nil
		}
		done = true
		stop()
		if err := f.Commit(); err != nil {
			return fmt.Errorf("%s: %w", flagName, err)
		}
		return nil
	}, nil
}

func msList(xs []float64) string {
	var s []string
	for _, x := range xs {
		s = append(s, fmt.Sprintf("%.1f", x))
	}
	return strings.Join(s, " ")
}
