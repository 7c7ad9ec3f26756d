package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"suture/bench"
	"suture/kernels/cpu"
)

func runBench(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("bench", out)
	prefix := fs.String("case", "", "run only cases starting with these comma-separated prefixes (e.g. conv3x3,unet/train)")
	asJSON := fs.Bool("json", false, "print one JSON object per case (case, ms, gflops, img_per_s, peak_frac, ...)")
	vsTorch := fs.Bool("vs-torch", false, "also run the PyTorch reference script and print the ratio per case "+
		"(on a GPU backend: PyTorch with cuDNN on that device, FP32 with TF32 off and on)")
	script := fs.String("torch-script", "", "the PyTorch reference benchmark (default: "+bench.CPUTorchScript+
		", or for a GPU backend "+bench.GPUTorchScript+" beside this binary or in kernels/cuda)")
	python := fs.String("python", "", "the Python that has PyTorch (default: "+bench.TorchPython+", or python3 from $PATH for a GPU backend)")
	scaleName := fs.String("scale", "full", "case sizes: full (the benchmark) or small (the same cases at CUDA-emulator sizes)")
	threads := fs.Int("threads", 2, "cores to use (the torch script's default is 2)")
	reps := fs.Int("reps", 7, "timed samples per case (median reported)")
	warmup := fs.Int("warmup", 3, "untimed calls per case before the timed ones")
	minSample := fs.Duration("min-sample", 200*time.Millisecond, "minimum length of one timed sample")
	list := fs.Bool("list", false, "list the cases and exit")
	gobench := fs.Bool("gobench", false, "print Go benchmark-format lines, one per timed sample (for benchstat -col /isa)")
	startProfile := profileFlag(fs, "the timed cases")
	mkBackend, setPrecision := backendFlag(fs), precisionFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *asJSON && *gobench:
		return usageErr("--json and --gobench: choose one output format")
	case *gobench && *vsTorch:
		return usageErr("--gobench prints Suture's samples only: run the PyTorch reference without it")
	case *reps < 1 || *warmup < 1:
		return usageErr("--reps %d, --warmup %d: want at least 1 of each", *reps, *warmup)
	}
	scale, err := bench.ScaleNamed(*scaleName)
	if err != nil {
		return usageErr("--scale: %v", err)
	}
	cases := bench.CasesAt(scale)
	if *prefix != "" {
		cases = bench.Filter(cases, *prefix)
	}
	if len(cases) == 0 {
		return usageErr("no case starts with %q (see --list)", *prefix)
	}
	if *list {
		bench.WriteCaseNames(out, cases)
		return nil
	}
	b, err := mkBackend()
	if err != nil {
		return err
	}
	prec, err := setPrecision(b)
	if err != nil {
		return err
	}
	_, onDevice := b.(bench.DeviceTimer)
	if *vsTorch && !onDevice {
		if scale.Name != bench.Full.Name {
			return usageErr("--vs-torch on the CPU compares the full-scale cases only (the CPU script's sizes)")
		}
		if *python != "" {
			bench.TorchPython = *python
		}
		if err := bench.TorchAvailable(); err != nil {
			return err // says how to install it; nothing is installed here
		}
	}
	opts := bench.Options{Reps: *reps, Warmup: *warmup, MinSample: *minSample, Precision: string(prec)}
	table := !*asJSON && !*gobench
	var host *bench.Host
	if !onDevice {
		h := bench.MeasureHost(b, *threads)
		host, opts.PeakGFLOPS, opts.ISA = &h, h.Peaks.FP32(), h.ISA
	}
	if table {
		bench.WriteHeader(out, b, *threads, prec, host)
	}
	stopProfile, err := startProfile()
	if err != nil {
		return err
	}
	defer stopProfile()
	results, err := bench.Run(b, cases, *threads, opts, func(r bench.Result) {
		if table {
			bench.WriteRow(out, r)
		}
	})
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return errInterrupted
	}
	if *gobench {
		return bench.WriteGoBench(out, cpu.CPUModel(), results)
	}
	if *vsTorch {
		t := bench.NewTorch(b.Name(), onDevice, *script, *python, *threads, *reps, scale)
		var info io.Writer = os.Stderr
		if !*asJSON {
			info = out
			fmt.Fprintf(out, "\nrunning %s...\n", t)
		}
		if err := t.Run(results, cases, info, os.Stderr); err != nil {
			return err
		}
		if !*asJSON {
			bench.WriteTorchTable(out, results, onDevice)
		}
	}
	if *asJSON {
		return bench.WriteJSON(out, results)
	}
	return nil
}
