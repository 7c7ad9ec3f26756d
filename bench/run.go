package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"suture/kernels"
	"suture/kernels/cuda/launch"
)

// Result is one measured case; the JSON form is what `suture bench --json` prints.
type Result struct {
	Case      string   `json:"case"`
	MS        float64  `json:"ms"`
	GFLOPS    *float64 `json:"gflops"` // the plain algorithm's work per second (Winograd layers count the direct sum's FLOPs)
	ImgPerS   *float64 `json:"img_per_s,omitempty"`
	PeakFrac  *float64 `json:"peak_frac"`
	MinMS     float64  `json:"min_ms"`
	MaxMS     float64  `json:"max_ms"`
	Samples   int      `json:"samples"`
	Rejected  int      `json:"rejected"`
	Dirty     bool     `json:"contaminated"`
	Threads   int      `json:"threads"`
	ISA       string   `json:"isa,omitempty"`       // the host backend's instruction-set path
	Precision string   `json:"precision,omitempty"` // the backend's arithmetic (fp32, bf16)
	// SampleMS are the per-call times of every sample taken (ms), Inner
	// the calls each sample timed: what --gobench prints line by line.
	SampleMS []float64 `json:"sample_ms,omitempty"`
	Inner    int       `json:"inner,omitempty"`
	flops    float64
	Backend  string   `json:"backend"`
	TorchMS  *float64 `json:"torch_ms,omitempty"`
	VsTorch  *float64 `json:"vs_torch,omitempty"` // torch time / our time: > 1 means faster than PyTorch
	// On a GPU, TorchMS and VsTorch are PyTorch in FP32 with TF32 off; these
	// are the same with TF32 on (tensor cores for convolutions and matmuls).
	TorchTF32MS *float64 `json:"torch_tf32_ms,omitempty"`
	VsTorchTF32 *float64 `json:"vs_torch_tf32,omitempty"`
	TorchNote   string   `json:"torch_note,omitempty"`
}

func ptr(v float64) *float64 { return &v }

// PeakGFLOPS is the FP32 peak of `cores` cores: cores x 2 FMA units x 8
// lanes (AVX2) x 2 flop x the clock from /proc/cpuinfo, the torch script's
// nominal peak. It is 0 when the clock is unknown.
func PeakGFLOPS(cores int) float64 {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "cpu MHz" {
			mhz, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return float64(cores) * 2 * 8 * 2 * mhz / 1000
			}
		}
	}
	return 0
}

// DeviceTimer is a backend that times work on its own device: the CUDA
// backend records events in its launch stream and flushes the L2 cache
// before each repeat. Run uses it instead of the host's wall clock, which
// would time asynchronous launches rather than the kernels.
type DeviceTimer interface {
	Time(fn func() error, warmup, repeats int) (launch.Timing, error)
}

var _ DeviceTimer = (*launch.Backend)(nil) // the cuda and cudaemu backends

// Run measures cases on backend b using threads cores. A backend that is a
// DeviceTimer is timed on its device (o.Warmup and o.Reps apply; there is
// no CPU peak to compare with, so peak_frac is left out).
func Run(b kernels.Backend, cases []Case, threads int, o Options, each func(Result)) ([]Result, error) {
	prev := runtime.GOMAXPROCS(threads)
	defer runtime.GOMAXPROCS(prev)
	dev, onDevice := b.(DeviceTimer)
	peak := o.PeakGFLOPS
	if peak == 0 {
		peak = PeakGFLOPS(threads)
	}
	isa := o.ISA
	if onDevice {
		peak, isa = 0, ""
	}
	var out []Result
	for _, c := range cases {
		run, w, err := c.Setup(b)
		if err != nil {
			return out, fmt.Errorf("%s: %w", c.Name, err)
		}
		var t Timing
		if onDevice {
			o := o.withDefaults()
			dt, err := dev.Time(run, o.Warmup, o.Reps)
			if err != nil {
				return out, fmt.Errorf("%s: %w", c.Name, err)
			}
			t = Timing{MedianS: dt.Median.Seconds(), MinS: dt.Min.Seconds(), MaxS: dt.Max.Seconds(), Inner: 1, Clean: dt.Repeats}
		} else if t, err = Measure(run, threads, o); err != nil {
			return out, fmt.Errorf("%s: %w", c.Name, err)
		}
		if t.MedianS <= 0 {
			return out, fmt.Errorf("%s: the timer measured %g s per call; cannot report a rate", c.Name, t.MedianS)
		}
		r := Result{Case: c.Name, MS: t.MedianS * 1e3, MinMS: t.MinS * 1e3, MaxMS: t.MaxS * 1e3,
			Samples: t.Clean + t.Rejected, Rejected: t.Rejected, Dirty: t.Contaminated, Threads: threads, Backend: b.Name(), ISA: isa, Precision: o.Precision, Inner: t.Inner, flops: w.Flops}
		for _, v := range t.Samples {
			r.SampleMS = append(r.SampleMS, v*1e3)
		}
		if w.Flops > 0 {
			r.GFLOPS = ptr(w.Flops / t.MedianS / 1e9)
			if peak > 0 {
				r.PeakFrac = ptr(*r.GFLOPS / peak)
			}
		}
		if w.Images > 0 {
			r.ImgPerS = ptr(w.Images / t.MedianS)
		}
		out = append(out, r)
		if each != nil {
			each(r)
		}
	}
	return out, nil
}

// TorchPython is Debian's interpreter, which has python3-torch (a variable for tests).
var TorchPython = "/usr/bin/python3"

// TorchInstallHint says how to get the reference.
const TorchInstallHint = "PyTorch is not installed: run `apt-get update && apt-get install -y python3-torch python3-numpy libopenblas0-pthread` (Debian's python3-torch, run with /usr/bin/python3; without OpenBLAS its torch.mm falls back to the slow reference BLAS)"

// TorchAvailable reports whether Debian's python3 can import torch.
func TorchAvailable() error {
	if _, err := os.Stat(TorchPython); err != nil {
		return fmt.Errorf("%s", TorchInstallHint)
	}
	if err := exec.Command(TorchPython, "-c", "import torch").Run(); err != nil {
		return fmt.Errorf("%s", TorchInstallHint)
	}
	return nil
}

// RunTorch runs the PyTorch reference script for the families of the given
// cases with the same sizes and threads, and returns its median ms per
// case name.
func RunTorch(script string, cases []Case, threads int, stderr *os.File) (map[string]float64, error) {
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("PyTorch reference script: %w", err)
	}
	if err := TorchAvailable(); err != nil {
		return nil, err
	}
	fam := map[string]bool{}
	for _, c := range cases {
		f, _, _ := strings.Cut(c.Name, "/")
		switch f {
		case "sgemm":
			fam["sgemm"] = true
		case "conv3x3", "conv1x1":
			fam["conv"] = true
		default:
			fam[f] = true
		}
	}
	var list []string
	for _, f := range []string{"sgemm", "conv", "unet", "stitch"} {
		if fam[f] {
			list = append(list, f)
		}
	}
	cmd := exec.Command(TorchPython, script, "--cases", strings.Join(list, ","), "--threads", strconv.Itoa(threads),
		"--sgemm-shapes", "1024x1024x1024", "--stitch-modes", "direct,double", "--stitch-granularity", "stage")
	cmd.Stderr = stderr
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	got := map[string]float64{}
	sc := bufio.NewScanner(outp)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		for name, ms := range torchCases(m) {
			got[name] = ms
		}
	}
	if err := cmd.Wait(); err != nil {
		return got, fmt.Errorf("PyTorch reference: %w", err)
	}
	return got, nil
}

// torchCases maps one JSON line of the torch script to our case names.
func torchCases(m map[string]any) map[string]float64 {
	num := func(k string) float64 { v, _ := m[k].(float64); return v }
	out := map[string]float64{}
	switch m["case"] {
	case "sgemm":
		if num("M") == 1024 && num("K") == 1024 && num("N") == 1024 {
			out["sgemm/1024"] = num("median_ms")
		}
	case "conv2d":
		if m["channels_last"] == true || m["mkldnn"] == false {
			break
		}
		shape := fmt.Sprintf("%dx%dx%dx%d", int(num("Cin")), int(num("Cout")), int(num("H")), int(num("W")))
		if num("kernel") == 3 {
			out["conv3x3/"+shape+"/fwd"] = num("fwd_ms")
			out["conv3x3/"+shape+"/fwdbwd"] = num("fwdbwd_ms")
		} else if num("kernel") == 1 {
			out["conv1x1/"+shape+"/fwdbwd"] = num("fwdbwd_ms")
		}
	case "unet":
		switch m["mode"] {
		case "inference_no_grad":
			out["unet/infer"] = num("ms_per_batch")
		case "train_step_sgd":
			out["unet/train"] = num("ms_per_step")
		}
	case "stitch":
		if m["granularity"] != "stage" {
			break
		}
		switch m["mode"] {
		case "direct_matching":
			out["stitch/direct"] = num("ms_per_step")
		case "double_batched":
			out["stitch/double"] = num("ms_per_step")
		}
	}
	return out
}

// TorchTimes are PyTorch's median ms for one case: FP32 with TF32 off, and
// with TF32 on (0 when not measured).
type TorchTimes struct{ FP32, TF32 float64 }

// TorchDeviceArgs are the arguments that make torch_gpu_bench.py time the
// cases of scale s (its shape flags), on device ("cuda" or "cpu").
func TorchDeviceArgs(s Scale, device string) []string {
	shapes := func(ss [][4]int) string {
		var p []string
		for _, v := range ss {
			p = append(p, fmt.Sprintf("%dx%dx%dx%d", v[0], v[1], v[2], v[3]))
		}
		return strings.Join(p, ",")
	}
	ints := func(v []int) string {
		var p []string
		for _, x := range v {
			p = append(p, strconv.Itoa(x))
		}
		return strings.Join(p, ",")
	}
	c1 := s.Conv1x1
	tf32 := "both"
	if device != "cuda" {
		tf32 = "off" // TF32 is a GPU mode
	}
	return []string{"--device", device, "--tf32", tf32, "--gemm", strconv.Itoa(s.GEMM),
		"--conv-batch", strconv.Itoa(s.ConvBatch), "--conv3x3", shapes(s.Conv3x3),
		"--conv1x1", fmt.Sprintf("%dx%dx%dx%dx%d", c1[0], c1[1], c1[2], c1[3], s.Conv1x1Batch),
		"--unet", ints(s.UNet), "--stitch-b", ints(s.StitchB), "--size", strconv.Itoa(s.Size),
		"--batch", strconv.Itoa(s.Batch), "--stitch-batch", strconv.Itoa(s.StitchBatch)}
}

// RunTorchDevice runs the PyTorch GPU script (kernels/cuda/torch_gpu_bench.py)
// with python on the given cases of scale s, on device, with reps timed calls
// per case, and returns its times by case name. The script's first line
// (versions, GPU) is written to info.
func RunTorchDevice(python, script string, cases []Case, s Scale, device string, reps int, info, stderr io.Writer) (map[string]TorchTimes, error) {
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("PyTorch GPU script: %w", err)
	}
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		return nil, fmt.Errorf("%s cannot import torch: %w", python, err)
	}
	var names []string
	for _, c := range cases {
		names = append(names, c.Name)
	}
	args := append([]string{script, "--only", strings.Join(names, ","), "--reps", strconv.Itoa(max(reps, 1))},
		TorchDeviceArgs(s, device)...)
	cmd := exec.Command(python, args...)
	cmd.Stderr = stderr
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	got := map[string]TorchTimes{}
	sc := bufio.NewScanner(outp)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var m struct {
			Meta map[string]any `json:"meta"`
			Case string         `json:"case"`
			TF32 bool           `json:"tf32"`
			MS   float64        `json:"ms"`
		}
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if m.Meta != nil && info != nil {
			b, _ := json.Marshal(m.Meta)
			fmt.Fprintf(info, "PyTorch: %s\n", b)
		}
		if m.Case == "" || m.MS <= 0 {
			continue
		}
		t := got[m.Case]
		if m.TF32 {
			t.TF32 = m.MS
		} else {
			t.FP32 = m.MS
		}
		got[m.Case] = t
	}
	if err := cmd.Wait(); err != nil {
		return got, fmt.Errorf("PyTorch GPU script: %w", err)
	}
	return got, nil
}
