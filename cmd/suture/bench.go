package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"suture/bench"
	"suture/kernels"
	"suture/kernels/cpu"
)

func runBench(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("bench", out)
	prefix := fs.String("case", "", "run only cases starting with these comma-separated prefixes (e.g. conv3x3,unet/train)")
	asJSON := fs.Bool("json", false, "print one JSON object per case (case, ms, gflops, img_per_s, peak_frac, ...)")
	vsTorch := fs.Bool("vs-torch", false, "also run the PyTorch reference script and print the ratio per case "+
		"(on a GPU backend: PyTorch with cuDNN on that device, FP32 with TF32 off and on)")
	script := fs.String("torch-script", "", "the PyTorch reference benchmark (default: "+cpuTorchScript+
		", or for a GPU backend "+gpuTorchScript+" beside this binary or in kernels/cuda)")
	python := fs.String("python", "", "the Python that has PyTorch (default: "+bench.TorchPython+", or python3 from $PATH for a GPU backend)")
	scaleName := fs.String("scale", "full", "case sizes: full (the benchmark) or small (the same cases at CUDA-emulator sizes)")
	threads := fs.Int("threads", 2, "cores to use (the torch script's default is 2)")
	reps := fs.Int("reps", 7, "timed samples per case (median reported)")
	warmup := fs.Int("warmup", 3, "untimed calls per case before the timed ones")
	minSample := fs.Duration("min-sample", 200*time.Millisecond, "minimum length of one timed sample")
	list := fs.Bool("list", false, "list the cases and exit")
	gobench := fs.Bool("gobench", false, "print Go benchmark-format lines, one per timed sample (for benchstat -col /isa)")
	startProfile := profileFlag(fs, "the timed cases")
	mkBackend := backendFlag(fs)
	setPrecision := precisionFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *asJSON && *gobench {
		return usageErr("--json and --gobench: choose one output format")
	}
	if *gobench && *vsTorch {
		return usageErr("--gobench prints Suture's samples only: run the PyTorch reference without it")
	}
	if *reps < 1 || *warmup < 1 {
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
		for _, c := range cases {
			fmt.Fprintln(out, c.Name)
		}
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
	benchHeader(out, b, *threads, prec, onDevice, table, &opts)
	stopProfile, err := startProfile()
	if err != nil {
		return err
	}
	defer stopProfile()
	results, err := bench.Run(b, cases, *threads, opts, func(r bench.Result) {
		if table {
			printRow(out, r)
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
	if *vsTorch && onDevice {
		return compareDeviceTorch(b.Name(), results, cases, scale, *script, *python, *reps, *asJSON, out)
	}
	if *vsTorch {
		if err := compareCPUTorch(out, results, cases, *script, *threads, *asJSON); err != nil {
			return err
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

// benchHeader fills in opts the peak FP32 rate and micro-kernel path of
// the CPU (measured on threads cores; none on a device), and prints the
// machine's line and the table's header when the output is a table.
func benchHeader(out io.Writer, b kernels.Backend, threads int, prec kernels.Precision, onDevice, table bool, opts *bench.Options) {
	if !onDevice {
		peaks := cpu.MeasurePeaks(threads, 300*time.Millisecond)
		opts.PeakGFLOPS, opts.ISA = peaks.FP32(), string(cpu.CurrentISA())
		if b.Name() == "cpu-ref" {
			opts.ISA = "" // the plain references: no micro-kernel path
		}
		if table {
			fmt.Fprintf(out, "CPU %s; %d threads, backend %s, path %s (paths here: %s), precision %s\n", cpu.CPUModel(), threads, b.Name(),
				cmp.Or(opts.ISA, "-"), isaNames(), prec)
			fmt.Fprintf(out, "peaks (measured): %s; peak column: the best FP32 one, %.0f GFLOP/s\n", peaks, opts.PeakGFLOPS)
		}
	} else if table {
		fmt.Fprintf(out, "backend %s, timed on the device (events in its stream, L2 flushed before each repeat)\n", b.Name())
	}
	if table {
		fmt.Fprintf(out, "%-34s %10s %9s %8s %6s\n", "case", "ms", "GFLOP/s", "img/s", "peak")
	}
}

// compareCPUTorch runs the PyTorch CPU reference script (cpuTorchScript
// when script is "") on the cases and sets each result's PyTorch time and
// ratio, or a note when the script has no figure for the case; without
// asJSON it prints them as a table.
func compareCPUTorch(out io.Writer, results []bench.Result, cases []bench.Case, script string, threads int, asJSON bool) error {
	if script == "" {
		script = cpuTorchScript
	}
	if !asJSON {
		fmt.Fprintf(out, "\nrunning the PyTorch reference (%s)...\n", script)
	}
	torch, err := bench.RunTorch(script, cases, threads, os.Stderr)
	if err != nil {
		return err
	}
	if !asJSON {
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
		if !asJSON {
			fmt.Fprintf(out, "%-34s %10.3f %10.3f %7.2fx\n", r.Case, r.MS, tm, *r.VsTorch)
		}
	}
	return nil
}

const (
	cpuTorchScript = "../shared/bench/torch_cpu_bench.py"
	gpuTorchScript = "torch_gpu_bench.py"
)

// compareDeviceTorch runs the PyTorch GPU script on the device of a GPU
// backend (cuda; the CPU for the emulator, which runs there) at the same
// scale and prints PyTorch's FP32 and TF32 times beside ours.
func compareDeviceTorch(backend string, results []bench.Result, cases []bench.Case, scale bench.Scale, script, python string,
	reps int, asJSON bool, out io.Writer) error {
	if script == "" {
		script = findGPUTorchScript()
	}
	if python == "" {
		python = "python3"
	}
	device := "cuda"
	if backend != "cuda" {
		device = "cpu"
	}
	var info io.Writer = out
	if asJSON {
		info = os.Stderr
	}
	if !asJSON {
		fmt.Fprintf(out, "\nrunning PyTorch on %s (%s %s)...\n", device, python, script)
	}
	torch, err := bench.RunTorchDevice(python, script, cases, scale, device, reps, info, os.Stderr)
	if err != nil {
		return err
	}
	if !asJSON {
		fmt.Fprintf(out, "%-34s %10s %12s %7s %12s %7s\n", "case", "suture ms", "torch fp32", "ratio", "torch tf32", "ratio")
	}
	for i := range results {
		r := &results[i]
		tm, ok := torch[r.Case]
		if !ok || tm.FP32 <= 0 {
			r.TorchNote = "no PyTorch figure for this case"
			if !asJSON {
				fmt.Fprintf(out, "%-34s %10.3f %12s\n", r.Case, r.MS, "-")
			}
			continue
		}
		r.TorchMS, r.VsTorch = ptr(tm.FP32), ptr(tm.FP32/r.MS)
		tf32, tf32Ratio := "-", "-"
		if tm.TF32 > 0 {
			r.TorchTF32MS, r.VsTorchTF32 = ptr(tm.TF32), ptr(tm.TF32/r.MS)
			tf32, tf32Ratio = fmt.Sprintf("%.3f", tm.TF32), fmt.Sprintf("%.2fx", *r.VsTorchTF32)
		}
		if !asJSON {
			fmt.Fprintf(out, "%-34s %10.3f %12.3f %6.2fx %12s %7s\n", r.Case, r.MS, tm.FP32, *r.VsTorch, tf32, tf32Ratio)
		}
	}
	if asJSON {
		enc := json.NewEncoder(out)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// findGPUTorchScript returns torch_gpu_bench.py beside this executable (the
// GPU kit, bin/gpu), else in kernels/cuda of the working directory.
func findGPUTorchScript() string {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), gpuTorchScript)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join("kernels", "cuda", gpuTorchScript)
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

// isaNames lists the instruction-set paths this CPU can run.
func isaNames() string {
	var s []string
	for _, isa := range cpu.ISAs() {
		s = append(s, string(isa))
	}
	return strings.Join(s, ", ")
}
