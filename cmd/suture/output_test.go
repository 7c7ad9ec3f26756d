package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"suture/io/npy"
	"suture/kernels/cpu"
	"suture/tensor"
	"suture/unet"
)

// precious writes a file no command wrote and returns its path.
func precious(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	writeTestFile(t, p, []byte("precious data\n"))
	return p
}

// refused runs args, wants exit 1 and the --force hint, and wants path
// unchanged.
func refused(t *testing.T, path string, args ...string) {
	t.Helper()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	code, out := sut(t, args...)
	if code != 1 || !strings.Contains(out, "exists and is not") || !strings.Contains(out, "--force") {
		t.Errorf("suture %s: exit %d, want 1 and a refusal naming --force:\n%s", strings.Join(args, " "), code, out)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Errorf("suture %s replaced %s", strings.Join(args, " "), path)
	}
}

// Item 4: forward and the import/export commands refuse to replace a file
// that is not their own kind of output; the same kind is replaced; --force
// replaces anything.
func TestModelCommandsKeepOtherFiles(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model.ckpt")
	mustRun(t, "import", "nnunet", fixtureFolder("Dataset991_TinyPlain"), "--fold", "0", "--out", model)
	mustRun(t, "import", "nnunet", fixtureFolder("Dataset991_TinyPlain"), "--fold", "0", "--out", model) // its own output

	// A trained run's checkpoint: a U-Net checkpoint import did not write.
	l, err := unet.Load(model, cpu.New(1))
	if err != nil {
		t.Fatal(err)
	}
	trained := filepath.Join(dir, "best.ckpt")
	if err := unet.Save(trained, l.Model, nil, l.Meta.Run); err != nil {
		t.Fatal(err)
	}
	refused(t, trained, "import", "nnunet", fixtureFolder("Dataset991_TinyPlain"), "--fold", "0", "--out", trained)

	x := filepath.Join(dir, "x.npy")
	var b bytes.Buffer
	if err := npy.Write(&b, tensor.New(1, 3, 32, 32)); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, x, b.Bytes())
	refused(t, model, "forward", "--model", model, "--in", x, "--out", model) // a model is not an .npy
	y := filepath.Join(dir, "y.npy")
	mustRun(t, "forward", "--model", model, "--in", x, "--out", y)
	mustRun(t, "forward", "--model", model, "--in", x, "--out", y) // its own output
	ds := precious(t, dir, "y_ds1.npy")
	refused(t, ds, "forward", "--model", model, "--in", x, "--out", y, "--all-outputs")
	mustRun(t, "forward", "--model", model, "--in", x, "--out", y, "--all-outputs", "--force")

	st := precious(t, dir, "m.safetensors")
	refused(t, st, "export", "safetensors", "--model", model, "--out", st)
	mustRun(t, "export", "safetensors", "--model", model, "--out", st, "--force")
	mustRun(t, "export", "safetensors", "--model", model, "--out", st) // its own output now

	refused(t, trained, "import", "safetensors", st, "--out", trained)
	refused(t, trained, "export", "network", "--model", model, "--net", "a", "--out", trained)
	refused(t, x, "import", "safetensors", st, "--out", x)
	mustRun(t, "import", "safetensors", st, "--out", model) // an imported model
	mustRun(t, "import", "safetensors", st, "--out", trained, "--force")
}

// Item 4: the commands that write CSVs, plots, plans and datasets.
func TestTableCommandsKeepOtherFiles(t *testing.T) {
	dir := t.TempDir()
	csv := precious(t, dir, "notes.csv")
	refused(t, csv, "eval", "--model", filepath.Join(dir, "none.ckpt"), "--data", "synth:a:12:16", "--out", csv)
	refused(t, csv, "stitch", "sweep", "--model", filepath.Join(dir, "none.ckpt"), "--data", "synth:a:12:16", "--out", csv)
	refused(t, csv, "stitch", "sample", "--model", filepath.Join(dir, "none.ckpt"), "--data", "synth:a:12:16", "--out", csv)
	photo := precious(t, dir, "sweep.png") // the plot beside a new sweep.csv
	refused(t, photo, "stitch", "sweep", "--model", filepath.Join(dir, "none.ckpt"), "--data", "synth:a:12:16", "--out", filepath.Join(dir, "sweep.csv"))
	refused(t, photo, "stitch", "rq1", "--csv", "x="+csv, "--out", photo)
	plan := precious(t, dir, "plan.json")
	refused(t, plan, "experiment", "plan", "--a", "synth:a", "--b", "synth:b", "--quick", "--no-estimate", "--out", plan)
	fresh := filepath.Join(dir, "fresh.json")
	mustRun(t, "experiment", "plan", "--a", "synth:a", "--b", "synth:b", "--quick", "--no-estimate", "--out", fresh)
	mustRun(t, "experiment", "plan", "--a", "synth:a", "--b", "synth:b", "--quick", "--no-estimate", "--out", fresh) // its own output

	// score: masks Suture wrote, scored twice into one CSV; not into notes.csv.
	data := filepath.Join(dir, "data")
	mustRun(t, "data", "synth", "--party", "a", "--n", "3", "--size", "16", "--out", data)
	mustRun(t, "data", "synth", "--party", "a", "--n", "3", "--size", "16", "--out", data) // its own output
	masks := filepath.Join(data, "masks")
	refused(t, csv, "score", "--pred", masks, "--ref", masks, "--out", csv)
	scores := filepath.Join(dir, "scores.csv")
	mustRun(t, "score", "--pred", masks, "--ref", masks, "--out", scores)
	mustRun(t, "score", "--pred", masks, "--ref", masks, "--out", scores)
	mustRun(t, "score", "--pred", masks, "--ref", masks, "--out", csv, "--force")

	// data synth into a folder whose image is someone else's.
	entries, err := os.ReadDir(filepath.Join(data, "images"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("no synthetic images: %v", err)
	}
	img := filepath.Join(data, "images", entries[0].Name())
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 4)))
	writeTestFile(t, img, b.Bytes())
	refused(t, img, "data", "synth", "--party", "a", "--n", "3", "--size", "16", "--out", data)
	mustRun(t, "data", "synth", "--party", "a", "--n", "3", "--size", "16", "--out", data, "--force")
}
