package experiment

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"suture/kernels/cpu"
	"suture/stitch"
	"suture/unet"
)

// tinySpec is a training of a two-stage U-Net (features 4, 8) on 36
// synthetic 16 px images of party for two epochs of two steps of four.
func tinySpec(dir, party string) TrainSpec {
	return TrainSpec{Dir: dir, Data: []string{"synth:" + party + ":36:16"}, Seed: 1, Opts: tinyOpts(2), Features: []int{4, 8}, Validate: true}
}

func train(t *testing.T, ctx context.Context, spec TrainSpec) *TrainResult {
	t.Helper()
	res, err := Train(ctx, cpu.New(1), spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// resumeSpec is the spec `suture train --resume` runs: the run's own.
func resumeSpec(t *testing.T, dir string) TrainSpec {
	t.Helper()
	spec, err := TrainRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	spec.Validate = true
	return spec
}

// A run stopped at its time budget after epoch 1, then resumed, ends
// with the weights of a run never stopped; so does one cancelled before
// its first step (Ctrl-C), which saves last.ckpt first. A run folder
// records its epochs in log.csv.
func TestTrainStoppedAndResumedIsUninterrupted(t *testing.T) {
	dir := t.TempDir()
	full, part, cut := filepath.Join(dir, "full"), filepath.Join(dir, "part"), filepath.Join(dir, "cut")
	res := train(t, context.Background(), tinySpec(full, "a"))
	if res.Best != filepath.Join(full, "best.ckpt") || res.Last != filepath.Join(full, "last.ckpt") || res.Stopped != nil {
		t.Errorf("result %+v", res)
	}
	if log, err := os.ReadFile(filepath.Join(full, "log.csv")); err != nil || bytes.Count(log, []byte("\n")) != 3 {
		t.Errorf("log.csv, want a header and 2 epochs (%v):\n%s", err, log)
	}
	spec := tinySpec(part, "a")
	spec.Opts.Budget = 1
	if res := train(t, context.Background(), spec); !errors.Is(res.Stopped, unet.ErrBudget) || res.State.Epoch != 1 {
		t.Fatalf("budget: stopped %v after %d epochs, want ErrBudget after 1", res.Stopped, res.State.Epoch)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, cpu.New(1), tinySpec(cut, "a"), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	for _, d := range []string{part, cut} {
		if _, err := os.Stat(filepath.Join(d, "last.ckpt")); err != nil {
			t.Fatalf("no checkpoint to resume: %v", err)
		}
		if res := train(t, context.Background(), resumeSpec(t, d)); res.State.Epoch != 2 {
			t.Errorf("%s resumed to epoch %d, want 2", filepath.Base(d), res.State.Epoch)
		}
		sameWeights(t, filepath.Join(full, "last.ckpt"), filepath.Join(d, "last.ckpt"))
	}
}

// A folder that holds a run is refused (nothing overwritten) unless the
// run is resumed or Force starts over; a folder locked by a running job is
// refused naming the holder.
func TestTrainRefusesExistingRun(t *testing.T) {
	dir := t.TempDir()
	train(t, context.Background(), tinySpec(dir, "a"))
	before, err := os.ReadFile(filepath.Join(dir, "last.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Train(context.Background(), cpu.New(1), tinySpec(dir, "b"), nil); !errors.Is(err, ErrRunExists) || !strings.Contains(err.Error(), "already holds a run") {
		t.Errorf("a second run into the folder: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "last.ckpt")); !bytes.Equal(before, after) {
		t.Error("the refused run changed last.ckpt")
	}
	lock, err := LockDir(dir, "test holder")
	if err != nil {
		t.Fatal(err)
	}
	forced := tinySpec(dir, "b")
	forced.Force = true
	_, err = Train(context.Background(), cpu.New(1), forced, nil)
	lock.Unlock()
	if err == nil || !strings.Contains(err.Error(), "in use") || !strings.Contains(err.Error(), "test holder") {
		t.Errorf("a locked folder: %v", err)
	}
	train(t, context.Background(), forced)
	if run, err := TrainRun(dir); err != nil || run.Data[0] != "synth:b:36:16" {
		t.Errorf("Force did not start over: %+v, %v", run, err)
	}
}

// A stitch training into an existing file is refused unless Force; a
// resumed one with other base networks is refused naming the mismatch.
func TestStitchTrainRefusesExistingAndOtherBases(t *testing.T) {
	dir := t.TempDir()
	ra, rb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	train(t, context.Background(), tinySpec(ra, "a"))
	sb := tinySpec(rb, "b")
	sb.Features = []int{3, 6}
	train(t, context.Background(), sb)
	so := stitch.DefaultTrainOptions(stitch.Direct)
	so.Epochs, so.ItersPerEpoch = 1, 2
	spec := StitchSpec{Out: filepath.Join(dir, "st.ckpt"), A: filepath.Join(ra, "last.ckpt"), B: filepath.Join(rb, "last.ckpt"),
		Data: "synth:a:36:16", Points: "all", Opts: so}
	b := cpu.New(1)
	if _, err := StitchTrain(context.Background(), b, spec, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := StitchTrain(context.Background(), b, spec, nil); !errors.Is(err, ErrRunExists) || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("into an existing file: %v", err)
	}
	spec.Force = true
	if _, err := StitchTrain(context.Background(), b, spec, nil); err != nil {
		t.Errorf("forced: %v", err)
	}
	swapped := StitchSpec{Out: spec.Out, A: spec.B, B: spec.A, Resume: true}
	if _, err := StitchTrain(context.Background(), b, swapped, nil); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("resumed with other base networks: %v", err)
	}
}
