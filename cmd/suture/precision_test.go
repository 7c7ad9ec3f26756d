package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"suture/experiment"
	"suture/kernels"
	"suture/kernels/cpu"
)

// TestPrecisionFlag: --precision is read on train, stitch, bench and
// profile; an unknown value, bf16 on the reference backend, and (on a CPU
// without AVX512_BF16) bf16 at all are one error each. Where the CPU has
// it, a BF16 training records bf16 in its checkpoint, is bitwise
// reproducible, resumes in bf16 without the flag, and refuses --precision
// fp32 on resume.
func TestPrecisionFlag(t *testing.T) {
	for _, args := range [][]string{
		{"train", "--data", "synth:a:36:16", "--out", filepath.Join(t.TempDir(), "r"), "--precision", "fp16"},
		{"stitch", "--a", "x", "--b", "y", "--data", "synth:a", "--out", filepath.Join(t.TempDir(), "s"), "--precision", "fp16"},
		{"bench", "--case", "sgemm", "--precision", "fp16"},
	} {
		code, msg := sut(t, args...)
		if code != 2 || !strings.Contains(msg, "--precision") || !strings.Contains(msg, `"fp16"`) {
			t.Errorf("suture %s: exit %d: %s", strings.Join(args, " "), code, msg)
		}
	}
	if code, msg := sut(t, "bench", "--case", "sgemm", "--backend", "cpu-ref", "--precision", "bf16"); code == 0 || !strings.Contains(msg, "cpu-ref runs FP32 only") {
		t.Errorf("bench --backend cpu-ref --precision bf16: exit %d: %s", code, msg)
	}
	dir := t.TempDir()
	run := func(name string, extra ...string) (int, string) {
		args := append([]string{"train", "--data", "synth:a:36:16", "--out", filepath.Join(dir, name), "--epochs", "2",
			"--iters", "2", "--batch", "4", "--features", "24,32", "--precision", "bf16"}, extra...)
		return sut(t, args...)
	}
	if !cpu.HasBF16() || cpu.CurrentISA() != cpu.ISAAVX512 {
		code, msg := run("nobf16")
		if code == 0 || !strings.Contains(msg, "bf16") {
			t.Errorf("train --precision bf16 without AVX512_BF16 (or with another path forced): exit %d: %s", code, msg)
		}
		t.Skipf("this CPU (%s, path %s) cannot run BF16: checked that asking for it is an error", cpu.CPUModel(), cpu.CurrentISA())
	}
	for _, name := range []string{"one", "two"} {
		if code, msg := run(name, "--epochs", "3", "--budget", "1ns"); code != 0 {
			t.Fatalf("train --precision bf16: exit %d: %s", code, msg)
		}
	}
	prev, err := experiment.TrainRun(filepath.Join(dir, "one"))
	if err != nil {
		t.Fatal(err)
	}
	if prev.Opts.Precision != kernels.BF16 {
		t.Errorf("the checkpoint records precision %q, want bf16", prev.Opts.Precision)
	}
	// The weights, as safetensors, bit for bit (a checkpoint also records times).
	for _, name := range []string{"one", "two"} {
		mustRun(t, "export", "safetensors", "--model", filepath.Join(dir, name, "last.ckpt"), "--out", filepath.Join(dir, name+".safetensors"))
	}
	one, _ := os.ReadFile(filepath.Join(dir, "one.safetensors"))
	two, _ := os.ReadFile(filepath.Join(dir, "two.safetensors"))
	if len(one) == 0 || !bytes.Equal(one, two) {
		t.Errorf("two BF16 trainings with the same seed have different weights (%d and %d bytes)", len(one), len(two))
	}
	code, msg := sut(t, "train", "--out", filepath.Join(dir, "one"), "--resume", "--precision", "fp32")
	if code != 2 || !strings.Contains(msg, "--precision fp32 contradicts the run") || !strings.Contains(msg, "(bf16)") {
		t.Errorf("resume with --precision fp32: exit %d: %s", code, msg)
	}
	if code, msg := sut(t, "train", "--out", filepath.Join(dir, "one"), "--resume", "--epochs", "3"); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, msg)
	}
	if prev, err = experiment.TrainRun(filepath.Join(dir, "one")); err != nil || prev.Opts.Precision != kernels.BF16 {
		t.Errorf("after resuming, precision %q (%v), want bf16", prev.Opts.Precision, err)
	}
}
