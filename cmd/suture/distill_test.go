package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"suture/experiment"
	"suture/kernels/cpu"
	"suture/segment"
)

// distill end to end: the student is an ordinary U-Net checkpoint that
// eval, predict, segment and export take; its metadata names the teacher;
// bad flags get one error naming the flag.
func TestDistillCommand(t *testing.T) {
	dir := t.TempDir()
	ra, rb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	tinyTrain(t, ra, "a")
	tinyTrain(t, rb, "b")
	st := filepath.Join(dir, "st.ckpt")
	mustRun(t, "stitch", "--a", filepath.Join(ra, "last.ckpt"), "--b", filepath.Join(rb, "last.ckpt"), "--data", "synth:a:36:16",
		"--points", "stage", "--epochs", "1", "--iters", "2", "--batch", "4", "--out", st)
	student := filepath.Join(dir, "student.ckpt")
	args := []string{"distill", "--teacher", st, "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--epochs", "2", "--iters", "2",
		"--batch", "4", "--temperature", "2", "--alpha", "0.5", "--out", student}
	out := mustRun(t, args...)
	if !strings.Contains(out, "distilling stitch-ensemble:1") || !strings.Contains(out, "epoch   2") || !strings.Contains(out, "wrote "+student) {
		t.Errorf("distill output:\n%s", out)
	}
	m, err := experiment.ReadDistillMeta(student)
	if err != nil {
		t.Fatal(err)
	}
	if m.Net != "stitch-ensemble:1" || m.Temperature != 2 || m.Alpha != 0.5 || len(m.TeacherSHA256) != 64 || m.Student != "a" {
		t.Errorf("metadata: %+v", m)
	}
	// An ordinary U-Net checkpoint everywhere.
	if js := readJSON(t, mustRun(t, "eval", "--model", student, "--data", "synth:a:36:16", "--split", "val", "--json")); js["n"].(float64) != 6 {
		t.Errorf("eval: %v", js)
	}
	if _, err := segment.Load(student, cpu.New(1), ""); err != nil {
		t.Errorf("segment.Load: %v", err)
	}
	mustRun(t, "data", "synth", "--party", "a", "--n", "2", "--size", "16", "--out", filepath.Join(dir, "imgs"))
	mustRun(t, "predict", "--model", student, "--in", filepath.Join(dir, "imgs", "images"), "--out", filepath.Join(dir, "masks"))
	mustRun(t, "export", "safetensors", "--model", student, "--out", filepath.Join(dir, "s.safetensors"))
	cost := mustRun(t, "distill", "cost", "--teacher", st, "--net", "stitch-ensemble:1", "--student", student, "--batch", "2", "--rounds", "1")
	for _, want := range []string{"a & b", "teacher stitch-ensemble:1", "student"} {
		if !strings.Contains(cost, want) {
			t.Errorf("cost table lacks %q:\n%s", want, cost)
		}
	}
	// Bad input: one error naming the flag or the thing at fault; the
	// student already written is kept.
	before, _ := os.ReadFile(student)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--net", "ensemble"}, "--net \"ensemble\" names no stitch-ensemble"},
		{[]string{"--temperature", "0"}, "--temperature"},
		{[]string{"--alpha", "-1"}, "--alpha"},
		{[]string{"--teacher", filepath.Join(ra, "last.ckpt"), "--force"}, "not a stitched model"},
		{[]string{"--data", "synth:a:36:32", "--force"}, "the teacher was stitched at (3, 16, 16)"},
		{nil, "already exists"},
	} {
		bad := append(append([]string(nil), args...), c.args...)
		code, out := sut(t, bad...)
		if code == 0 || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, want an error saying %q:\n%s", c.args, code, c.want, out)
		}
		if after, _ := os.ReadFile(student); string(after) != string(before) {
			t.Fatalf("%v: the student at --out changed", c.args)
		}
	}
}

// TestDistillKill9Resume: a distillation killed with SIGKILL in the middle
// of its run (a child process, after its first epoch was saved) and then
// resumed writes the same student, bit for bit (as safetensors), as one
// never interrupted.
func TestDistillKill9Resume(t *testing.T) {
	dir := t.TempDir()
	ra, rb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	tinyTrain(t, ra, "a")
	tinyTrain(t, rb, "b")
	st := filepath.Join(dir, "st.ckpt")
	mustRun(t, "stitch", "--a", filepath.Join(ra, "last.ckpt"), "--b", filepath.Join(rb, "last.ckpt"), "--data", "synth:a:36:16",
		"--points", "stage", "--epochs", "1", "--iters", "2", "--batch", "4", "--out", st)
	args := func(out string) []string {
		return []string{"distill", "--teacher", st, "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--epochs", "8",
			"--iters", "12", "--batch", "4", "--temperature", "2", "--alpha", "0.5", "--no-validate", "--out", out}
	}
	whole := filepath.Join(dir, "whole.ckpt")
	mustRun(t, args(whole)...)

	killed := filepath.Join(dir, "killed.ckpt")
	cmd := exec.Command(os.Args[0], args(killed)...)
	cmd.Env = append(os.Environ(), probeMainEnv+"=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ { // wait for the first epoch's checkpoint
		if _, err := os.Stat(killed); err == nil {
			break
		}
		if i > 60000 {
			cmd.Process.Kill()
			t.Fatal("no checkpoint after 60 s")
		}
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the distillation was not killed mid-run (it ended first: %v); the test needs a longer run", err)
	}
	out := mustRun(t, append(args(killed), "--resume")...)
	if !strings.Contains(out, "resuming at epoch") {
		t.Fatalf("resume after kill -9:\n%s", out)
	}
	for _, p := range []string{whole, killed} {
		mustRun(t, "export", "safetensors", "--model", p, "--out", p+".safetensors")
	}
	a, _ := os.ReadFile(whole + ".safetensors")
	b, _ := os.ReadFile(killed + ".safetensors")
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("the student resumed after kill -9 differs from the uninterrupted one (%d and %d bytes)", len(a), len(b))
	}
}
