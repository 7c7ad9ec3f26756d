package imageset

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/tiff"

	"suture/tensor"
)

// randomRGB is a w x h opaque colour image of random values.
func randomRGB(r *tensor.RNG, w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(r.IntN(256))
		if i%4 == 3 {
			m.Pix[i] = 255
		}
	}
	return m
}

// smoothRGB is a w x h colour image of gentle gradients, which JPEG keeps
// close to the original.
func smoothRGB(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetRGBA(x, y, color.RGBA{uint8(40 + 150*x/w), uint8(60 + 120*y/h), uint8(100 + 50*(x+y)/(w+h)), 255})
		}
	}
	return m
}

// randomGrey is a w x h grey image of random values.
func randomGrey(r *tensor.RNG, w, h int) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(r.IntN(256))
	}
	return m
}

// discMask is a w x h grey mask with a disc of level fg (background 0).
func discMask(w, h int, fg uint8) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	cx, cy, rad := float64(w)/2, float64(h)/2, float64(min(w, h))/3
	for y := range h {
		for x := range w {
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			if dx*dx+dy*dy < rad*rad {
				m.Pix[y*w+x] = fg
			}
		}
	}
	return m
}

// encodeAs writes img to path in the format its extension names.
func encodeAs(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		err = png.Encode(&buf, img)
	case ".jpg", ".jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100})
	case ".tif", ".tiff":
		err = tiff.Encode(&buf, img, &tiff.Options{Compression: tiff.Deflate})
	default:
		t.Fatalf("encodeAs: unknown extension %s", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, buf.Bytes())
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// wantErr fails unless err is non-nil and mentions every part.
func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error mentioning %q, got nil", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
}

// rgbOf returns the (3, H, W) float tensor of an image, by color.RGBA.
func rgbOf(img image.Image) []float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]float32, 3*w*h)
	for y := range h {
		for x := range w {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*w + x
			out[i], out[w*h+i], out[2*w*h+i] = float32(r>>8), float32(g>>8), float32(bl>>8)
		}
	}
	return out
}

// moduleRoot walks up from the test's directory to the folder with go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = up
	}
}

// polypDir is ../shared/data/polyp/<name>/<size> from the module root, or it
// skips the test when the folder is missing.
func polypDir(t *testing.T, name, size string) string {
	t.Helper()
	dir := filepath.Join(moduleRoot(t), "..", "shared", "data", "polyp", name, size)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("real polyp data not available at %s (%v); skipping", dir, err)
	}
	return dir
}
