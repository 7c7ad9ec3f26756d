package imageset

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
)

// hugePNG writes a valid 1x1 PNG whose header then declares w x h pixels
// (its IHDR checksum recomputed): a few dozen bytes that would ask a
// decoder for w*h pixels.
func hugePNG(t *testing.T, path string, w, h uint32) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	// Signature (8), IHDR length (4), "IHDR" (4), then width, height.
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMaxPixels: an image declaring more than MaxPixels is refused by every
// reader with one error naming the file and the limit, before its pixels
// are read; one at the limit is read as far as its (short) data goes.
func TestMaxPixels(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.png")
	hugePNG(t, big, 100000, 100000)
	for name, read := range map[string]func(string) error{
		"ReadImage": func(p string) error { _, err := ReadImage(p); return err },
		"ReadMask":  func(p string) error { _, err := ReadMask(p); return err },
	} {
		err := read(big)
		if err == nil || !strings.Contains(err.Error(), "big.png declares 100000x100000 pixels") || !strings.Contains(err.Error(), "(imageset.MaxPixels)") {
			t.Errorf("%s of a 100000x100000 header: %v", name, err)
		}
	}
	defer func(m int) { MaxPixels = m }(MaxPixels)
	MaxPixels = 16
	small := filepath.Join(dir, "small.png")
	hugePNG(t, small, 4, 4)
	if _, err := ReadImage(small); err == nil || strings.Contains(err.Error(), "(imageset.MaxPixels)") {
		t.Errorf("a 4x4 header at a limit of 16: %v (want a decode error of the short data, not the limit)", err)
	}
	hugePNG(t, small, 4, 5)
	if _, err := ReadImage(small); err == nil || !strings.Contains(err.Error(), "(imageset.MaxPixels)") {
		t.Errorf("a 4x5 header at a limit of 16: %v", err)
	}
}
