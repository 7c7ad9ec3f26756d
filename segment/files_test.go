package segment

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"suture/io/imageset"
	"suture/tensor"
)

func writePNG(t *testing.T, path string, w, h int) {
	t.Helper()
	im := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			im.Set(x, y, color.RGBA{uint8(x * 9), uint8(y * 5), uint8((x + y) * 3), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, im); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// hugePNGHeader is a PNG signature and IHDR chunk declaring w x h RGB
// pixels, and nothing else.
func hugePNGHeader(w, h uint32) []byte {
	c := binary.BigEndian.AppendUint32(nil, 13)
	c = append(c, "IHDR"...)
	c = binary.BigEndian.AppendUint32(c, w)
	c = binary.BigEndian.AppendUint32(c, h)
	c = append(c, 8, 2, 0, 0, 0)
	c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
	return append([]byte("\x89PNG\r\n\x1a\n"), c...)
}

func TestFolderJobsRefusesOutputInsideInput(t *testing.T) {
	in := t.TempDir()
	writePNG(t, filepath.Join(in, "a.png"), 8, 8)
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(in, link); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{in, filepath.Join(in, "masks"), in + "/.", link, filepath.Join(link, "new", "deeper")} {
		if _, err := FolderJobs(in, out); err == nil || !strings.Contains(err.Error(), "inside it") {
			t.Errorf("FolderJobs(in, %s): %v, want a refusal", out, err)
		}
	}
	sibling := in + "-masks"
	jobs, err := FolderJobs(in, sibling)
	if err != nil || len(jobs) != 1 || jobs[0].Out != filepath.Join(sibling, "a.png") {
		t.Errorf("FolderJobs(in, sibling) = %v, %v", jobs, err)
	}
}

func TestFolderJobsRefusesCollidingMasks(t *testing.T) {
	in := t.TempDir()
	for _, n := range []string{"x.png", "x.jpg", "y.tif", "y.TIFF", "z.png"} {
		writePNG(t, filepath.Join(in, n), 4, 4)
	}
	_, err := FolderJobs(in, t.TempDir())
	if err == nil {
		t.Fatal("x.png and x.jpg both map to x.png, no error")
	}
	for _, want := range []string{"x.jpg and x.png", "y.TIFF and y.tif"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestCheckOutputs(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "img.png")
	writePNG(t, img, 6, 4)
	foreign := filepath.Join(dir, "foreign.png")
	writePNG(t, foreign, 6, 4)
	ours := filepath.Join(dir, "ours.png")
	if err := imageset.WriteMask(ours, make([]uint8, 24), 4, 6); err != nil {
		t.Fatal(err)
	}
	if err := CheckOutputs([]FileJob{{In: img, Out: filepath.Join(dir, "new.png")}, {In: img, Out: ours}}, false); err != nil {
		t.Errorf("a new path and a mask Suture wrote: %v", err)
	}
	err := CheckOutputs([]FileJob{{In: img, Out: foreign}}, false)
	if !errors.Is(err, ErrNotOurs) || !strings.Contains(err.Error(), foreign) {
		t.Errorf("a PNG Suture did not write: %v, want ErrNotOurs naming it", err)
	}
	if err := CheckOutputs([]FileJob{{In: img, Out: foreign}}, true); err != nil {
		t.Errorf("forced: %v", err)
	}
	if err := CheckOutputs([]FileJob{{In: img, Out: img}}, true); err == nil || !strings.Contains(err.Error(), "own input") {
		t.Errorf("mask = input, forced: %v, want a refusal", err)
	}
	if err := CheckOutputs([]FileJob{{In: img, Out: dir}}, true); err == nil {
		t.Error("a folder at the mask path: no error")
	}
}

func TestSegmentFileRefusesHugeHeaderBeforeDecoding(t *testing.T) {
	m := FromUNet(importFixture(t, "Dataset991_TinyPlain"))
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.png")
	if err := os.WriteFile(huge, hugePNGHeader(60000, 60000), 0o644); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := m.SegmentFile(huge, filepath.Join(dir, "mask.png"))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "60000x60000") {
		t.Fatalf("SegmentFile(60000x60000 header) = %v, want ErrTooLarge naming the size", err)
	}
	if a := after.TotalAlloc - before.TotalAlloc; a > 1<<20 {
		t.Errorf("refusing allocated %d bytes", a)
	}
	// An explicit limit applies to real images too.
	small := filepath.Join(dir, "small.png")
	writePNG(t, small, 20, 10)
	m.Options.MaxPixels = 199
	if err := m.SegmentFile(small, filepath.Join(dir, "mask.png")); !errors.Is(err, ErrTooLarge) {
		t.Errorf("200 pixels over a limit of 199: %v", err)
	}
	m.Options.MaxPixels = 200
	if err := m.SegmentFile(small, filepath.Join(dir, "mask.png")); err != nil {
		t.Errorf("200 pixels at a limit of 200: %v", err)
	}
}

func TestSegmentFilesGoesOnAfterAFailure(t *testing.T) {
	m := FromUNet(importFixture(t, "Dataset991_TinyPlain"))
	m.Options.NoMirror = true
	in, out := t.TempDir(), t.TempDir()
	writePNG(t, filepath.Join(in, "a.png"), 20, 12)
	if err := os.WriteFile(filepath.Join(in, "b.png"), []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	writePNG(t, filepath.Join(in, "c.png"), 12, 20)
	if err := os.WriteFile(filepath.Join(in, "d.jpg"), hugePNGHeader(60000, 60000), 0o644); err != nil {
		t.Fatal(err)
	}
	jobs, err := FolderJobs(in, out)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	written, err := m.SegmentFiles(context.Background(), jobs, func(i, n int, j FileJob) { seen = append(seen, filepath.Base(j.In)) })
	if written != 2 {
		t.Errorf("wrote %d masks, want 2 (a and c)", written)
	}
	var fe *FilesError
	if !errors.As(err, &fe) || len(fe.Failed) != 2 || fe.Total != 4 {
		t.Fatalf("error %v, want a FilesError with 2 of 4 failed", err)
	}
	msg := err.Error()
	for _, want := range []string{"2 of 4 images failed", filepath.Join(in, "b.png"), filepath.Join(in, "d.jpg")} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
	if !errors.Is(err, ErrTooLarge) {
		t.Error("errors.Is(err, ErrTooLarge) is false")
	}
	for _, n := range []string{"a.png", "c.png"} {
		if ok, err := imageset.WrittenBySuture(filepath.Join(out, n)); !ok || err != nil {
			t.Errorf("mask %s: written by Suture %v, %v", n, ok, err)
		}
	}
	if strings.Join(seen, ",") != "a.png,b.png,c.png,d.jpg" {
		t.Errorf("progress saw %v", seen)
	}
	// Cancelled: stops before the next image.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := m.SegmentFiles(ctx, jobs, nil); n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %d, %v", n, err)
	}
}

func TestStepBounds(t *testing.T) {
	net := func(x *tensor.Tensor) (*tensor.Tensor, error) {
		return tensor.New(x.Shape[0], 2, x.Shape[2], x.Shape[3]), nil
	}
	x := tensor.New(1, 40, 40)
	// 0.01 first: code without the bound runs it (cheaply) and fails here,
	// before 1e-9 would ask for billions of offsets.
	for _, step := range []float64{0.01, 0, -1, 1.5, 1e-9} {
		if _, err := SlidingWindow(net, x, WindowOptions{Patch: [2]int{16, 16}, Step: step}); err == nil || !strings.Contains(err.Error(), "step") {
			t.Fatalf("step %g: %v, want a refusal", step, err)
		}
	}
	if _, err := SlidingWindow(net, x, WindowOptions{Patch: [2]int{16, 16}, Step: MinStep}); err != nil {
		t.Errorf("step %g: %v", MinStep, err)
	}
	if got := len(Steps(20, 16, 1e-9)); got != 5 {
		t.Errorf("Steps(20, 16, 1e-9) has %d offsets, want 5 (one per pixel)", got)
	}
	// The tile count is bounded before anything of the image's size is
	// allocated: 1100 x 1100 one-pixel tiles.
	big := &tensor.Tensor{Shape: tensor.Shape{1, 1100, 1100}, Data: make([]float32, 1100*1100)}
	if _, err := SlidingWindow(net, big, WindowOptions{Patch: [2]int{1, 1}, Step: 1}); err == nil || !strings.Contains(err.Error(), "tiles") {
		t.Errorf("1.2 million tiles: %v, want a refusal", err)
	}
}

// The budget follows the Go memory limit when one is set below the
// machine's memory.
func TestAvailableMemoryFollowsMemoryLimit(t *testing.T) {
	old := debug.SetMemoryLimit(1 << 30)
	defer debug.SetMemoryLimit(old)
	if m := AvailableMemory(); m <= 0 || m > 1<<30 {
		t.Fatalf("AvailableMemory = %d under a 1 GiB memory limit", m)
	}
	if p := DefaultMaxPixels(2); p != AvailableMemory()/2/BytesPerPixel(2) || p > 1<<30/2/64 {
		t.Errorf("DefaultMaxPixels(2) = %d under a 1 GiB memory limit", p)
	}
}
