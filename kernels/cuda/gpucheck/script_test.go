//go:build cudaemu && !cuda

package gpucheck

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kitEnv names the emulator kit the script tests run (make gpu-check-emu
// builds bin/gpu-emu and sets it).
const kitEnv = "SUTURE_GPU_KIT"

// runScript runs the kit's gpu-check.sh with args and extra environment and
// returns its exit status, its output and its last line.
func runScript(t *testing.T, env []string, args ...string) (code int, out, last string, took time.Duration) {
	t.Helper()
	kit := os.Getenv(kitEnv)
	if kit == "" {
		t.Skipf("%s is not set: make gpu-check-emu builds the emulator kit (bin/gpu-emu) and runs these tests on it", kitEnv)
	}
	script := filepath.Join(kit, "gpu-check.sh")
	if _, err := os.Stat(script); err != nil {
		t.Fatalf("%s=%s: %v", kitEnv, kit, err)
	}
	cmd := exec.Command(script, args...)
	cmd.Env = append(append(os.Environ(), "OUT="+t.TempDir()), env...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	t0 := time.Now()
	err := cmd.Run()
	took = time.Since(t0)
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", script, err)
	}
	out = buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	t.Logf("gpu-check.sh %s (%s) took %v, exit %d:\n%s", strings.Join(args, " "), strings.Join(env, " "), took.Round(time.Second), code, out)
	return code, out, lines[len(lines)-1], took
}

// TestCheckScriptPasses: on the emulator as built, every step passes.
func TestCheckScriptPasses(t *testing.T) {
	code, out, last, _ := runScript(t, nil, "--budget", "400")
	if code != 0 || last != "RESULT: PASS" {
		t.Fatalf("exit %d, last line %q; want 0 and RESULT: PASS", code, last)
	}
	for _, step := range []string{"device", "kernels", "conformance", "steps"} {
		if !strings.Contains(out, "== "+step) {
			t.Errorf("no %s step in the output", step)
		}
	}
	if n := strings.Count(out, "   ok: "); n != 4 {
		t.Errorf("%d steps reported ok, want 4", n)
	}
	if !strings.Contains(out, "stitch/double") || !strings.Contains(out, "unet/train") {
		t.Error("the bench step printed no unet/train or stitch/double figure")
	}
	if strings.Contains(out, "torch fp32") {
		for _, target := range []string{"targets: conv layers", "targets: unet/train", "targets: stitch/double"} {
			if !strings.Contains(out, target) {
				t.Errorf("PyTorch ran, but no %q line", target)
			}
		}
	} else {
		t.Log("no Python with PyTorch here: the comparison and the targets were not exercised")
	}
}

// TestCheckScriptCatchesPlantedFault: with leaky_relu_backward broken on
// purpose, the verdict is FAIL and names the kernel.
func TestCheckScriptCatchesPlantedFault(t *testing.T) {
	code, _, last, _ := runScript(t, []string{faultEnv + "=leaky_relu_backward"}, "--budget", "400")
	if code != 1 || !strings.HasPrefix(last, "RESULT: FAIL: ") || !strings.Contains(last, "leaky_relu_backward") {
		t.Fatalf("exit %d, last line %q; want 1 and a RESULT: FAIL naming leaky_relu_backward", code, last)
	}
	for _, step := range []string{"kernels:", "conformance:", "steps:"} {
		if !strings.Contains(last, step) {
			t.Errorf("the verdict does not name the %s step: %q", strings.TrimSuffix(step, ":"), last)
		}
	}
}

// TestCheckScriptKeepsItsBudget: a budget too short for the steps still
// ends in a verdict, in time. (6 s, 5 of them kept for the verdict: no
// machine runs the kernel step in what is left.)
func TestCheckScriptKeepsItsBudget(t *testing.T) {
	const budget = 6
	code, _, last, took := runScript(t, nil, "--budget", "6")
	if code != 1 || !strings.HasPrefix(last, "RESULT: FAIL: ") ||
		!(strings.Contains(last, "timed out") || strings.Contains(last, "budget was spent")) {
		t.Errorf("exit %d, last line %q; want 1 and a RESULT: FAIL saying what ran out of time", code, last)
	}
	if took > (budget+10)*time.Second {
		t.Errorf("took %v with a %d s budget", took, budget)
	}
}

// TestCheckScriptKillsAHungStep: a step that hangs is killed when the
// budget runs out, and the verdict says so.
func TestCheckScriptKillsAHungStep(t *testing.T) {
	const budget = 30
	code, _, last, took := runScript(t, []string{hangEnv + "=steps"}, "--budget", "30")
	// On a slow machine an earlier step may be the one killed; either way a
	// running step was killed and named.
	if code != 1 || !strings.HasPrefix(last, "RESULT: FAIL: ") || !strings.Contains(last, ": timed out after") ||
		!(strings.Contains(last, "steps: timed out") || strings.Contains(last, "steps: not run")) {
		t.Errorf("exit %d, last line %q; want 1 and a RESULT: FAIL saying the steps timed out", code, last)
	}
	if took > (budget+10)*time.Second {
		t.Errorf("took %v with a %d s budget", took, budget)
	}
}

// TestCheckScriptRejectsBadUsage: a bad flag is exit status 2, not a verdict.
func TestCheckScriptRejectsBadUsage(t *testing.T) {
	code, _, last, _ := runScript(t, nil, "--budget", "soon")
	if code != 2 || strings.HasPrefix(last, "RESULT:") {
		t.Errorf("--budget soon: exit %d, last line %q; want 2 and a usage message", code, last)
	}
}
