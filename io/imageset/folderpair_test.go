package imageset

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"suture/tensor"
)

// TestFolderPairFormats loads PNG, TIFF and JPEG images with PNG, TIFF and
// JPEG masks ({0,255} and {0,1} encodings) and compares them with the
// images that were written.
func TestFolderPairFormats(t *testing.T) {
	dir := t.TempDir()
	r := tensor.NewRNG(1)
	const w, h = 19, 13 // odd sizes
	srcPNG, srcTIF := randomRGB(r, w, h), randomRGB(r, w, h)
	srcJPG := smoothRGB(w, h)
	encodeAs(t, filepath.Join(dir, "images", "a.png"), srcPNG)
	encodeAs(t, filepath.Join(dir, "masks", "a.png"), discMask(w, h, 255))
	encodeAs(t, filepath.Join(dir, "images", "b.tif"), srcTIF)
	encodeAs(t, filepath.Join(dir, "masks", "b.tiff"), discMask(w, h, 1))
	encodeAs(t, filepath.Join(dir, "images", "c.jpg"), srcJPG)
	encodeAs(t, filepath.Join(dir, "masks", "c.jpg"), discMask(w, h, 255))
	writeFile(t, filepath.Join(dir, "images", "notes.txt"), []byte("ignored"))
	writeFile(t, filepath.Join(dir, "images", ".hidden.png"), []byte("ignored"))

	ds, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Layout != LayoutFolderPair || ds.Len() != 3 || ds.Classes != 2 {
		t.Fatalf("layout %v, %d samples, %d classes; want folder-pair, 3, 2", ds.Layout, ds.Len(), ds.Classes)
	}
	if got := ds.Names(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("names %v", got)
	}
	disc := discMask(w, h, 1)
	for i, s := range ds.Samples {
		if !s.Image.Shape.Equal(tensor.Shape{3, h, w}) || !s.Mask.Shape.Equal(tensor.Shape{1, h, w}) {
			t.Fatalf("%s: image %v mask %v", s.Name, s.Image.Shape, s.Mask.Shape)
		}
		if s.Group != "" {
			t.Errorf("%s: group %q without an index", s.Name, s.Group)
		}
		mismatch := 0
		for p, v := range s.Mask.Data {
			if v != float32(disc.Pix[p]) {
				mismatch++
			}
		}
		// The lossless masks must match exactly; the JPEG one after the >127
		// threshold almost everywhere.
		if (i < 2 && mismatch != 0) || mismatch > 2 {
			t.Errorf("%s: %d mask pixels differ from the disc", s.Name, mismatch)
		}
	}
	if d := tensor.MaxAbsDiff(ds.Samples[0].Image.Data, rgbOf(srcPNG)); d != 0 {
		t.Errorf("PNG image differs from what was written by %v", d)
	}
	if d := tensor.MaxAbsDiff(ds.Samples[1].Image.Data, rgbOf(srcTIF)); d != 0 {
		t.Errorf("TIFF image differs from what was written by %v", d)
	}
	if d := tensor.MaxAbsDiff(ds.Samples[2].Image.Data, rgbOf(srcJPG)); d > 12 {
		t.Errorf("JPEG image (quality 100) differs from the original by %v", d)
	}
}

// TestFolderPairGreyAndIndex: grey images give C = 1; index.csv sets order
// and groups (it may name files instead of stems, and start with a BOM).
func TestFolderPairGreyAndIndex(t *testing.T) {
	dir := t.TempDir()
	r := tensor.NewRNG(2)
	srcs := map[string]*image.Gray{}
	for _, n := range []string{"f1", "f2", "f3", "f10"} {
		srcs[n] = randomGrey(r, 8, 8)
		encodeAs(t, filepath.Join(dir, "images", n+".png"), srcs[n])
		encodeAs(t, filepath.Join(dir, "masks", n+".png"), discMask(8, 8, 255))
	}
	writeFile(t, filepath.Join(dir, "index.csv"), []byte("\ufeffid,name,sequence_id\n0,f10,7\n1,f2.png,3\n2,f1,3\n3,f3,\n"))
	ds, err := Open(dir, Options{Size: 8})
	if err != nil {
		t.Fatal(err)
	}
	if got := ds.Names(); !slices.Equal(got, []string{"f10", "f2", "f1", "f3"}) {
		t.Errorf("names %v, want the index order", got)
	}
	if got := ds.Groups(); !slices.Equal(got, []string{"7", "3", "3", ""}) {
		t.Errorf("groups %v", got)
	}
	for _, s := range ds.Samples {
		if !s.Image.Shape.Equal(tensor.Shape{1, 8, 8}) {
			t.Fatalf("%s: grey image shape %v", s.Name, s.Image.Shape)
		}
		for p, v := range s.Image.Data {
			if v != float32(srcs[s.Name].Pix[p]) {
				t.Fatalf("%s: pixel %d is %v, wrote %d", s.Name, p, v, srcs[s.Name].Pix[p])
			}
		}
	}
}

// TestSixteenBitImages: 16-bit grey images are scaled to 0..255 and 16-bit
// masks may use {0, 65535}.
func TestSixteenBitImages(t *testing.T) {
	dir := t.TempDir()
	img := image.NewGray16(image.Rect(0, 0, 4, 4))
	msk := image.NewGray16(image.Rect(0, 0, 4, 4))
	for i := range 16 {
		img.SetGray16(i%4, i/4, color.Gray16{Y: uint16(i * 4369)}) // 0..65535
		if i%3 == 0 {
			msk.SetGray16(i%4, i/4, color.Gray16{Y: 65535})
		}
	}
	encodeAs(t, filepath.Join(dir, "images", "x.png"), img)
	encodeAs(t, filepath.Join(dir, "masks", "x.png"), msk)
	ds, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := ds.Samples[0]
	for i := range 16 {
		if want := float32(i*4369) / 257; math.Abs(float64(s.Image.Data[i]-want)) > 1e-4 {
			t.Errorf("pixel %d: %v, want %v", i, s.Image.Data[i], want)
		}
		if want := float32(0); i%3 == 0 {
			want = 1
			if s.Mask.Data[i] != want {
				t.Errorf("mask pixel %d: %v, want 1", i, s.Mask.Data[i])
			}
		} else if s.Mask.Data[i] != want {
			t.Errorf("mask pixel %d: %v, want 0", i, s.Mask.Data[i])
		}
	}
}

// goodPair writes a valid 8x8 RGB sample named name into dir.
func goodPair(t *testing.T, dir, name string) {
	t.Helper()
	encodeAs(t, filepath.Join(dir, "images", name+".png"), randomRGB(tensor.NewRNG(uint64(len(name))), 8, 8))
	encodeAs(t, filepath.Join(dir, "masks", name+".png"), discMask(8, 8, 255))
}

// TestFolderPairBadInput: each broken folder gives one error that names the
// file (or folder) at fault.
func TestFolderPairBadInput(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		opts  Options
		want  []string // substrings of the error, beyond the file name
	}{
		{"missing mask", func(t *testing.T, dir string) {
			goodPair(t, dir, "a")
			encodeAs(t, filepath.Join(dir, "images", "b.png"), randomRGB(tensor.NewRNG(3), 8, 8))
		}, Options{}, []string{"images/b.png", "no mask"}},
		{"mask without image", func(t *testing.T, dir string) {
			goodPair(t, dir, "a")
			encodeAs(t, filepath.Join(dir, "masks", "z.png"), discMask(8, 8, 255))
		}, Options{}, []string{"masks/z.png", "no image"}},
		{"unexpected mask value", func(t *testing.T, dir string) {
			goodPair(t, dir, "a")
			m := discMask(8, 8, 255)
			m.Pix[9] = 7
			encodeAs(t, filepath.Join(dir, "images", "b.png"), randomRGB(tensor.NewRNG(3), 8, 8))
			encodeAs(t, filepath.Join(dir, "masks", "b.png"), m)
		}, Options{}, []string{"masks/b.png", "value 7", "x=1, y=1"}},
		{"value 1 in a 0/255 mask", func(t *testing.T, dir string) {
			m := discMask(8, 8, 255)
			m.Pix[0] = 1
			encodeAs(t, filepath.Join(dir, "images", "a.tif"), randomRGB(tensor.NewRNG(3), 8, 8))
			encodeAs(t, filepath.Join(dir, "masks", "a.tif"), m)
		}, Options{}, []string{"masks/a.tif", "value 1"}},
		{"image of another size", func(t *testing.T, dir string) {
			goodPair(t, dir, "a")
			encodeAs(t, filepath.Join(dir, "images", "b.png"), randomRGB(tensor.NewRNG(3), 9, 8))
			encodeAs(t, filepath.Join(dir, "masks", "b.png"), discMask(9, 8, 255))
		}, Options{}, []string{"images/b.png", "9x8", "images/a.png", "8x8"}},
		{"image not the requested size", func(t *testing.T, dir string) {
			goodPair(t, dir, "a")
		}, Options{Size: 16}, []string{"images/a.png", "8x8", "16x16", "requested"}},
		{"mask of another size than its image", func(t *testing.T, dir string) {
			encodeAs(t, filepath.Join(dir, "images", "a.png"), randomRGB(tensor.NewRNG(3), 8, 8))
			encodeAs(t, filepath.Join(dir, "masks", "a.png"), discMask(8, 7, 255))
		}, Options{}, []string{"masks/a.png", "8x7", "images/a.png"}},
		{"grey among colour", func(t *testing.T, dir string) {
			goodPair(t, dir, "a")
			encodeAs(t, filepath.Join(dir, "images", "b.png"), randomGrey(tensor.NewRNG(3), 8, 8))
			encodeAs(t, filepath.Join(dir, "masks", "b.png"), discMask(8, 8, 255))
		}, Options{}, []string{"images/b.png", "1 channels", "3"}},
		{"truncated PNG", func(t *testing.T, dir string) {
			goodPair(t, dir, "a")
			goodPair(t, dir, "b")
			p := filepath.Join(dir, "images", "b.png")
			data, _ := os.ReadFile(p)
			writeFile(t, p, data[:len(data)/2])
		}, Options{}, []string{"images/b.png", "decode"}},
		{"truncated TIFF mask", func(t *testing.T, dir string) {
			encodeAs(t, filepath.Join(dir, "images", "a.png"), randomRGB(tensor.NewRNG(3), 8, 8))
			p := filepath.Join(dir, "masks", "a.tif")
			encodeAs(t, p, discMask(8, 8, 255))
			data, _ := os.ReadFile(p)
			writeFile(t, p, data[:len(data)/2])
		}, Options{}, []string{"masks/a.tif", "decode"}},
		{"not an image", func(t *testing.T, dir string) {
			goodPair(t, dir, "a")
			writeFile(t, filepath.Join(dir, "images", "b.jpg"), []byte("this is text, not a JPEG"))
			encodeAs(t, filepath.Join(dir, "masks", "b.png"), discMask(8, 8, 255))
		}, Options{}, []string{"images/b.jpg", "decode"}},
		{"empty images folder", func(t *testing.T, dir string) {
			os.MkdirAll(filepath.Join(dir, "images"), 0o755)
			os.MkdirAll(filepath.Join(dir, "masks"), 0o755)
		}, Options{}, []string{"images", "no images"}},
		{"two files with one stem", func(t *testing.T, dir string) {
			goodPair(t, dir, "a")
			encodeAs(t, filepath.Join(dir, "images", "a.tif"), randomRGB(tensor.NewRNG(3), 8, 8))
		}, Options{}, []string{"images/a.png", "images/a.tif", "share"}},
		{"index lists a missing image", func(t *testing.T, dir string) {
			goodPair(t, dir, "a")
			writeFile(t, filepath.Join(dir, "index.csv"), []byte("name\na\nq\n"))
		}, Options{}, []string{"index.csv", "line 3", `"q"`}},
		{"image not in index", func(t *testing.T, dir string) {
			goodPair(t, dir, "a")
			goodPair(t, dir, "b")
			writeFile(t, filepath.Join(dir, "index.csv"), []byte("name\na\n"))
		}, Options{}, []string{"images/b.png", "not listed", "index.csv"}},
		{"index without name column", func(t *testing.T, dir string) {
			goodPair(t, dir, "a")
			writeFile(t, filepath.Join(dir, "index.csv"), []byte("id,file\n0,a\n"))
		}, Options{}, []string{"index.csv", `"name"`}},
		{"index with a duplicate name", func(t *testing.T, dir string) {
			goodPair(t, dir, "a")
			writeFile(t, filepath.Join(dir, "index.csv"), []byte("name\na\na\n"))
		}, Options{}, []string{"index.csv", "line 3", "line 2"}},
		{"index with a ragged row", func(t *testing.T, dir string) {
			goodPair(t, dir, "a")
			writeFile(t, filepath.Join(dir, "index.csv"), []byte("name,sequence_id\na,1,extra\n"))
		}, Options{}, []string{"index.csv"}},
		{"unknown layout", func(t *testing.T, dir string) {
			os.MkdirAll(filepath.Join(dir, "pictures"), 0o755)
		}, Options{}, []string{"unknown layout"}},
		{"negative size", func(t *testing.T, dir string) { goodPair(t, dir, "a") }, Options{Size: -1}, []string{"negative size"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.setup(t, dir)
			_, err := Open(dir, c.opts)
			t.Log(err)
			wantErr(t, err, c.want...)
			if c.name != "negative size" && c.name != "unknown layout" {
				wantErr(t, err, dir) // the full path of the file at fault
			}
		})
	}
}

func TestOpenMissingFolder(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := Open(missing, Options{})
	wantErr(t, err, missing)
	file := filepath.Join(t.TempDir(), "file")
	writeFile(t, file, []byte("x"))
	_, err = Open(file, Options{})
	wantErr(t, err, file, "not a folder")
}

// TestParallelErrorIsFirst: with many bad files, the error names the first
// in sample order, whatever the goroutine schedule.
func TestParallelErrorIsFirst(t *testing.T) {
	dir := t.TempDir()
	for i := range 40 {
		name := fmt.Sprintf("s%02d", i)
		goodPair(t, dir, name)
		if i >= 10 && i%3 == 1 {
			writeFile(t, filepath.Join(dir, "images", name+".png"), []byte("broken"))
		}
	}
	for range 5 {
		_, err := Open(dir, Options{})
		wantErr(t, err, "images/s10.png")
	}
}
