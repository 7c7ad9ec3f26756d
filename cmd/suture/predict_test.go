package main

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"suture/io/imageset"
)

// predictModel imports the tiny nnU-Net fixture as a model to predict with.
func predictModel(t *testing.T) string {
	t.Helper()
	model := filepath.Join(t.TempDir(), "model.ckpt")
	mustRun(t, "import", "nnunet", fixtureFolder("Dataset991_TinyPlain"), "--fold", "0", "--out", model)
	return model
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

// sameFiles fails unless every file of want is in dir with the same bytes
// and dir holds nothing else.
func sameFiles(t *testing.T, dir string, want map[string][]byte) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(want) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("%s holds %v, want only %d files", dir, names, len(want))
	}
	for name, b := range want {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s was changed (%v)", name, err)
		}
	}
}

// Item 2: an output folder equal to (or inside) the input folder is refused
// and the images are untouched.
func TestPredictRefusesOutputInsideInput(t *testing.T) {
	model := predictModel(t)
	in := t.TempDir()
	files := map[string][]byte{"a.png": testPNG(20, 12), "b.png": testPNG(16, 16)}
	for n, b := range files {
		writeTestFile(t, filepath.Join(in, n), b)
	}
	for _, out := range []string{in, filepath.Join(in, "masks")} {
		code, msg := sut(t, "predict", "--model", model, "--in", in, "--out", out, "--no-mirror")
		if code != 1 || !strings.Contains(msg, "inside it") {
			t.Errorf("--out %s: exit %d, want 1 and a refusal:\n%s", out, code, msg)
		}
		sameFiles(t, in, files)
	}
}

// Item 3: x.png and x.jpg would both write x.png: refused before anything
// is written.
func TestPredictRefusesCollidingMasks(t *testing.T) {
	model := predictModel(t)
	in, out := t.TempDir(), filepath.Join(t.TempDir(), "masks")
	writeTestFile(t, filepath.Join(in, "x.png"), testPNG(20, 12))
	writeTestFile(t, filepath.Join(in, "x.jpg"), testPNG(20, 12)) // decoded by content
	code, msg := sut(t, "predict", "--model", model, "--in", in, "--out", out, "--no-mirror")
	if code != 1 || !strings.Contains(msg, "x.jpg and x.png") {
		t.Fatalf("exit %d, want 1 naming the pair:\n%s", code, msg)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the output folder was made or written: %v", err)
	}
}

// Items 2 and 4: a file at the mask path that Suture did not write as a
// mask is kept unless --force; a mask Suture wrote is replaced.
func TestPredictRefusesForeignOutput(t *testing.T) {
	model := predictModel(t)
	dir := t.TempDir()
	img, dst := filepath.Join(dir, "img.png"), filepath.Join(dir, "photo.png")
	writeTestFile(t, img, testPNG(20, 12))
	photo := testPNG(5, 5)
	writeTestFile(t, dst, photo)
	code, msg := sut(t, "predict", "--model", model, "--in", img, "--out", dst, "--no-mirror")
	if code != 1 || !strings.Contains(msg, "not a mask written by Suture") || !strings.Contains(msg, "--force") {
		t.Fatalf("exit %d, want 1, a refusal and the --force hint:\n%s", code, msg)
	}
	if b, _ := os.ReadFile(dst); !bytes.Equal(b, photo) {
		t.Fatal("the existing file was replaced")
	}
	mustRun(t, "predict", "--model", model, "--in", img, "--out", dst, "--no-mirror", "--force")
	mustRun(t, "predict", "--model", model, "--in", img, "--out", dst, "--no-mirror") // now Suture's own mask
	if ok, err := imageset.WrittenBySuture(dst); !ok || err != nil {
		t.Errorf("the mask is not marked as Suture's: %v, %v", ok, err)
	}
	if code, msg := sut(t, "predict", "--model", model, "--in", img, "--out", img, "--force"); code != 1 || !strings.Contains(msg, "own input") {
		t.Errorf("--out = --in with --force: exit %d:\n%s", code, msg)
	}
}

// Item 18: a bad image does not stop the others; every failure is
// reported at the end, with a non-zero exit.
func TestPredictFolderGoesOnAfterBadImage(t *testing.T) {
	model := predictModel(t)
	in, out := t.TempDir(), filepath.Join(t.TempDir(), "masks")
	writeTestFile(t, filepath.Join(in, "a.png"), testPNG(20, 12))
	writeTestFile(t, filepath.Join(in, "b.png"), []byte("not an image"))
	writeTestFile(t, filepath.Join(in, "c.png"), testPNG(12, 20))
	writeTestFile(t, filepath.Join(in, "d.tif"), []byte("II*\x00garbage"))
	code, msg := sut(t, "predict", "--model", model, "--in", in, "--out", out, "--no-mirror")
	if code != 1 {
		t.Errorf("exit %d, want 1:\n%s", code, msg)
	}
	for _, want := range []string{"wrote 2 of 4 masks", "2 of 4 images failed", "b.png", "d.tif"} {
		if !strings.Contains(msg, want) {
			t.Errorf("output does not say %q:\n%s", want, msg)
		}
	}
	for _, n := range []string{"a.png", "c.png"} {
		if _, err := os.Stat(filepath.Join(out, n)); err != nil {
			t.Errorf("mask %s not written: %v", n, err)
		}
	}
}

// Item 9: the declared size is checked against --max-pixels (default: from
// the machine's memory) before decoding.
func TestPredictRefusesImagesOverThePixelLimit(t *testing.T) {
	model := predictModel(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "img.png")
	writeTestFile(t, img, testPNG(20, 12))
	code, msg := sut(t, "predict", "--model", model, "--in", img, "--out", filepath.Join(dir, "m.png"), "--max-pixels", "239")
	if code != 1 || !strings.Contains(msg, "20x12 is 240 pixels, more than the limit of 239") || !strings.Contains(msg, "--max-pixels") {
		t.Fatalf("exit %d, want 1 and the limit named:\n%s", code, msg)
	}
	mustRun(t, "predict", "--model", model, "--in", img, "--out", filepath.Join(dir, "m.png"), "--max-pixels", "240", "--no-mirror")
	// A header declaring 60000 x 60000 pixels (14 GB decoded) under the
	// default limit.
	huge := filepath.Join(dir, "huge.png")
	writeTestFile(t, huge, append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\xea\x60\x00\x00\xea\x60\x08\x02\x00\x00\x00"), crcOfIHDR(60000)...))
	code, msg = sut(t, "predict", "--model", model, "--in", huge, "--out", filepath.Join(dir, "h.png"))
	if code != 1 || !strings.Contains(msg, "60000x60000") {
		t.Fatalf("60000x60000 header: exit %d:\n%s", code, msg)
	}
}

// Item 10: --step is bounded.
func TestPredictStepBounds(t *testing.T) {
	model := predictModel(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "img.png")
	writeTestFile(t, img, testPNG(20, 12))
	// 0.01 first: without the bound it runs (cheaply) and the test stops
	// there, before 1e-9 would allocate gigabytes.
	for _, step := range []string{"0.01", "1e-9", "0", "1.5", "NaN"} {
		code, msg := sut(t, "predict", "--model", model, "--in", img, "--out", filepath.Join(dir, "m.png"), "--step", step)
		if code != 2 || !strings.Contains(msg, "--step") {
			t.Fatalf("--step %s: exit %d, want 2 naming --step:\n%s", step, code, msg)
		}
	}
}

// crcOfIHDR is the CRC of the IHDR chunk of an n x n 8-bit RGB PNG.
func crcOfIHDR(n uint32) []byte {
	c := []byte("IHDR")
	c = binary.BigEndian.AppendUint32(c, n)
	c = binary.BigEndian.AppendUint32(c, n)
	c = append(c, 8, 2, 0, 0, 0)
	return binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(c))
}
