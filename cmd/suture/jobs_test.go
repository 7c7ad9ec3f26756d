package main

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The job commands' own behaviour: flags, exit codes and printed text.
// What the jobs do is tested in their libraries (experiment, segment,
// unet).

var fixtureDir = filepath.Join("..", "..", "testdata", "nnunet")

func fixtureFolder(name string) string {
	return filepath.Join(fixtureDir, name, "nnUNetTrainer__nnUNetPlans__2d")
}

func writeFile(t *testing.T, path, body string) { writeTestFile(t, path, []byte(body)) }

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// testPNG is an RGB PNG of w x h.
func testPNG(w, h int) []byte {
	im := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range im.Pix {
		im.Pix[i] = uint8(i * 7)
	}
	var b bytes.Buffer
	png.Encode(&b, im)
	return b.Bytes()
}

// Train, evaluate, predict and score through the CLI, end to end.
func TestTrainEvalPredictScore(t *testing.T) {
	dir := t.TempDir()
	best := filepath.Join(dir, "run", "best.ckpt")
	tinyTrain(t, filepath.Join(dir, "run"), "a")
	if js := readJSON(t, mustRun(t, "eval", "--model", best, "--data", "synth:a:36:16", "--json")); js["n"].(float64) != 6 || js["dice_mean"] == nil {
		t.Errorf("eval json %v: want n 6 (the test part of 36) and a Dice", js)
	}
	data, pred := filepath.Join(dir, "data"), filepath.Join(dir, "pred")
	mustRun(t, "data", "synth", "--party", "a", "--n", "6", "--size", "16", "--out", data)
	if out := mustRun(t, "predict", "--model", best, "--in", filepath.Join(data, "images"), "--out", pred); !strings.Contains(out, "wrote 6 of 6 masks") {
		t.Errorf("predict: %s", out)
	}
	js := readJSON(t, mustRun(t, "score", "--pred", pred, "--ref", filepath.Join(data, "masks"), "--json", "--out", filepath.Join(dir, "s.csv")))
	if b, _ := os.ReadFile(filepath.Join(dir, "s.csv")); js["n"].(float64) != 6 || bytes.Count(b, []byte("\n")) != 7 {
		t.Errorf("score json %v; s.csv:\n%s", js, b)
	}
	if out := mustRun(t, "score", "--pred", pred, "--ref", filepath.Join(data, "masks")); !strings.HasPrefix(out, "n 6  Dice ") {
		t.Errorf("score table: %s", out)
	}
}

// step is one command of TestJobCommands: its exit status, the text its
// output must hold, and (when lines > 0) how many lines it prints.
type step struct {
	args  []string
	code  int
	want  []string
	lines int
}

// TestJobCommands runs the job commands' flag checks, refusals, hints and
// printed summaries in order, on two tiny trained networks, a stitched
// model, an imported nnU-Net model and a student; the CPU profiles of
// training and stitching are written where the flags say.
func TestJobCommands(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	tinyTrain(t, p("a"), "a", "--cpuprofile", p("train.prof"))
	checkProfile(t, p("train.prof"))
	tinyTrain(t, p("b"), "b", "--features", "3,6", "--profile", p("train-profile"))
	checkRunProfile(t, p("train-profile"), "enc0.conv0", "backward")
	if out := tinyTrain(t, p("part"), "a", "--epochs", "3", "--lr", "0.02", "--budget", "1ns"); !strings.Contains(out, "time budget 1ns reached after 1 epochs") {
		t.Errorf("--budget did not stop the run:\n%s", out)
	}
	stitchAB := []string{"stitch", "--a", p("a/last.ckpt"), "--b", p("b/last.ckpt"), "--data", "synth:a:36:16", "--epochs", "1", "--iters", "2"}
	mustRun(t, append(stitchAB, "--mode", "direct", "--out", p("st.ckpt"), "--cpuprofile", p("stitch.prof"))...)
	checkProfile(t, p("stitch.prof"))
	mustRun(t, append(stitchAB, "--iters", "4", "--out", p("st3.ckpt"), "--profile", p("stitch-profile"))...)
	checkRunProfile(t, p("stitch-profile"), "A/", "backward alt")
	for _, d := range []string{"in", "pair", "bad"} {
		os.Mkdir(p(d), 0o755)
	}
	writeTestFile(t, p("in/a.png"), testPNG(20, 12))
	writeTestFile(t, p("pair/x.png"), testPNG(20, 12))
	writeTestFile(t, p("pair/x.jpg"), testPNG(20, 12))
	writeTestFile(t, p("img.png"), testPNG(20, 12))
	writeTestFile(t, p("photo.png"), testPNG(5, 5))
	for n, b := range map[string][]byte{"a.png": testPNG(20, 12), "b.png": []byte("not an image"), "c.png": testPNG(12, 20), "d.tif": []byte("II*\x00garbage")} {
		writeTestFile(t, p("bad/"+n), b)
	}
	writeFile(t, p("ref.csv"), "name,dice,hd95\nx,0.5,3\ny,0.6,4\n")
	writeFile(t, p("alt.csv"), "name,dice,hd95\nx,0.6,3\ny,0.6,2\n")
	model, st := p("model.ckpt"), p("st.ckpt")
	lastA, _ := os.ReadFile(p("a/last.ckpt"))
	distill := []string{"distill", "--teacher", st, "--net", "stitch-ensemble:0", "--data", "synth:a:36:16", "--epochs", "1", "--iters", "1", "--batch", "4", "--out", p("student.ckpt")}
	for _, s := range []step{
		// eval
		{[]string{"eval", "--model", st, "--data", "synth:a:36:16", "--net", "stitch-ensemble:0", "--json", "--out", p("e.csv")}, 0, []string{`"n":6`, `"net":"stitch-ensemble:0"`}, 1},
		{[]string{"eval", "--model", st, "--data", "synth:a:36:16", "--net", "switches:a99=s"}, 2, []string{`--net: network "switches:a99=s"`, "out of range"}, 1},
		{[]string{"eval", "--model", p("a/last.ckpt"), "--data", "synth:a:36:16", "--net", "b"}, 2, []string{"a unet checkpoint is one network; --net applies to stitched checkpoints only"}, 1},
		{[]string{"eval", "--model", p("missing.ckpt"), "--data", "synth:a"}, 1, []string{"missing.ckpt"}, 1},
		{[]string{"eval", "--model", p("photo.png"), "--data", "synth:a"}, 1, []string{"photo.png"}, 1},
		{[]string{"eval", "--model", st, "--data", "synth:a:36:16", "--out", p("photo.png")}, 1, []string{"photo.png exists and is not", "--force"}, 1},
		// train and stitch: refusals, hints, resumed settings
		{[]string{"train", "--data", "synth:b:36:16", "--out", p("a"), "--epochs", "1", "--iters", "1", "--features", "4,8"}, 1, []string{"already holds a run", "--resume", "--force"}, 1},
		{[]string{"train", "--out", p("a"), "--resume", "--epochs", "50"}, 2, []string{"--epochs 50 contradicts the run in " + p("a") + " (2)", "leave --epochs out"}, 1},
		{[]string{"train", "--out", p("a"), "--resume", "--lr", "0.02"}, 2, []string{"--lr 0.02 contradicts the run", "(0.01)"}, 1},
		{[]string{"train", "--out", p("a"), "--resume", "--features", "8,16"}, 2, []string{"--features [8 16] contradicts the run", "([4 8])"}, 1},
		{[]string{"train", "--out", p("a"), "--resume", "--force"}, 2, []string{"--resume and --force exclude each other"}, 1},
		{[]string{"train", "--out", p("part"), "--resume", "--epochs", "3"}, 0, []string{"resuming at epoch 2", "for 3 epochs", "features [4 8]", "epoch   3 ", "lr 0.00744", "done in"}, 0},
		{append(stitchAB, "--out", st), 1, []string{"already exists", "--force"}, 1},
		{append(stitchAB, "--out", st, "--resume", "--mode", "double"), 2, []string{"--mode double contradicts the run", "(direct)"}, 1},
		{[]string{"stitch", "--a", p("b/last.ckpt"), "--b", p("a/last.ckpt"), "--out", st, "--resume"}, 1, []string{"does not match"}, 1},
		{[]string{"stitch", "--a", p("a/last.ckpt"), "--b", p("b/last.ckpt"), "--out", st, "--resume"}, 0, []string{"direct training on", "for 1 epochs", "done in"}, 0},
		{[]string{"stitch", "info", "--model", st}, 0, []string{"matched pairs; A [4 8], B [3 6]", "enc0.conv0"}, 0},
		{[]string{"stitch", "sweep", "--model", st, "--data", "synth:a:36:16", "--out", p("sweep.csv")}, 0, []string{"best stitch-ensemble", "wrote " + p("sweep.csv") + " and " + p("sweep.png")}, 2},
		{[]string{"stitch", "sample", "--model", st, "--data", "synth:a:36:16", "--per", "1", "--out", p("sample.csv")}, 0, []string{"networks; mean Dice", p("sample.png")}, 2},
		{[]string{"stitch", "sample", "--model", st, "--data", "synth:a:36:16", "--out", p("sample.png")}, 2, []string{"would be the same file"}, 1},
		{[]string{"stitch", "rq1", "--csv", "x=" + p("sample.csv"), "--csv", "y=" + p("sample.csv"), "--out", p("rq1.png")}, 0, []string{"\nx ", "\ny ", "wrote " + p("rq1.png")}, 4},
		// distill
		{append(distill, "--net", "ensemble"), 2, []string{`--net "ensemble" names no stitch-ensemble`}, 1},
		{append(distill, "--temperature", "0"), 2, []string{"--temperature 0 must be a positive number"}, 1},
		{append(distill, "--alpha", "-1"), 2, []string{"--alpha -1 must be a number >= 0"}, 1},
		{distill, 0, []string{"distilling stitch-ensemble:0 of " + st, "student a: features [4 8]", "epoch   1", "wrote " + p("student.ckpt")}, 0},
		{distill, 1, []string{"already exists", "--force"}, 1},
		{[]string{"distill", "cost", "--teacher", st, "--net", "stitch-ensemble:0", "--student", p("student.ckpt"), "--batch", "2", "--rounds", "1"}, 0, []string{"a & b", "teacher stitch-ensemble:0", "student", "batch 2"}, 5},
		// import, forward, export
		{[]string{"import", "nnunet", fixtureFolder("Dataset991_TinyPlain"), "--out", model}, 2, []string{"--fold is required"}, 1},
		{[]string{"import", "nnunet", fixtureFolder("Dataset991_TinyPlain"), "--fold", "0", "--checkpoint", "last", "--out", model}, 2, []string{`--checkpoint "last", want final or best`}, 1},
		{[]string{"import", "nnunet", fixtureFolder("Dataset991_TinyPlain"), fixtureFolder("Dataset991_TinyPlain"), "--fold", "0", "--out", model}, 2, []string{"want one RESULTS_DIR"}, 1},
		{[]string{"import", "nnunet", "--fold", "0", fixtureFolder("Dataset991_TinyPlain"), "--out", model}, 0, []string{"PlainConvUNet: 4 stages, features [4 8 16 24]", "wrote " + model}, 2},
		{[]string{"forward", "--model", model, "--in", filepath.Join(fixtureDir, "ref", "plain_in0.npy"), "--out", p("y.npy"), "--all-outputs"}, 0, []string{"wrote " + p("y.npy"), "wrote " + p("y_ds1.npy"), "wrote " + p("y_ds2.npy")}, 3},
		{[]string{"export", "safetensors", "--model", model, "--out", p("m.safetensors")}, 0, []string{"wrote " + p("m.safetensors")}, 1},
		{[]string{"import", "safetensors", p("m.safetensors"), "--out", p("back.ckpt")}, 0, []string{"PlainConvUNet", "wrote " + p("back.ckpt")}, 2},
		{[]string{"export", "network", "--model", st, "--net", "switches:a99=s", "--out", p("net.ckpt")}, 2, []string{"--net: network"}, 1},
		{[]string{"export", "network", "--model", st, "--net", "stitch-ensemble:0", "--out", p("net.ckpt")}, 0, []string{"wrote " + p("net.ckpt") + " (out=mean,a0=average"}, 1},
		// predict
		{[]string{"predict", "--model", model, "--in", p("in"), "--out", p("in"), "--no-mirror"}, 1, []string{"inside it"}, 1},
		{[]string{"predict", "--model", model, "--in", p("in"), "--out", p("in/masks"), "--no-mirror"}, 1, []string{"inside it"}, 1},
		{[]string{"predict", "--model", model, "--in", p("pair"), "--out", p("masks"), "--no-mirror"}, 1, []string{"x.jpg and x.png"}, 1},
		{[]string{"predict", "--model", model, "--in", p("img.png"), "--out", p("photo.png")}, 1, []string{"not a mask written by Suture", "(--force replaces it)"}, 1},
		{[]string{"predict", "--model", model, "--in", p("img.png"), "--out", p("img.png"), "--force"}, 1, []string{"own input"}, 1},
		{[]string{"predict", "--model", model, "--in", p("img.png"), "--out", p("m.png"), "--max-pixels", "239"}, 1, []string{"20x12 is 240 pixels, more than the limit of 239", "--max-pixels raises the limit"}, 2},
		{[]string{"predict", "--model", model, "--in", p("img.png"), "--out", p("m.png"), "--max-pixels", "240", "--no-mirror"}, 0, []string{"wrote " + p("m.png")}, 1},
		{[]string{"predict", "--model", model, "--in", p("img.png"), "--out", p("m.png"), "--net", "b"}, 1, []string{"applies to stitched checkpoints only"}, 1},
		{[]string{"predict", "--model", model, "--in", p("img.png"), "--out", p("m.png"), "--step", "0"}, 2, []string{"--step"}, 1},
		{[]string{"predict", "--model", model, "--in", p("img.png"), "--out", p("m.png"), "--step", "NaN"}, 2, []string{"--step"}, 1},
		{[]string{"predict", "--model", model, "--in", p("bad"), "--out", p("bad-masks"), "--no-mirror"}, 1, []string{"wrote 2 of 4 masks", "2 of 4 images failed", "b.png", "d.tif"}, 0},
		// score and compare
		{[]string{"score", "--pred", p("in"), "--ref", p("bad")}, 1, []string{"no prediction for reference mask"}, 1},
		{[]string{"compare", "--ref", p("ref.csv"), "--alt", "o=" + p("alt.csv")}, 0, []string{"dice against " + p("ref.csv"), "o                             2"}, 3},
		{[]string{"compare", "--ref", p("ref.csv"), "--alt", "o=" + p("alt.csv"), "--json"}, 0, []string{`{"alt":"o","n":2,"dropped":0,`}, 1},
		{[]string{"compare", "--ref", p("ref.csv"), "--alt", "o=" + p("alt.csv"), "--metric", "iou"}, 2, []string{`--metric "iou", want dice or hd95`}, 1},
		{[]string{"compare", "--ref", p("ref.csv")}, 2, []string{"give at least one --alt NAME=CSV"}, 1},
		{[]string{"compare", "--ref", p("ref.csv"), "--alt", "o=" + p("ref.csv"), "--alt", "o=" + p("ref.csv")}, 2, []string{`-alt: label "o" is given twice`}, 1},
	} {
		code, out := sut(t, s.args...)
		bad := code != s.code || s.lines > 0 && strings.Count(out, "\n") != s.lines
		for _, w := range s.want {
			bad = bad || !strings.Contains(out, w)
		}
		if bad {
			t.Errorf("suture %s: exit %d, want %d, %d lines with %q:\n%s", strings.Join(s.args, " "), code, s.code, s.lines, s.want, out)
		}
	}
	// What the refused commands would have written is untouched.
	if b, _ := os.ReadFile(p("a/last.ckpt")); !bytes.Equal(b, lastA) {
		t.Error("a refused train changed a/last.ckpt")
	}
	if b, _ := os.ReadFile(p("photo.png")); !bytes.Equal(b, testPNG(5, 5)) {
		t.Error("a refused command replaced photo.png")
	}
	if _, err := os.Stat(p("masks")); !os.IsNotExist(err) {
		t.Errorf("the refused predict made its output folder: %v", err)
	}
}

// Ctrl-C (a cancelled context) during training saves the run and returns
// the interrupted error (exit status 130) with the flag that continues it.
func TestInterruptedTrainSaysResume(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // interrupted before the first step
	var out bytes.Buffer
	err := runTrain(ctx, []string{"--data", "synth:a:36:16", "--out", dir, "--epochs", "2", "--iters", "2", "--batch", "4", "--features", "4,8"}, &out)
	if !errors.Is(err, errInterrupted) || !strings.Contains(err.Error(), "continue with --resume") {
		t.Fatalf("interrupted train returned %v", err)
	}
	if out := tinyTrain(t, dir, "a", "--resume"); !strings.Contains(out, "resuming") || !strings.Contains(out, "done") {
		t.Errorf("resume after interrupt:\n%s", out)
	}
}
