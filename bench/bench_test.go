package bench

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"suture/kernels"
	"suture/kernels/cpu"
	"suture/kernels/cuda/launch"
)

func TestTorchCaseMapping(t *testing.T) {
	lines := map[string]map[string]float64{
		`{"case": "sgemm", "M": 1024, "K": 1024, "N": 1024, "median_ms": 11.5}`:                                                                           {"sgemm/1024": 11.5},
		`{"case": "sgemm", "M": 8192, "K": 288, "N": 32, "median_ms": 2}`:                                                                                 {},
		`{"case": "conv2d", "kernel": 3, "Cin": 64, "Cout": 64, "H": 64, "W": 64, "mkldnn": true, "channels_last": false, "fwd_ms": 1, "fwdbwd_ms": 3}`:   {"conv3x3/64x64x64x64/fwd": 1, "conv3x3/64x64x64x64/fwdbwd": 3},
		`{"case": "conv2d", "kernel": 1, "Cin": 32, "Cout": 32, "H": 128, "W": 128, "mkldnn": true, "channels_last": false, "fwd_ms": 1, "fwdbwd_ms": 5}`: {"conv1x1/32x32x128x128/fwdbwd": 5},
		`{"case": "unet", "mode": "train_step_sgd", "ms_per_step": 1300}`:                                                                                 {"unet/train": 1300},
		`{"case": "unet", "mode": "inference_no_grad", "ms_per_batch": 400}`:                                                                              {"unet/infer": 400},
		`{"case": "stitch", "granularity": "stage", "mode": "double_batched", "ms_per_step": 1400}`:                                                       {"stitch/double": 1400},
		`{"case": "stitch", "granularity": "conv", "mode": "double_batched", "ms_per_step": 1400}`:                                                        {},
		`{"case": "meta"}`: {},
	}
	for line, want := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, torchCases(m), cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s (-want +got):\n%s", line, d)
		}
	}
}

func TestSelect(t *testing.T) {
	if n := len(Select("conv3x3")); n != 10 {
		t.Errorf("conv3x3 selects %d cases, want 10", n)
	}
	if n := len(Select("unet/train,stitch")); n != 3 {
		t.Errorf("unet/train,stitch selects %d cases, want 3", n)
	}
	if n := len(Select("nothing")); n != 0 {
		t.Errorf("nothing selects %d", n)
	}
}

func TestMeasureReportsConsistentFigures(t *testing.T) {
	calls := 0
	tm, err := Measure(func() error { calls++; return nil }, 1, Options{Warmup: 2, Reps: 3, MinSample: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Samples) < 3 || tm.Inner < 1 || calls != 2+tm.Inner*len(tm.Samples) {
		t.Errorf("timing %+v after %d calls", tm, calls)
	}
	if tm.MinS > tm.MedianS || tm.MedianS > tm.MaxS {
		t.Errorf("min %g median %g max %g out of order", tm.MinS, tm.MedianS, tm.MaxS)
	}
}

// TestEveryCaseRuns sets up every case and runs it once: the wiring of the
// benchmark networks (including the 9 stitch points) is checked here, the
// speed by `suture bench`.
func TestEveryCaseRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size benchmark cases take a while; skipped with -short")
	}
	b := cpu.New(0)
	for _, c := range Cases() {
		run, w, err := c.Setup(b)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if w.Flops == 0 && w.Images == 0 {
			t.Errorf("%s: no work to report", c.Name)
		}
		if err := run(); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
	}
}

func TestMissingTorchSaysHowToInstall(t *testing.T) {
	prev := TorchPython
	TorchPython = "/nonexistent/python3"
	defer func() { TorchPython = prev }()
	err := TorchAvailable()
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y python3-torch") {
		t.Errorf("missing PyTorch: %v", err)
	}
	if _, err := RunTorch("../shared/bench/torch_cpu_bench.py", Select("sgemm"), 2, nil); err == nil {
		t.Error("RunTorch without PyTorch succeeded")
	}
}

// deviceTimed is a backend that says it times work on its own device; its
// clock reports 2 ms per call (min 1.5, max 3) whatever the host does.
type deviceTimed struct {
	kernels.Backend
	calls, warmup, repeats int
}

func (d *deviceTimed) Time(fn func() error, warmup, repeats int) (launch.Timing, error) {
	d.warmup, d.repeats = warmup, repeats
	d.calls++
	if err := fn(); err != nil {
		return launch.Timing{}, err
	}
	return launch.Timing{Median: 2 * time.Millisecond, Min: 1500 * time.Microsecond, Max: 3 * time.Millisecond, Repeats: repeats}, nil
}

// TestDeviceBackendIsTimedOnItsDevice: a backend with its own timer (the
// CUDA backend's events) is timed by it, not by the host's wall clock, and
// gets no CPU peak fraction.
func TestDeviceBackendIsTimedOnItsDevice(t *testing.T) {
	d := &deviceTimed{Backend: cpu.New(0)}
	cases := Select("sgemm/1024")
	if len(cases) != 1 {
		t.Fatalf("Select(sgemm/1024) gave %d cases", len(cases))
	}
	res, err := Run(d, cases, 1, Options{Warmup: 2, Reps: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if d.calls != 1 || d.warmup != 2 || d.repeats != 5 {
		t.Fatalf("device timer called %d times with warm-up %d, repeats %d; want once with 2 and 5", d.calls, d.warmup, d.repeats)
	}
	if r.MS != 2 || r.MinMS != 1.5 || r.MaxMS != 3 || r.Samples != 5 {
		t.Errorf("result %+v: want the device's 2 ms median (1.5..3) over 5 samples", r)
	}
	if r.GFLOPS == nil || math.Abs(*r.GFLOPS-2*1024*1024*1024/2e-3/1e9) > 1e-9 {
		t.Errorf("GFLOP/s %v, want sgemm's 2*1024^3 flops over 2 ms", r.GFLOPS)
	}
	if r.PeakFrac != nil {
		t.Errorf("peak_frac %g for a device backend: the CPU's peak does not apply", *r.PeakFrac)
	}
}

// TestSmallCasesRun: the emulator-sized cases (gpu-check.sh --profile emu)
// have the same structure as the full ones (the stitch pair joins at its
// 2*3-1 stage outputs) and run.
func TestSmallCasesRun(t *testing.T) {
	b := cpu.New(0)
	small := CasesAt(Small)
	if n := len(Filter(small, "unet/infer,unet/train,stitch/direct,stitch/double")); n != 4 {
		t.Errorf("%d of the U-Net and stitch cases at small scale, want 4", n)
	}
	for _, c := range small {
		run, _, err := c.Setup(b)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if err := run(); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
	}
	if _, err := ScaleNamed("huge"); err == nil {
		t.Error("ScaleNamed accepted an unknown scale")
	}
}

// TestTorchGPUScriptNamesMatch: given the shape flags RunTorchDevice passes,
// torch_gpu_bench.py names its cases exactly as CasesAt does (its --list
// needs no PyTorch).
func TestTorchGPUScriptNamesMatch(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 here")
	}
	for _, s := range []Scale{Full, Small} {
		args := append([]string{"../kernels/cuda/torch_gpu_bench.py", "--list"}, TorchDeviceArgs(s, "cuda")...)
		out, err := exec.Command(py, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", s.Name, err, out)
		}
		var want []string
		for _, c := range CasesAt(s) {
			want = append(want, c.Name)
		}
		if got := strings.Fields(string(out)); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: the script lists\n%v\nsuture bench has\n%v", s.Name, got, want)
		}
	}
}

// TestRunTorchDeviceReadsBothModes runs RunTorchDevice on a stand-in for
// Python that prints what torch_gpu_bench.py prints.
func TestRunTorchDeviceReadsBothModes(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "python")
	lines := `{"meta": {"torch": "2.11", "gpu": "H200"}}
{"case": "unet/train", "tf32": false, "ms": 40.5, "min_ms": 40, "max_ms": 41, "reps": 7}
{"case": "unet/train", "tf32": true, "ms": 20.25, "min_ms": 20, "max_ms": 21, "reps": 7}
not json
{"case": "stitch/double", "tf32": false, "ms": 30, "min_ms": 30, "max_ms": 30, "reps": 7}
`
	script := "#!/bin/sh\n[ \"$1\" = -c ] && exit 0\necho \"$@\" >" + filepath.Join(dir, "args") + "\ncat <<'EOF'\n" + lines + "EOF\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	gpuScript := filepath.Join(dir, "torch_gpu_bench.py")
	if err := os.WriteFile(gpuScript, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var info strings.Builder
	got, err := RunTorchDevice(fake, gpuScript, Filter(CasesAt(Full), "unet/train,stitch/double"), Full, "cuda", 7, &info, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got["unet/train"] != (TorchTimes{FP32: 40.5, TF32: 20.25}) || got["stitch/double"] != (TorchTimes{FP32: 30}) || len(got) != 2 {
		t.Errorf("times %v", got)
	}
	if !strings.Contains(info.String(), `"gpu":"H200"`) {
		t.Errorf("the script's meta line was not passed on: %q", info.String())
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	for _, want := range []string{"--only unet/train,stitch/double", "--device cuda", "--tf32 both", "--reps 7", "--unet 32,64,128,256,320"} {
		if !strings.Contains(string(args), want) {
			t.Errorf("the script was not given %q: %s", want, args)
		}
	}
}
