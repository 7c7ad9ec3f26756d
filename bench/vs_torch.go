package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// The PyTorch reference scripts: the CPU one (a path from the working
// directory) and the GPU one (found by FindGPUTorchScript).
const (
	CPUTorchScript = "../shared/bench/torch_cpu_bench.py"
	GPUTorchScript = "torch_gpu_bench.py"
)

// FindGPUTorchScript returns torch_gpu_bench.py beside this executable (the
// GPU kit, bin/gpu), else in kernels/cuda of the working directory.
func FindGPUTorchScript() string {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), GPUTorchScript)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join("kernels", "cuda", GPUTorchScript)
}

// Torch is a run of the PyTorch reference for a benchmark's results: on
// the CPU, RunTorch with the CPU script; for a backend timed on its device
// (OnDevice), RunTorchDevice with the GPU script on Device ("cuda"; "cpu"
// for the CUDA emulator, which runs there).
type Torch struct {
	OnDevice               bool
	Device, Python, Script string
	Threads, Reps          int
	Scale                  Scale
}

// NewTorch fills in the defaults of a Torch for backend: script ""
// is CPUTorchScript, or FindGPUTorchScript() on a device; python "" is
// python3 on a device (the CPU run uses TorchPython).
func NewTorch(backend string, onDevice bool, script, python string, threads, reps int, s Scale) Torch {
	t := Torch{OnDevice: onDevice, Script: script, Python: python, Threads: threads, Reps: reps, Scale: s, Device: "cuda"}
	if !onDevice {
		if t.Script == "" {
			t.Script = CPUTorchScript
		}
		return t
	}
	if t.Script == "" {
		t.Script = FindGPUTorchScript()
	}
	if t.Python == "" {
		t.Python = "python3"
	}
	if backend != "cuda" {
		t.Device = "cpu"
	}
	return t
}

// String says what runs: "the PyTorch reference (SCRIPT)" or "PyTorch on
// DEVICE (PYTHON SCRIPT)".
func (t Torch) String() string {
	if !t.OnDevice {
		return fmt.Sprintf("the PyTorch reference (%s)", t.Script)
	}
	return fmt.Sprintf("PyTorch on %s (%s %s)", t.Device, t.Python, t.Script)
}

// Run runs PyTorch on cases and joins its figures into results
// (JoinTorch). The GPU script's line about its versions goes to info; the
// scripts' stderr to stderr.
func (t Torch) Run(results []Result, cases []Case, info io.Writer, stderr *os.File) error {
	var torch map[string]TorchTimes
	if t.OnDevice {
		var err error
		if torch, err = RunTorchDevice(t.Python, t.Script, cases, t.Scale, t.Device, t.Reps, info, stderr); err != nil {
			return err
		}
	} else {
		ms, err := RunTorch(t.Script, cases, t.Threads, stderr)
		if err != nil {
			return err
		}
		torch = map[string]TorchTimes{}
		for c, v := range ms {
			torch[c] = TorchTimes{FP32: v}
		}
	}
	JoinTorch(results, torch)
	return nil
}

// JoinTorch sets each result's PyTorch figures from torch (by case name):
// the FP32 time and its ratio, and the TF32 time and its ratio where
// measured. A case without an FP32 figure gets a note instead.
func JoinTorch(results []Result, torch map[string]TorchTimes) {
	for i := range results {
		r := &results[i]
		tm, ok := torch[r.Case]
		if !ok || tm.FP32 <= 0 {
			r.TorchNote = "no PyTorch figure for this case"
			continue
		}
		r.TorchMS, r.VsTorch = ptr(tm.FP32), ptr(tm.FP32/r.MS)
		if tm.TF32 > 0 {
			r.TorchTF32MS, r.VsTorchTF32 = ptr(tm.TF32), ptr(tm.TF32/r.MS)
		}
	}
}

// WriteTorchTable writes results (joined by JoinTorch) beside PyTorch's
// times: on the CPU a row per case with a figure; on a device every case,
// with PyTorch's FP32 and TF32 times ("-" where there is none).
func WriteTorchTable(w io.Writer, results []Result, onDevice bool) {
	if !onDevice {
		fmt.Fprintf(w, "%-34s %10s %10s %8s\n", "case", "suture ms", "torch ms", "ratio")
		for _, r := range results {
			if r.TorchMS != nil {
				fmt.Fprintf(w, "%-34s %10.3f %10.3f %7.2fx\n", r.Case, r.MS, *r.TorchMS, *r.VsTorch)
			}
		}
		return
	}
	fmt.Fprintf(w, "%-34s %10s %12s %7s %12s %7s\n", "case", "suture ms", "torch fp32", "ratio", "torch tf32", "ratio")
	for _, r := range results {
		if r.TorchMS == nil {
			fmt.Fprintf(w, "%-34s %10.3f %12s\n", r.Case, r.MS, "-")
			continue
		}
		tf32, tf32Ratio := "-", "-"
		if r.TorchTF32MS != nil {
			tf32, tf32Ratio = fmt.Sprintf("%.3f", *r.TorchTF32MS), fmt.Sprintf("%.2fx", *r.VsTorchTF32)
		}
		fmt.Fprintf(w, "%-34s %10.3f %12.3f %6.2fx %12s %7s\n", r.Case, r.MS, *r.TorchMS, *r.VsTorch, tf32, tf32Ratio)
	}
}

// WriteJSON writes one JSON object per result.
func WriteJSON(w io.Writer, results []Result) error {
	enc := json.NewEncoder(w)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// WriteRow writes one result as a row of the benchmark's table (header:
// TableHeader).
func WriteRow(w io.Writer, r Result) {
	opt := func(p *float64, f string) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf(f, *p)
	}
	pct := "-"
	if r.PeakFrac != nil {
		pct = fmt.Sprintf("%.0f%%", 100**r.PeakFrac)
	}
	dirty := ""
	if r.Dirty {
		dirty = "  (machine busy: contaminated)"
	}
	fmt.Fprintf(w, "%-34s %10.3f %9s %8s %6s%s\n", r.Case, r.MS, opt(r.GFLOPS, "%.1f"), opt(r.ImgPerS, "%.2f"), pct, dirty)
}

// TableHeader is the header line of the benchmark's table.
var TableHeader = fmt.Sprintf("%-34s %10s %9s %8s %6s", "case", "ms", "GFLOP/s", "img/s", "peak")
