package imageset

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestWrittenBySuture(t *testing.T) {
	dir := t.TempDir()
	mask := filepath.Join(dir, "mask.png")
	if err := WriteMask(mask, []uint8{0, 1, 1, 0, 1, 0}, 2, 3); err != nil {
		t.Fatal(err)
	}
	labels := filepath.Join(dir, "labels.png")
	if err := WriteLabels(labels, []uint8{0, 2, 1, 0}, 2, 2); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain.png")
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 3, 2))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short.png")
	if err := os.WriteFile(short, []byte(pngSignature), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want bool
	}{{mask, true}, {labels, true}, {plain, false}, {short, false}} {
		got, err := WrittenBySuture(c.path)
		if err != nil || got != c.want {
			t.Errorf("WrittenBySuture(%s) = %v, %v; want %v", filepath.Base(c.path), got, err, c.want)
		}
	}
	if _, err := WrittenBySuture(filepath.Join(dir, "missing.png")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v, want not-exist", err)
	}
	// The marked PNG still decodes, with the mask's values.
	m, err := ReadMask(mask)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 1, 1, 0, 1, 0}
	for i, v := range want {
		if m.Data[i] != v {
			t.Fatalf("mask read back %v, want %v", m.Data, want)
		}
	}
}

// pngHeader is the signature and IHDR chunk of a w x h 8-bit RGB PNG, with
// no pixel data after it.
func pngHeader(w, h uint32) []byte {
	b := []byte(pngSignature)
	chunk := binary.BigEndian.AppendUint32(nil, 13)
	chunk = append(chunk, "IHDR"...)
	chunk = binary.BigEndian.AppendUint32(chunk, w)
	chunk = binary.BigEndian.AppendUint32(chunk, h)
	chunk = append(chunk, 8, 2, 0, 0, 0)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	return append(b, chunk...)
}

func TestImageSizeReadsOnlyTheHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.png")
	if err := os.WriteFile(path, pngHeader(60000, 60000), 0o644); err != nil {
		t.Fatal(err)
	}
	w, h, format, err := ImageSize(path)
	if err != nil || w != 60000 || h != 60000 || format != "png" {
		t.Fatalf("ImageSize = %d, %d, %q, %v; want 60000, 60000, png", w, h, format, err)
	}
	if _, _, _, err := ImageSize(filepath.Join(t.TempDir(), "none.png")); err == nil {
		t.Error("a missing file gave no error")
	}
}
