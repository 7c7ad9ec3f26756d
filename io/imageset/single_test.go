package imageset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteMaskReadMaskRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.png")
	mask := []uint8{0, 1, 1, 0, 0, 1}
	if err := WriteMask(path, mask, 2, 3); err != nil {
		t.Fatal(err)
	}
	m, err := ReadMask(path)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Shape.Equal([]int{1, 2, 3}) {
		t.Fatalf("shape %v", m.Shape)
	}
	for i, v := range mask {
		if m.Data[i] != float32(v) {
			t.Fatalf("pixel %d: %g, want %d", i, m.Data[i], v)
		}
	}
	img, err := ReadImage(path)
	if err != nil || img.Shape[0] != 1 || img.Data[1] != 255 {
		t.Fatalf("ReadImage of the mask: %v %v", img, err)
	}
	if err := WriteMask(path, []uint8{0, 2}, 1, 2); err == nil || !strings.Contains(err.Error(), "value 2") {
		t.Errorf("mask value 2: %v", err)
	}
	if err := WriteMask(path, []uint8{0}, 1, 2); err == nil {
		t.Error("short mask accepted")
	}
	os.WriteFile(filepath.Join(dir, "bad.png"), []byte("not a png"), 0o644)
	if _, err := ReadMask(filepath.Join(dir, "bad.png")); err == nil || !strings.Contains(err.Error(), "bad.png") {
		t.Errorf("undecodable mask: %v", err)
	}
}
