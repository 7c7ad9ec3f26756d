package imageset

import (
	"io"

	"bytes"
	"encoding/csv"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"suture/internal/atomicfile"
	"suture/internal/sniff"
)

// WriteFolderPair writes samples in the folder-pair layout: dir/images/<name>.png
// (8-bit grey or RGB; values are rounded), dir/masks/<name>.png (8-bit grey,
// 0 and 255) and dir/index.csv (columns id, name, sequence_id) so that Open
// reads back the same samples, order and groups. Every file is written to a
// temporary file in its folder, synced and renamed, so a reader never sees a
// half-written file. All samples are checked before anything is written.
func WriteFolderPair(dir string, samples []Sample) error {
	if len(samples) == 0 {
		return fmt.Errorf("imageset: WriteFolderPair %s: no samples", dir)
	}
	seen := make(map[string]int, len(samples))
	for i, s := range samples {
		if err := checkWritable(s, i); err != nil {
			return fmt.Errorf("imageset: WriteFolderPair %s: %w", dir, err)
		}
		if j, dup := seen[s.Name]; dup {
			return fmt.Errorf("imageset: WriteFolderPair %s: samples %d and %d share the name %q", dir, j, i, s.Name)
		}
		seen[s.Name] = i
	}
	imgDir, mskDir := filepath.Join(dir, "images"), filepath.Join(dir, "masks")
	for _, d := range []string{imgDir, mskDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("imageset: %w", err)
		}
	}
	var buf bytes.Buffer
	for _, s := range samples {
		for _, f := range []struct {
			path string
			img  image.Image
		}{
			{filepath.Join(imgDir, s.Name+".png"), imageFromTensor(s)},
			{filepath.Join(mskDir, s.Name+".png"), maskImage(s)},
		} {
			buf.Reset()
			if err := encodePNG(&buf, f.img); err != nil {
				return fmt.Errorf("imageset: encode %s: %w", f.path, err)
			}
			if err := writeFileAtomic(f.path, buf.Bytes()); err != nil {
				return err
			}
		}
	}
	buf.Reset()
	w := csv.NewWriter(&buf)
	_ = w.Write(strings.Split(indexHeader, ",")) // a bytes.Buffer cannot fail
	for i, s := range samples {
		_ = w.Write([]string{strconv.Itoa(i), s.Name, s.Group})
	}
	w.Flush()
	if err := writeFileAtomic(filepath.Join(dir, "index.csv"), buf.Bytes()); err != nil {
		return err
	}
	return nil
}

// checkWritable says why sample i cannot be written as 8-bit PNGs, if it cannot.
func checkWritable(s Sample, i int) error {
	if s.Name == "" || s.Name != filepath.Base(s.Name) || strings.ContainsAny(s.Name, `/\`) || strings.HasPrefix(s.Name, ".") {
		return fmt.Errorf("sample %d: name %q is not a plain file stem", i, s.Name)
	}
	im, m := s.Image, s.Mask
	if im == nil || m == nil {
		return fmt.Errorf("sample %d (%s): nil image or mask", i, s.Name)
	}
	if !im.OnHost() || !m.OnHost() {
		return fmt.Errorf("sample %d (%s): image or mask not in host memory", i, s.Name)
	}
	if len(im.Shape) != 3 || (im.Shape[0] != 1 && im.Shape[0] != 3) || im.Numel() == 0 || len(im.Data) != im.Numel() {
		return fmt.Errorf("sample %d (%s): image shape %v, want (1 or 3, H, W)", i, s.Name, im.Shape)
	}
	if len(m.Shape) != 3 || m.Shape[0] != 1 || m.Shape[1] != im.Shape[1] || m.Shape[2] != im.Shape[2] || len(m.Data) != m.Numel() {
		return fmt.Errorf("sample %d (%s): mask shape %v does not fit image shape %v (want (1, H, W))", i, s.Name, m.Shape, im.Shape)
	}
	for k, v := range im.Data {
		if !(v >= 0 && v <= 255) { // also catches NaN
			return fmt.Errorf("sample %d (%s): image value %v at flat index %d is outside 0..255", i, s.Name, v, k)
		}
	}
	for k, v := range m.Data {
		if v != 0 && v != 1 {
			return fmt.Errorf("sample %d (%s): mask value %v at flat index %d is not a class 0 or 1", i, s.Name, v, k)
		}
	}
	return nil
}

// imageFromTensor makes an 8-bit grey or RGB image of a checked sample.
func imageFromTensor(s Sample) image.Image {
	c, h, w := s.Image.Shape[0], s.Image.Shape[1], s.Image.Shape[2]
	d := s.Image.Data
	level := func(v float32) uint8 { return uint8(math.Round(float64(v))) }
	if c == 1 {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range h * w {
			g.Pix[i] = level(d[i])
		}
		return g
	}
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	plane := h * w
	for i := range plane {
		rgba.Pix[4*i] = level(d[i])
		rgba.Pix[4*i+1] = level(d[plane+i])
		rgba.Pix[4*i+2] = level(d[2*plane+i])
		rgba.Pix[4*i+3] = 255
	}
	return rgba
}

// maskImage makes the 0/255 grey image of a checked sample's mask.
func maskImage(s Sample) image.Image {
	h, w := s.Mask.Shape[1], s.Mask.Shape[2]
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i, v := range s.Mask.Data {
		if v == 1 {
			g.Pix[i] = 255
		}
	}
	return g
}

// writeFileAtomic writes data to path through atomicfile.Write (temporary
// file, fsync, rename), so a reader never sees a half-written file.
func writeFileAtomic(path string, data []byte) error {
	err := atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("imageset: %w", err)
	}
	return nil
}

// indexHeader is the header line of the index.csv WriteFolderPair writes.
const indexHeader = "id,name,sequence_id"

// IsIndex reports whether the file at path is an index.csv as
// WriteFolderPair writes one (by its header line).
func IsIndex(path string) bool { return sniff.CSVHeader(path, indexHeader) }
