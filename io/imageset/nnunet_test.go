package imageset

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"suture/tensor"
)

// labelImage is a w x h label image with class (x+y) % classes.
func labelImage(w, h, classes int) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Pix[y*w+x] = uint8((x + y) % classes)
		}
	}
	return m
}

// writeNNUNet makes an nnU-Net raw dataset of n cases with two grey channel
// files each and three label classes; it returns the channel images by case.
func writeNNUNet(t *testing.T, dir string, n int) map[string][2]*image.Gray {
	t.Helper()
	writeFile(t, filepath.Join(dir, "dataset.json"), []byte(fmt.Sprintf(`{
  "channel_names": {"0": "T2", "1": "ADC"},
  "labels": {"background": 0, "rectum": 1, "bladder": 2},
  "numTraining": %d,
  "file_ending": ".png"
}`, n)))
	r := tensor.NewRNG(9)
	imgs := map[string][2]*image.Gray{}
	for i := range n {
		id := fmt.Sprintf("case_%03d", i)
		a, b := randomGrey(r, 10, 6), randomGrey(r, 10, 6)
		imgs[id] = [2]*image.Gray{a, b}
		encodeAs(t, filepath.Join(dir, "imagesTr", id+"_0000.png"), a)
		encodeAs(t, filepath.Join(dir, "imagesTr", id+"_0001.png"), b)
		encodeAs(t, filepath.Join(dir, "labelsTr", id+".png"), labelImage(10, 6, 3))
	}
	return imgs
}

func TestNNUNetMultiChannel(t *testing.T) {
	dir := t.TempDir()
	imgs := writeNNUNet(t, dir, 3)
	ds, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Layout != LayoutNNUNet || ds.Classes != 3 || ds.Len() != 3 {
		t.Fatalf("layout %v, classes %d, %d samples", ds.Layout, ds.Classes, ds.Len())
	}
	if !slices.Equal(ds.Names(), []string{"case_000", "case_001", "case_002"}) {
		t.Fatalf("names %v", ds.Names())
	}
	want := labelImage(10, 6, 3)
	for _, s := range ds.Samples {
		if !s.Image.Shape.Equal(tensor.Shape{2, 6, 10}) {
			t.Fatalf("%s: shape %v, want (2,6,10)", s.Name, s.Image.Shape)
		}
		for ch := range 2 {
			for p := range 60 {
				if got, w := s.Image.Data[ch*60+p], float32(imgs[s.Name][ch].Pix[p]); got != w {
					t.Fatalf("%s: channel %d pixel %d is %v, wrote %v", s.Name, ch, p, got, w)
				}
			}
		}
		for p, v := range s.Mask.Data {
			if v != float32(want.Pix[p]) {
				t.Fatalf("%s: label pixel %d is %v, want %d", s.Name, p, v, want.Pix[p])
			}
		}
	}
}

// TestNNUNetRGB: one RGB file per case, as nnU-Net's natural-image datasets
// store it, with channel_names R, G, B.
func TestNNUNetRGB(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "dataset.json"), []byte(`{"channel_names": {"0": "R", "1": "G", "2": "B"},
 "labels": {"background": 0, "polyp": 1}, "numTraining": 1, "file_ending": ".png"}`))
	src := randomRGB(tensor.NewRNG(4), 7, 5)
	encodeAs(t, filepath.Join(dir, "imagesTr", "p1_0000.png"), src)
	encodeAs(t, filepath.Join(dir, "labelsTr", "p1.png"), discMask(7, 5, 1))
	ds, err := Open(dir, Options{Size: 0})
	if err != nil {
		t.Fatal(err)
	}
	if d := tensor.MaxAbsDiff(ds.Samples[0].Image.Data, rgbOf(src)); d != 0 {
		t.Errorf("RGB channels differ by %v", d)
	}
	if ds.Classes != 2 {
		t.Errorf("classes %d", ds.Classes)
	}
}

func TestNNUNetBadInput(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   []string
	}{
		{"label value beyond the labels", func(t *testing.T, dir string) {
			m := labelImage(10, 6, 3)
			m.Pix[13] = 5
			encodeAs(t, filepath.Join(dir, "labelsTr", "case_001.png"), m)
		}, []string{"labelsTr/case_001.png", "value 5", "0..2"}},
		{"missing label", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "labelsTr", "case_002.png"))
		}, []string{"imagesTr/case_002_0000.png", "no label"}},
		{"label without image", func(t *testing.T, dir string) {
			encodeAs(t, filepath.Join(dir, "labelsTr", "case_009.png"), labelImage(10, 6, 3))
		}, []string{"labelsTr/case_009.png", "no image"}},
		{"missing channel file", func(t *testing.T, dir string) {
			os.Rename(filepath.Join(dir, "imagesTr", "case_001_0001.png"), filepath.Join(dir, "imagesTr", "case_001_0002.png"))
		}, []string{"case_001", "case_001_0001.png"}},
		{"channel count differs from dataset.json", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "imagesTr", "case_000_0001.png"))
		}, []string{"case_000", "1 channels", "declares 2"}},
		{"numTraining mismatch", func(t *testing.T, dir string) {
			for _, f := range []string{"imagesTr/case_002_0000.png", "imagesTr/case_002_0001.png", "labelsTr/case_002.png"} {
				os.Remove(filepath.Join(dir, f))
			}
		}, []string{"dataset.json", "numTraining 3", "2 cases"}},
		{"region labels", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "dataset.json"), []byte(`{"channel_names": {"0": "a", "1": "b"}, "labels": {"background": 0, "whole": [1, 2]}, "file_ending": ".png"}`))
		}, []string{"dataset.json", `"whole"`, "regions"}},
		{"labels not consecutive", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "dataset.json"), []byte(`{"channel_names": {"0": "a", "1": "b"}, "labels": {"background": 0, "x": 2}, "file_ending": ".png"}`))
		}, []string{"dataset.json", "consecutive"}},
		{"unsupported file ending", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "dataset.json"), []byte(`{"channel_names": {"0": "a"}, "labels": {"background": 0, "x": 1}, "file_ending": ".nii.gz"}`))
		}, []string{"dataset.json", ".nii.gz"}},
		{"broken json", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "dataset.json"), []byte(`{"channel_names": `))
		}, []string{"dataset.json"}},
		{"channel image of another size", func(t *testing.T, dir string) {
			encodeAs(t, filepath.Join(dir, "imagesTr", "case_001_0001.png"), randomGrey(tensor.NewRNG(1), 10, 7))
		}, []string{"imagesTr/case_001_0001.png", "10x7", "case_001_0000.png"}},
		{"bad channel suffix", func(t *testing.T, dir string) {
			encodeAs(t, filepath.Join(dir, "imagesTr", "case_003_01.png"), randomGrey(tensor.NewRNG(1), 10, 6))
		}, []string{"imagesTr/case_003_01.png", "4-digit"}},
		{"truncated label", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "labelsTr", "case_000.png")
			data, _ := os.ReadFile(p)
			writeFile(t, p, data[:len(data)/2])
		}, []string{"labelsTr/case_000.png", "decode"}},
		{"no images", func(t *testing.T, dir string) {
			files, _ := filepath.Glob(filepath.Join(dir, "imagesTr", "*"))
			for _, f := range files {
				os.Remove(f)
			}
		}, []string{"imagesTr", "no images"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeNNUNet(t, dir, 3)
			c.damage(t, dir)
			_, err := Open(dir, Options{})
			t.Log(err)
			wantErr(t, err, c.want...)
		})
	}
}
