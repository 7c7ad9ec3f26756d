package imageset

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"os"

	"suture/internal/sniff"
)

// Every PNG Suture writes (masks, label maps, the synthetic data) carries a
// tEXt chunk "Software" = "Suture" right after its IHDR chunk, so that a
// command about to replace a file can tell its own earlier output from
// anything else (an input image, a reference mask).

const (
	pngSignature = "\x89PNG\r\n\x1a\n"
	ihdrEnd      = 8 + 4 + 4 + 13 + 4 // signature, then IHDR: length, type, data, CRC
)

// markChunk is the tEXt chunk that marks a PNG as written by Suture.
var markChunk = func() []byte {
	data := []byte("Software\x00Suture")
	c := make([]byte, 0, 12+len(data))
	c = binary.BigEndian.AppendUint32(c, uint32(len(data)))
	c = append(c, "tEXt"...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}()

// encodePNG encodes img as a PNG marked as written by Suture.
func encodePNG(w *bytes.Buffer, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	b := buf.Bytes()
	if len(b) < ihdrEnd || string(b[:8]) != pngSignature || string(b[12:16]) != "IHDR" {
		return errors.New("png encoder wrote no IHDR chunk first") // cannot happen with image/png
	}
	w.Write(b[:ihdrEnd])
	w.Write(markChunk)
	w.Write(b[ihdrEnd:])
	return nil
}

// WrittenBySuture reports whether the file at path is a PNG that Suture
// wrote (a mask, a label map, a synthetic image): it reads the first bytes
// only. A missing file is an error (fs.ErrNotExist).
func WrittenBySuture(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, ihdrEnd+len(markChunk))
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	head = head[:n]
	return len(head) == ihdrEnd+len(markChunk) && string(head[:8]) == pngSignature &&
		string(head[12:16]) == "IHDR" && bytes.Equal(head[ihdrEnd:], markChunk), nil
}

// IsPNG reports whether the file at path starts with the PNG signature
// (any PNG, Suture's or not), reading its first bytes only.
func IsPNG(path string) bool { return string(sniff.Head(path, len(pngSignature))) == pngSignature }

// ImageSize reads the width and height an image file (PNG, JPEG or TIFF)
// declares in its header, without decoding its pixels, and its format.
func ImageSize(path string) (w, h int, format string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, "", fmt.Errorf("imageset: %w", err)
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(f)
	if err != nil {
		return 0, 0, "", fmt.Errorf("imageset: cannot read the header of %s: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, 0, "", fmt.Errorf("imageset: %s is an empty image (%dx%d)", path, cfg.Width, cfg.Height)
	}
	return cfg.Width, cfg.Height, format, nil
}
