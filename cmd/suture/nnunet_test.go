package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"suture/io/imageset"
	"suture/io/npy"
	"suture/tensor"
)

var fixtureDir = filepath.Join("..", "..", "testdata", "nnunet")

func fixtureFolder(name string) string {
	return filepath.Join(fixtureDir, name, "nnUNetTrainer__nnUNetPlans__2d")
}

// compareNpy reports the max abs difference of two .npy files of one shape.
func compareNpy(t *testing.T, got, want string) float64 {
	t.Helper()
	g, err := npy.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := npy.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !g.Shape.Equal(w.Shape) {
		t.Fatalf("%s: shape %v, want %v", got, g.Shape, w.Shape)
	}
	return tensor.MaxAbsDiff(g.Data, w.Data)
}

// import nnunet, then forward --all-outputs: every output within 1e-4 of
// PyTorch's, for both architectures; then export safetensors, import it
// back, and the same again.
func TestImportForwardMatchesPyTorch(t *testing.T) {
	dir := t.TempDir()
	for _, fx := range []struct {
		name, folder string
		heads        int
	}{{"plain", "Dataset991_TinyPlain", 3}, {"plain5", "Dataset992_TinyPlainWide", 4}, {"resenc", "Dataset993_TinyResEnc", 3}} {
		model := filepath.Join(dir, fx.name+".ckpt")
		out := mustRun(t, "import", "nnunet", fixtureFolder(fx.folder), "--fold", "0", "--out", model)
		if !strings.Contains(out, "wrote") {
			t.Errorf("import output: %s", out)
		}
		st := filepath.Join(dir, fx.name+".safetensors")
		mustRun(t, "export", "safetensors", "--model", model, "--out", st)
		back := filepath.Join(dir, fx.name+"-back.ckpt")
		mustRun(t, "import", "safetensors", st, "--out", back)
		for _, m := range []string{model, back} {
			worst := 0.0
			for k := 0; k < 2; k++ {
				y := filepath.Join(dir, fmt.Sprintf("%s_y%d.npy", fx.name, k))
				mustRun(t, "forward", "--model", m, "--in", filepath.Join(fixtureDir, "ref", fmt.Sprintf("%s_in%d.npy", fx.name, k)), "--out", y, "--all-outputs")
				for j := 0; j < fx.heads; j++ {
					got, want := y, filepath.Join(fixtureDir, "ref", fmt.Sprintf("%s_out%d.npy", fx.name, k))
					if j > 0 {
						got = strings.TrimSuffix(y, ".npy") + fmt.Sprintf("_ds%d.npy", j)
						want = filepath.Join(fixtureDir, "ref", fmt.Sprintf("%s_out%d_ds%d.npy", fx.name, k, j))
					}
					d := compareNpy(t, got, want)
					if !(d <= 1e-4) {
						t.Errorf("%s %s: max abs difference %.3g to PyTorch", filepath.Base(m), filepath.Base(got), d)
					}
					worst = max(worst, d)
				}
				if _, err := os.Stat(strings.TrimSuffix(y, ".npy") + fmt.Sprintf("_ds%d.npy", fx.heads)); err == nil {
					t.Errorf("%s: more deep-supervision outputs than the network has", fx.name)
				}
			}
			t.Logf("%s (%s): max abs difference to PyTorch %.3g", fx.name, filepath.Base(m), worst)
		}
	}
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyFolder copies an nnU-Net results folder (fold_0 included) to dst.
func copyFolder(t *testing.T, src, dst string) {
	t.Helper()
	for _, f := range []string{"plans.json", "dataset.json", "fold_0/checkpoint_final.pth"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, filepath.Join(dst, f), b)
	}
}

// pickleZip writes a torch.save-like archive holding pkl as archive/data.pkl
// and the given storages.
func pickleZip(t *testing.T, path string, pkl []byte, storages map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	add("archive/data.pkl", pkl)
	for k, v := range storages {
		add("archive/data/"+k, v)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, path, buf.Bytes())
}

// One clear error for each kind of bad input, never a panic.
func TestImportForwardBadInput(t *testing.T) {
	dir := t.TempDir()
	plain := fixtureFolder("Dataset991_TinyPlain")
	fail := func(want string, args ...string) {
		t.Helper()
		code, out := sut(t, args...)
		if code == 0 || !strings.Contains(out, want) || strings.Contains(out, "panic") || strings.Contains(out, "goroutine") {
			t.Errorf("suture %s: exit %d, want an error containing %q:\n%s", strings.Join(args, " "), code, want, out)
		}
	}
	out := filepath.Join(dir, "m.ckpt")
	fail("no fold_3 (folds here: fold_0)", "import", "nnunet", plain, "--fold", "3", "--out", out)
	fail("--fold is required", "import", "nnunet", plain, "--out", out)
	fail("not an nnU-Net trained-model folder", "import", "nnunet", dir, "--fold", "0", "--out", out)

	// A plans.json of an architecture that is not supported.
	other := filepath.Join(dir, "other")
	copyFolder(t, plain, other)
	plans, _ := os.ReadFile(filepath.Join(other, "plans.json"))
	writeTestFile(t, filepath.Join(other, "plans.json"), bytes.ReplaceAll(plans, []byte("unet.PlainConvUNet"), []byte("primus.Primus")))
	fail(`network "dynamic_network_architectures.architectures.primus.Primus" is not supported`, "import", "nnunet", other, "--fold", "0", "--out", out)

	// A checkpoint whose tensors do not fit the plans: another fixture's weights.
	mixed := filepath.Join(dir, "mixed")
	copyFolder(t, plain, mixed)
	wide, _ := os.ReadFile(filepath.Join(fixtureFolder("Dataset992_TinyPlainWide"), "fold_0", "checkpoint_final.pth"))
	writeTestFile(t, filepath.Join(mixed, "fold_0", "checkpoint_final.pth"), wide)
	fail("do not belong together", "import", "nnunet", mixed, "--fold", "0", "--out", out)

	// A truncated archive.
	trunc := filepath.Join(dir, "trunc")
	copyFolder(t, plain, trunc)
	ck, _ := os.ReadFile(filepath.Join(plain, "fold_0", "checkpoint_final.pth"))
	writeTestFile(t, filepath.Join(trunc, "fold_0", "checkpoint_final.pth"), ck[:len(ck)/2])
	fail("truncated", "import", "nnunet", trunc, "--fold", "0", "--out", out)

	// A pickle that names a global outside the allow-list.
	evil := filepath.Join(dir, "evil")
	copyFolder(t, plain, evil)
	for _, g := range []string{"posix\nsystem\n", "builtins\neval\n"} {
		pkl := []byte("\x80\x02c" + g + "X\x02\x00\x00\x00lsR.") // system("ls") in protocol 2
		pickleZip(t, filepath.Join(evil, "fold_0", "checkpoint_final.pth"), pkl, nil)
		name := strings.ReplaceAll(strings.TrimSuffix(g, "\n"), "\n", ".")
		fail("pickle names "+name+": global not on the allow-list", "import", "nnunet", evil, "--fold", "0", "--out", out)
	}

	// A storage larger than the file: the persistent id declares 1e9 floats.
	pkl := []byte("\x80\x02}X\x0f\x00\x00\x00network_weights}X\x26\x00\x00\x00encoder.stages.0.0.convs.0.conv.weight" +
		"ctorch._utils\n_rebuild_tensor_v2\n(" +
		"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuJ\x00\xca\x9a\x3bt" + "Q" +
		"K\x00J\x00\xca\x9a\x3b\x85K\x01\x85\x89NtR" + "ss.")
	pickleZip(t, filepath.Join(evil, "fold_0", "checkpoint_final.pth"), pkl, map[string][]byte{"0": make([]byte, 64)})
	fail("declares 1000000000 float32 elements, its entry holds 64 bytes", "import", "nnunet", evil, "--fold", "0", "--out", out)

	// .npy inputs of the wrong dtype and rank.
	model := filepath.Join(dir, "plain.ckpt")
	mustRun(t, "import", "nnunet", plain, "--fold", "0", "--out", model)
	f64 := filepath.Join(dir, "f64.npy")
	hdr := "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3, 32, 32), }"
	writeTestFile(t, f64, append([]byte("\x93NUMPY\x01\x00"+string([]byte{byte(len(hdr) + 1), 0})+hdr+"\n"), make([]byte, 8*3*32*32)...))
	fail(`dtype "<f8", want float32`, "forward", "--model", model, "--in", f64, "--out", filepath.Join(dir, "y.npy"))
	rank3 := filepath.Join(dir, "rank3.npy")
	var b bytes.Buffer
	if err := npy.Write(&b, tensor.New(3, 32, 32)); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, rank3, b.Bytes())
	fail("want rank 4 (N, C, H, W)", "forward", "--model", model, "--in", rank3, "--out", filepath.Join(dir, "y.npy"))
	odd := filepath.Join(dir, "odd.npy")
	b.Reset()
	npy.Write(&b, tensor.New(1, 3, 30, 32))
	writeTestFile(t, odd, b.Bytes())
	fail("multiples of 8x8", "forward", "--model", model, "--in", odd, "--out", filepath.Join(dir, "y.npy"))

	// --net on a checkpoint that is not stitched.
	img := filepath.Join(dir, "img.png")
	im := image.NewRGBA(image.Rect(0, 0, 20, 12))
	for i := range im.Pix {
		im.Pix[i] = uint8(i * 7)
	}
	var pb bytes.Buffer
	png.Encode(&pb, im)
	writeTestFile(t, img, pb.Bytes())
	fail("applies to stitched checkpoints only", "predict", "--model", model, "--in", img, "--out", filepath.Join(dir, "mask.png"), "--net", "b")
}

// predict on a folder: masks of each input's size, class indices for the
// three-class model, and images smaller than the patch work.
func TestPredictFolderImported(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "plain.ckpt")
	mustRun(t, "import", "nnunet", fixtureFolder("Dataset991_TinyPlain"), "--fold", "0", "--out", model)
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	sizes := [][2]int{{20, 12}, {70, 45}, {32, 32}}
	for i, s := range sizes {
		im := image.NewRGBA(image.Rect(0, 0, s[0], s[1]))
		for y := 0; y < s[1]; y++ {
			for x := 0; x < s[0]; x++ {
				im.Set(x, y, color.RGBA{uint8(x * 9), uint8(y * 5), uint8((x + y) * 3), 255})
			}
		}
		var pb bytes.Buffer
		png.Encode(&pb, im)
		writeTestFile(t, filepath.Join(in, fmt.Sprintf("case%d.png", i)), pb.Bytes())
	}
	out := filepath.Join(dir, "out")
	mustRun(t, "predict", "--model", model, "--in", in, "--out", out)
	for i, s := range sizes {
		m, err := imageset.ReadImage(filepath.Join(out, fmt.Sprintf("case%d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		if m.Shape[1] != s[1] || m.Shape[2] != s[0] {
			t.Errorf("case %d: mask %v for a %dx%d image", i, m.Shape, s[0], s[1])
		}
		for _, v := range m.Data {
			if v > 2 {
				t.Fatalf("case %d: value %g is not a class index of a 3-class model", i, v)
			}
		}
	}
}

// Two imported nnU-Net models with different plans (patch 32x32 with four
// stages, 48x64 with five) stitch, sweep and evaluate; a stitch-ensemble
// exported as a standalone model predicts like any other model.
func TestStitchImportedModels(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.ckpt"), filepath.Join(dir, "b.ckpt")
	mustRun(t, "import", "nnunet", fixtureFolder("Dataset991_TinyPlain"), "--fold", "0", "--out", a)
	mustRun(t, "import", "nnunet", fixtureFolder("Dataset992_TinyPlainWide"), "--fold", "0", "--out", b)
	st := filepath.Join(dir, "s.ckpt")
	out := mustRun(t, "stitch", "--a", a, "--b", b, "--data", "synth:a:36:64", "--epochs", "1", "--iters", "2", "--out", st)
	if !strings.Contains(out, "matched pairs") {
		t.Errorf("stitch output: %s", out)
	}
	info := mustRun(t, "stitch", "info", "--model", st)
	if !strings.Contains(info, "A [4 8 16 24], B [6 12 24 32 32]") {
		t.Errorf("stitch info: %s", info)
	}
	sw := mustRun(t, "stitch", "sweep", "--model", st, "--data", "synth:a:36:64", "--out", filepath.Join(dir, "sweep.csv"))
	if !strings.Contains(sw, "best stitch-ensemble") {
		t.Errorf("sweep: %s", sw)
	}
	js := readJSON(t, mustRun(t, "eval", "--model", st, "--data", "synth:a:36:64", "--net", "stitch-ensemble:5", "--json"))
	if js["n"].(float64) != 6 {
		t.Errorf("eval of stitch-ensemble 5: %v", js)
	}
	se := filepath.Join(dir, "se5.ckpt")
	mustRun(t, "export", "network", "--model", st, "--net", "stitch-ensemble:5", "--out", se)
	in := filepath.Join(dir, "img.png")
	im := image.NewRGBA(image.Rect(0, 0, 90, 50))
	for i := range im.Pix {
		im.Pix[i] = uint8(i * 13)
	}
	var pb bytes.Buffer
	png.Encode(&pb, im)
	writeTestFile(t, in, pb.Bytes())
	for _, args := range [][]string{
		{"predict", "--model", se, "--in", in, "--out", filepath.Join(dir, "m1.png")},
		{"predict", "--model", st, "--net", "stitch-ensemble:5", "--in", in, "--out", filepath.Join(dir, "m2.png")},
	} {
		mustRun(t, args...)
	}
	m1, err := os.ReadFile(filepath.Join(dir, "m1.png"))
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := os.ReadFile(filepath.Join(dir, "m2.png"))
	if !bytes.Equal(m1, m2) {
		t.Error("the exported stitch-ensemble predicts differently from the stitched model's")
	}
	if code, out := sut(t, "predict", "--model", se, "--net", "a", "--in", in, "--out", filepath.Join(dir, "m3.png")); code == 0 || !strings.Contains(out, "stitched checkpoints only") {
		t.Errorf("--net on an extracted network: exit %d: %s", code, out)
	}
}
