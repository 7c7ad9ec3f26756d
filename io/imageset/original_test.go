package imageset

import (
	"image"
	"image/color"
	"math"
	"path/filepath"
	"testing"

	"suture/tensor"
)

// refResize is a plain 2-D area average written apart from resizeArea: each
// output pixel integrates the source over its span with float64 interval
// overlaps.
func refResize(src []float64, h, w, outH, outW int) []float64 {
	out := make([]float64, outH*outW)
	sx, sy := float64(w)/float64(outW), float64(h)/float64(outH)
	overlap := func(a0, a1, b0, b1 float64) float64 { return math.Max(0, math.Min(a1, b1)-math.Max(a0, b0)) }
	for i := range outH {
		for j := range outW {
			y0, y1, x0, x1 := float64(i)*sy, float64(i+1)*sy, float64(j)*sx, float64(j+1)*sx
			sum, area := 0.0, 0.0
			for y := range h {
				oy := overlap(y0, y1, float64(y), float64(y+1))
				if oy == 0 {
					continue
				}
				for x := range w {
					a := oy * overlap(x0, x1, float64(x), float64(x+1))
					sum += a * src[y*w+x]
					area += a
				}
			}
			out[i*outW+j] = sum / area
		}
	}
	return out
}

func TestResizeAreaAgainstReference(t *testing.T) {
	r := tensor.NewRNG(11)
	sizes := [][4]int{{7, 9, 3, 4}, {10, 10, 4, 4}, {64, 64, 64, 64}, {5, 6, 8, 11}, {1, 1, 3, 2}, {29, 38, 7, 7}, {17, 13, 17, 1}}
	for _, sz := range sizes {
		h, w, oh, ow := sz[0], sz[1], sz[2], sz[3]
		x := tensor.New(2, h, w)
		r.Uniform(x, 0, 255)
		got, err := resizeArea(x, oh, ow)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Shape.Equal(tensor.Shape{2, oh, ow}) {
			t.Fatalf("shape %v", got.Shape)
		}
		for c := range 2 {
			src := tensor.To64(x.Data[c*h*w : (c+1)*h*w])
			want := refResize(src, h, w, oh, ow)
			if err := tensor.CloseError("resizeArea", got.Data[c*oh*ow:(c+1)*oh*ow], want, 1e-3, 1e-5); err != nil {
				t.Fatalf("%dx%d -> %dx%d: %v", w, h, ow, oh, err)
			}
		}
	}
	if _, err := resizeArea(nil, 2, 2); err == nil {
		t.Error("nil input: want an error")
	}
	if _, err := resizeArea(tensor.New(1, 0, 3), 2, 2); err == nil {
		t.Error("empty input: want an error")
	}
}

// TestKvasirLayout: original-release JPEG frames of different sizes, resized
// on load; masks thresholded at full size, area-averaged, cut at 0.5.
func TestKvasirLayout(t *testing.T) {
	dir := t.TempDir()
	sizes := map[string][2]int{"k1": {40, 30}, "k2": {33, 47}, "k3": {16, 16}}
	for name, wh := range sizes {
		encodeAs(t, filepath.Join(dir, "images", name+".jpg"), smoothRGB(wh[0], wh[1]))
		encodeAs(t, filepath.Join(dir, "masks", name+".jpg"), discMask(wh[0], wh[1], 255))
	}
	ds, err := Open(dir, Options{Size: 16})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Layout != LayoutKvasir || ds.Len() != 3 {
		t.Fatalf("layout %v with %d samples", ds.Layout, ds.Len())
	}
	for _, s := range ds.Samples {
		wh := sizes[s.Name]
		if !s.Image.Shape.Equal(tensor.Shape{3, 16, 16}) || !s.Mask.Shape.Equal(tensor.Shape{1, 16, 16}) {
			t.Fatalf("%s: shapes %v %v", s.Name, s.Image.Shape, s.Mask.Shape)
		}
		// Reference: decode the files again, threshold, area-average by the
		// plain reference, and cut at 0.5.
		img, _, err := decodeFile(filepath.Join(dir, "images", s.Name+".jpg"))
		if err != nil {
			t.Fatal(err)
		}
		full := imageTensor(img)
		msk, _, _ := decodeFile(filepath.Join(dir, "masks", s.Name+".jpg"))
		levels, _ := maskLevels(msk)
		bin := make([]float64, len(levels))
		for i, v := range levels {
			if v > 127 {
				bin[i] = 1
			}
		}
		wantMask := refResize(bin, wh[1], wh[0], 16, 16)
		for i, v := range wantMask {
			want := float32(0)
			if v >= 0.5 {
				want = 1
			}
			// Exact halves may fall either way in float arithmetic.
			if s.Mask.Data[i] != want && math.Abs(v-0.5) > 1e-9 {
				t.Fatalf("%s: mask pixel %d is %v, reference share %v", s.Name, i, s.Mask.Data[i], v)
			}
		}
		plane := wh[0] * wh[1]
		for c := range 3 {
			want := refResize(tensor.To64(full.Data[c*plane:(c+1)*plane]), wh[1], wh[0], 16, 16)
			if err := tensor.CloseError(s.Name, s.Image.Data[c*256:(c+1)*256], want, 1e-3, 1e-5); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Without a size the differing frames are an error that suggests one.
	_, err = Open(dir, Options{})
	wantErr(t, err, "images/k", "Options.Size")
}

// TestCVCLayout: TIFF frames in Original/ and masks with intermediate values
// in "Ground Truth"/, as the CVC-ClinicDB release has them.
func TestCVCLayout(t *testing.T) {
	dir := t.TempDir()
	r := tensor.NewRNG(5)
	for _, name := range []string{"1", "2", "10"} {
		encodeAs(t, filepath.Join(dir, "Original", name+".tif"), randomRGB(r, 24, 18))
		m := discMask(24, 18, 255)
		// Soft edges: values a lossless binary mask would reject.
		for i := range m.Pix {
			if m.Pix[i] == 0 && i%5 == 0 {
				m.Pix[i] = 12
			} else if m.Pix[i] == 255 && i%7 == 0 {
				m.Pix[i] = 200
			}
		}
		encodeAs(t, filepath.Join(dir, "Ground Truth", name+".tif"), m)
	}
	writeFile(t, filepath.Join(dir, "index.csv"), []byte("name,sequence_id\n1,1\n2,1\n10,2\n"))
	ds, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Layout != LayoutCVC || ds.Len() != 3 {
		t.Fatalf("layout %v with %d samples", ds.Layout, ds.Len())
	}
	want := discMask(24, 18, 1)
	for _, s := range ds.Samples {
		for i, v := range s.Mask.Data {
			if v != float32(want.Pix[i]) {
				t.Fatalf("%s: mask pixel %d is %v, want %d", s.Name, i, v, want.Pix[i])
			}
		}
	}
	if g := ds.Groups(); g[0] != "1" || g[2] != "2" {
		t.Errorf("groups %v", g)
	}
	small, err := Open(dir, Options{Size: 12})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range small.Samples {
		if !s.Image.Shape.Equal(tensor.Shape{3, 12, 12}) {
			t.Fatalf("resized shape %v", s.Image.Shape)
		}
	}
}

// TestGreyPaletted: a paletted image with only grey entries is grey.
func TestGreyPaletted(t *testing.T) {
	p := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.Gray{0}, color.Gray{90}})
	p.Pix[1] = 1
	if !isGrey(p) {
		t.Fatal("grey palette not seen as grey")
	}
	got := imageTensor(p)
	if !got.Shape.Equal(tensor.Shape{1, 1, 2}) || got.Data[1] != 90 {
		t.Fatalf("paletted grey: %v %v", got.Shape, got.Data)
	}
}
