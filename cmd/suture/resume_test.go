package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainResumeKeepsRunSettings: `train --resume` without --epochs (or
// any other setting) continues the run with its own settings, not the
// flags' defaults; a flag that contradicts the run is one usage error that
// changes nothing.
func TestTrainResumeKeepsRunSettings(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	out := tinyTrain(t, run, "a", "--epochs", "3", "--lr", "0.02", "--budget", "1ns")
	if !strings.Contains(out, "time budget") {
		t.Fatalf("budget did not stop the run:\n%s", out)
	}
	before, err := os.ReadFile(filepath.Join(run, "last.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ flag, value, run string }{{"epochs", "50", "3"}, {"lr", "0.01", "0.02"}, {"features", "8,16", "[4 8]"}} {
		code, msg := sut(t, "train", "--data", "synth:a:36:16", "--out", run, "--resume", "--"+c.flag, c.value)
		if code != 2 || !strings.Contains(msg, "--"+c.flag+" ") || !strings.Contains(msg, "contradicts the run") ||
			!strings.Contains(msg, "("+c.run+")") || strings.Count(msg, "\n") != 1 {
			t.Errorf("resume with --%s %s: exit %d: %s", c.flag, c.value, code, msg)
		}
	}
	after, _ := os.ReadFile(filepath.Join(run, "last.ckpt"))
	if !bytes.Equal(before, after) {
		t.Error("a refused resume changed last.ckpt")
	}
	out = mustRun(t, "train", "--data", "synth:a:36:16", "--out", run, "--resume")
	if !strings.Contains(out, "resuming at epoch 2") || !strings.Contains(out, "for 3 epochs") || !strings.Contains(out, "features [4 8]") {
		t.Errorf("resume without settings:\n%s", out)
	}
	if !strings.Contains(out, "epoch   3 ") || strings.Contains(out, "epoch   4 ") || !strings.Contains(out, "lr 0.00744") {
		t.Errorf("the resumed run did not finish at its own epoch 3:\n%s", out)
	}
	// --data may be left out too: it is the run's.
	if code, msg := sut(t, "train", "--out", run, "--resume", "--epochs", "3"); code != 0 || !strings.Contains(msg, "for 3 epochs") {
		t.Errorf("resume without --data: exit %d: %s", code, msg)
	}
}

// TestStitchResumeKeepsRunSettings: the same for `stitch --resume`: mode,
// epochs and learning rate are the run's (formerly the flags' defaults:
// double-batched, max(10, the run's) epochs, lr 1e-3).
func TestStitchResumeKeepsRunSettings(t *testing.T) {
	dir := t.TempDir()
	ra, rb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	tinyTrain(t, ra, "a")
	tinyTrain(t, rb, "b")
	st := filepath.Join(dir, "st.ckpt")
	base := []string{"stitch", "--a", filepath.Join(ra, "last.ckpt"), "--b", filepath.Join(rb, "last.ckpt"), "--out", st, "--data", "synth:a:36:16"}
	mustRun(t, append(base, "--mode", "direct", "--epochs", "2", "--iters", "2", "--lr", "0.003")...)
	code, msg := sut(t, append(base, "--resume", "--mode", "double")...)
	if code != 2 || !strings.Contains(msg, "--mode double contradicts the run") || !strings.Contains(msg, "(direct)") {
		t.Errorf("stitch --resume --mode double: exit %d: %s", code, msg)
	}
	out := mustRun(t, append(base, "--resume")...)
	if !strings.Contains(out, "direct training on") || !strings.Contains(out, "for 2 epochs") || strings.Contains(out, "epoch   3") {
		t.Errorf("stitch --resume without settings:\n%s", out)
	}
}
