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

// TestPrecisionFlag: where the CPU has AVX512_BF16, a BF16 training
// records bf16 in its checkpoint, is bitwise reproducible, and resumes in
// bf16 without the flag; elsewhere asking for bf16 is an error. (A bad
// --precision, bf16 on the reference backend and --precision fp32 on
// resuming a BF16 run are cases of the probe, testdata/probe.txt.)
func TestPrecisionFlag(t *testing.T) {
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
	if code, msg := sut(t, "train", "--out", filepath.Join(dir, "one"), "--resume", "--epochs", "3"); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, msg)
	}
	if prev, err = experiment.TrainRun(filepath.Join(dir, "one")); err != nil || prev.Opts.Precision != kernels.BF16 {
		t.Errorf("after resuming, precision %q (%v), want bf16", prev.Opts.Precision, err)
	}
}
