package experiment

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"suture/kernels/cpu"
	"suture/segment"
	"suture/unet"
)

// killSpec is the distillation TestDistillKill9Resume kills: long enough
// (8 epochs of 12 steps) to be killed after its first epoch's save.
func killSpec(teacher, net, out string) DistillSpec {
	o := unet.DefaultTrainOptions()
	o.Epochs, o.ItersPerEpoch, o.BatchSize, o.LR = 8, 12, 4, 1e-3
	return DistillSpec{Out: out, Teacher: teacher, Net: net, Data: distA, Student: "a", Seed: 1, Opts: o, Temperature: 2, Alpha: 0.5}
}

// A distillation killed with SIGKILL in the middle of its run (a child
// process, after its first epoch was saved) and then resumed writes the
// same student, bit for bit (as safetensors), as one never interrupted.
// The student is an ordinary U-Net checkpoint: it evaluates, segments and
// exports like any other, its metadata names the teacher, and the cost
// table measures it beside the teacher.
func TestDistillKill9Resume(t *testing.T) {
	distillFixture(t)
	dir, b := t.TempDir(), cpu.New(1)
	whole, killed := filepath.Join(dir, "whole.ckpt"), filepath.Join(dir, "killed.ckpt")
	if _, err := Distill(context.Background(), b, killSpec(distFix.st, distFix.ensemble, whole), nil); err != nil {
		t.Fatal(err)
	}
	args, _ := json.Marshal([3]string{distFix.st, distFix.ensemble, killed})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), distillChildEnv+"="+string(args))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ { // wait for the first epoch's checkpoint
		if _, err := os.Stat(killed); err == nil {
			break
		}
		if i > 60000 {
			cmd.Process.Kill()
			t.Fatalf("no checkpoint after 60 s: %s", stderr.String())
		}
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the distillation was not killed mid-run (it ended first: %v, %s); the test needs a longer run", err, stderr.String())
	}
	spec := killSpec(distFix.st, distFix.ensemble, killed)
	spec.Resume = true
	if res, err := Distill(context.Background(), b, spec, nil); err != nil || res.Meta.Net != distFix.ensemble {
		t.Fatalf("resume after kill -9: %v", err)
	}
	var st [2][]byte
	for i, p := range []string{whole, killed} {
		l, err := unet.Load(p, b)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Model.SaveSafetensors(p + ".safetensors"); err != nil {
			t.Fatal(err)
		}
		st[i], _ = os.ReadFile(p + ".safetensors")
	}
	if len(st[0]) == 0 || !bytes.Equal(st[0], st[1]) {
		t.Errorf("the student resumed after kill -9 differs from the uninterrupted one (%d and %d bytes)", len(st[0]), len(st[1]))
	}
	m, err := ReadDistillMeta(whole)
	if err != nil || m.Net != distFix.ensemble || m.Temperature != 2 || m.Alpha != 0.5 || len(m.TeacherSHA256) != 64 || m.Student != "a" {
		t.Errorf("metadata: %+v, %v", m, err)
	}
	if ev, err := Evaluate(b, EvalSpec{Model: whole, Part: DataPart{Data: distA, Split: "val", Fold: -1, SplitSeed: -1}, Batch: 8}); err != nil || len(ev.Scores) == 0 {
		t.Errorf("evaluate the student: %v", err)
	}
	if _, err := segment.Load(whole, b, ""); err != nil {
		t.Errorf("segment.Load: %v", err)
	}
	tc, err := LoadTeacher(distFix.st, b, distFix.ensemble)
	if err != nil {
		t.Fatal(err)
	}
	sl, _ := unet.Load(whole, b)
	rows, err := DistillCost(context.Background(), b, tc, sl.Model, CostOptions{Batch: 2, Rounds: 1})
	if err != nil || len(rows) != 4 || rows[1].Name != "a & b" || rows[2].Name != "teacher "+distFix.ensemble || rows[3].Name != "student" {
		t.Errorf("cost rows %+v, %v", rows, err)
	}
	for _, r := range rows {
		if r.Params <= 0 || !(r.GFLOP > 0) || !(r.ImgPerSec > 0) {
			t.Errorf("cost row %+v", r)
		}
	}
}
