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

// TestCommandsKeepOtherFiles: the commands that write files refuse to
// replace one that is not their own kind of output (exit 1, naming
// --force, the file unchanged); their own output they replace; --force
// replaces anything. The steps run in order.
func TestCommandsKeepOtherFiles(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	precious := func(name string) string { writeTestFile(t, p(name), []byte("precious data\n")); return p(name) }
	model, trained, x, y, st, csv, data := p("model.ckpt"), p("best.ckpt"), p("x.npy"), p("y.npy"), precious("m.safetensors"), precious("notes.csv"), p("data")
	tiny := fixtureFolder("Dataset991_TinyPlain")
	mustRun(t, "import", "nnunet", tiny, "--fold", "0", "--out", model)
	// A trained run's checkpoint: a U-Net checkpoint import did not write.
	l, err := unet.Load(model, cpu.New(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := unet.Save(trained, l.Model, nil, l.Meta.Run); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := npy.Write(&b, tensor.New(1, 3, 32, 32)); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, x, b.Bytes())
	none, synth, quick := p("none.ckpt"), "synth:a:12:16", []string{"--a", "synth:a", "--b", "synth:b", "--quick", "--no-estimate", "--out"}
	masks := filepath.Join(data, "masks")
	for _, s := range []struct {
		args []string
		keep string // the file the command must refuse to replace; "" when it must succeed
	}{
		{[]string{"import", "nnunet", tiny, "--fold", "0", "--out", model}, ""}, // its own output
		{[]string{"import", "nnunet", tiny, "--fold", "0", "--out", trained}, trained},
		{[]string{"forward", "--model", model, "--in", x, "--out", model}, model}, // a model is not an .npy
		{[]string{"forward", "--model", model, "--in", x, "--out", y}, ""},
		{[]string{"forward", "--model", model, "--in", x, "--out", y}, ""},
		{[]string{"forward", "--model", model, "--in", x, "--out", y, "--all-outputs"}, precious("y_ds1.npy")},
		{[]string{"forward", "--model", model, "--in", x, "--out", y, "--all-outputs", "--force"}, ""},
		{[]string{"export", "safetensors", "--model", model, "--out", st}, st},
		{[]string{"export", "safetensors", "--model", model, "--out", st, "--force"}, ""},
		{[]string{"export", "safetensors", "--model", model, "--out", st}, ""}, // its own output now
		{[]string{"import", "safetensors", st, "--out", trained}, trained},
		{[]string{"export", "network", "--model", model, "--net", "a", "--out", trained}, trained},
		{[]string{"import", "safetensors", st, "--out", x}, x},
		{[]string{"import", "safetensors", st, "--out", model}, ""}, // an imported model
		{[]string{"import", "safetensors", st, "--out", trained, "--force"}, ""},
		{[]string{"eval", "--model", none, "--data", synth, "--out", csv}, csv},
		{[]string{"stitch", "sweep", "--model", none, "--data", synth, "--out", csv}, csv},
		{[]string{"stitch", "sample", "--model", none, "--data", synth, "--out", csv}, csv},
		{[]string{"stitch", "sweep", "--model", none, "--data", synth, "--out", p("sweep.csv")}, precious("sweep.png")}, // the plot beside it
		{[]string{"stitch", "rq1", "--csv", "x=" + csv, "--out", p("sweep.png")}, p("sweep.png")},
		{append([]string{"experiment", "plan"}, append(quick, precious("plan.json"))...), p("plan.json")},
		{append([]string{"experiment", "plan"}, append(quick, p("fresh.json"))...), ""},
		{append([]string{"experiment", "plan"}, append(quick, p("fresh.json"))...), ""}, // its own output
		{[]string{"data", "synth", "--party", "a", "--n", "3", "--size", "16", "--out", data}, ""},
		{[]string{"data", "synth", "--party", "a", "--n", "3", "--size", "16", "--out", data}, ""}, // its own output
		{[]string{"score", "--pred", masks, "--ref", masks, "--out", csv}, csv},
		{[]string{"score", "--pred", masks, "--ref", masks, "--out", p("scores.csv")}, ""},
		{[]string{"score", "--pred", masks, "--ref", masks, "--out", p("scores.csv")}, ""},
		{[]string{"score", "--pred", masks, "--ref", masks, "--out", csv, "--force"}, ""},
	} {
		if s.keep == "" {
			mustRun(t, s.args...)
			continue
		}
		refused(t, s.keep, s.args...)
	}
	// data synth into a folder whose image is someone else's.
	entries, err := os.ReadDir(filepath.Join(data, "images"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("no synthetic images: %v", err)
	}
	img := filepath.Join(data, "images", entries[0].Name())
	b.Reset()
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 4)))
	writeTestFile(t, img, b.Bytes())
	refused(t, img, "data", "synth", "--party", "a", "--n", "3", "--size", "16", "--out", data)
	mustRun(t, "data", "synth", "--party", "a", "--n", "3", "--size", "16", "--out", data, "--force")
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
