package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"time"

	"suture/bench"
	"suture/bench/profile"
	"suture/internal/atomicfile"
	"suture/kernels"
)

// profileFlag adds --cpuprofile to fs. The returned start begins the CPU
// profile when the flag was given and returns the function that ends it and
// puts the file in place (a no-op otherwise).
func profileFlag(fs *flag.FlagSet, what string) (start func() (stop func(), err error)) {
	path := fs.String("cpuprofile", "", "write a CPU profile of "+what+" to this file (go tool pprof)")
	return func() (func(), error) {
		if *path == "" {
			return func() {}, nil
		}
		if err := checkProfileOutput("cpuprofile", *path, cpuProfileOutput); err != nil {
			return nil, err
		}
		s, err := profile.StartCPUProfile(*path)
		if err != nil {
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		return func() { s.Stop() }, nil
	}
}

// runProfileFlag adds --profile DIR to a training command. The returned
// function wraps the command's backend: the trainer's first step is a
// warm-up, the next three are recorded, and their table, JSON rows, trace,
// CPU profile and runtime trace go to DIR (bench/profile.Run) while the run
// goes on. Without --profile but with --cpuprofile, every step runs under
// pprof labels (op, vertex, phase). It returns the backend to build on and
// the function that ends the profile (call it when the run ends; it reports
// on stderr).
func runProfileFlag(fs *flag.FlagSet) func(b kernels.Backend) (kernels.Backend, func(), error) {
	dir := fs.String("profile", "", "profile three training steps (after one warm-up step) into this folder: profile.txt, profile.jsonl, trace.json, cpu.pprof, go.trace")
	return func(b kernels.Backend) (kernels.Backend, func(), error) {
		if *dir == "" {
			if f := fs.Lookup("cpuprofile"); f != nil && f.Value.String() != "" {
				// Every step under labels op, vertex and phase, for
				// go tool pprof -tagfocus on the --cpuprofile output.
				return profile.New(b, profile.Options{Labels: true}), func() {}, nil
			}
			return b, func() {}, nil
		}
		peak, note := profile.MachinePeak(b, runtime.GOMAXPROCS(0))
		r, err := profile.StartRun(b, *dir, profile.RunOptions{PeakGFLOPS: peak, PeakNote: note,
			Notify: func(s string) { fmt.Fprintln(notices, "suture:", s) }})
		if err != nil {
			return nil, nil, fmt.Errorf("--profile: %w", err)
		}
		return r.Backend(), func() { r.Close() }, nil
	}
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
	features := fs.String("features", "", "features per stage of the unet case's network and of both stitched networks, e.g. 16,32,64,128 (default: the benchmark's 32,64,128,256,320 and 24,48,96,192,256)")
	overhead := fs.Int("overhead", 0, "instead of a profile, measure the step plain and profiled in this many alternating rounds and print the ratios")
	reps := fs.Int("reps", 7, "--overhead: timed samples per measurement (median)")
	minSample := fs.Duration("min-sample", 200*time.Millisecond, "--overhead: minimum length of one timed sample")
	list := fs.Bool("list", false, "list the cases and exit")
	mkBackend, setPrecision := backendFlag(fs), precisionFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	feats, err := parseInts(*features)
	if err != nil {
		return usageErr("--features: %v", err)
	}
	switch {
	case len(feats) == 1 || len(feats) > 6:
		return usageErr("--features %s: want 2 to 6 stages", *features)
	case *size < 16 || *size > 512 || *size%16 != 0:
		return usageErr("--size %d: want a multiple of 16 from 16 to 512 (the U-Net halves the image four times)", *size)
	case len(feats) == 6 && *size%32 != 0:
		return usageErr("--size %d: want a multiple of 32 for 6 stages (the U-Net halves the image five times)", *size)
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
	for _, o := range []struct {
		flag, path string
		kind       outputKind
	}{{"trace", *tracePath, chromeTraceOutput}, {"gotrace", *goTrace, goTraceOutput}, {"cpuprofile", *cpuProfile, cpuProfileOutput}} {
		if err := checkProfileOutput(o.flag, o.path, o.kind); err != nil {
			return err
		}
	}
	cases := bench.ProfileCases(*size, *batch, feats)
	if *list {
		bench.WriteCaseNames(out, cases)
		return nil
	}
	if err := require("case", *caseName); err != nil {
		return err
	}
	c, err := bench.FindCase(cases, *caseName)
	if errors.Is(err, bench.ErrNoCase) {
		return usageErr("--case %q: no such case (see --list)", *caseName)
	} else if err != nil {
		return usageErr("--case %q %v", *caseName, err)
	}
	if !bench.IsNetworkCase(c.Name) && (*size != 128 || *batch != 0 || feats != nil) {
		return usageErr("--size, --batch and --features apply to the unet and stitch cases, not %s", c.Name)
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
		ov, err := bench.ProfileOverhead(c, b, *threads, *overhead, bench.Options{Reps: *reps, MinSample: *minSample})
		if err == nil {
			ov.Write(out, b, *threads)
		}
		return err
	}
	peak, note := profile.MachinePeak(b, *threads)
	opts := profile.Options{Warmup: *warmup, Steps: *steps, Trace: *tracePath != "", Labels: *cpuProfile != "",
		PeakGFLOPS: peak, PeakNote: note + ", precision " + string(prec)}
	rep, err := bench.ProfileStreaming(c, b, *threads, opts, *cpuProfile, *goTrace)
	if fe := (*bench.FileError)(nil); errors.As(err, &fe) {
		return fmt.Errorf("%s: %w", map[string]string{*cpuProfile: "--cpuprofile", *goTrace: "--gotrace"}[fe.Path], fe.Err)
	} else if err != nil {
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
