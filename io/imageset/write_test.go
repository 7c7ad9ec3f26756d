package imageset

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"suture/tensor"
)

// TestWriteRoundTrip: synthetic samples (whole-number values) written as a
// folder pair and read back are bit-identical, with order and groups kept.
func TestWriteRoundTrip(t *testing.T) {
	src, err := Synth("a", 6, 32, 3)
	if err != nil {
		t.Fatal(err)
	}
	grey := Sample{Name: "grey", Group: "g9", Image: tensor.New(1, 32, 32), Mask: tensor.New(1, 32, 32)}
	for i := range grey.Image.Data {
		grey.Image.Data[i] = float32(i % 256)
		grey.Mask.Data[i] = float32(i % 2)
	}
	samples := slices.Clone(src.Samples)
	samples[1].Group, samples[4].Group = "seq,1", "2" // a comma must survive the CSV
	slices.Reverse(samples)                           // not in name order
	dir := t.TempDir()
	if err := WriteFolderPair(dir, samples); err != nil {
		t.Fatal(err)
	}
	back, err := Open(dir, Options{Size: 32})
	if err != nil {
		t.Fatal(err)
	}
	if back.Layout != LayoutFolderPair || back.Len() != len(samples) {
		t.Fatalf("read back %v with %d samples", back.Layout, back.Len())
	}
	for i, s := range back.Samples {
		w := samples[i]
		if s.Name != w.Name || s.Group != w.Group {
			t.Errorf("sample %d: %q/%q, wrote %q/%q", i, s.Name, s.Group, w.Name, w.Group)
		}
		if !slices.Equal(s.Image.Data, w.Image.Data) || !slices.Equal(s.Mask.Data, w.Mask.Data) {
			t.Errorf("sample %s: data changed in the round trip", s.Name)
		}
	}
	// Masks are stored as 0/255, and no temporary files are left.
	f, err := os.Open(filepath.Join(dir, "masks", samples[0].Name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	levels, _ := maskLevels(m)
	seen := map[uint16]bool{}
	for _, v := range levels {
		seen[v] = true
	}
	if len(seen) != 2 || !seen[0] || !seen[255] {
		t.Errorf("mask file levels %v, want {0, 255}", seen)
	}
	for _, sub := range []string{".", "images", "masks"} {
		entries, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Errorf("temporary file %s left behind", e.Name())
			}
		}
	}

	// Writing again over the same files works (the renames replace them).
	if err := WriteFolderPair(dir, samples); err != nil {
		t.Fatal(err)
	}
	if again, err := Open(dir, Options{}); err != nil || again.Len() != len(samples) {
		t.Fatalf("rewritten folder: %v", err)
	}

	// Grey images round-trip too.
	d2 := t.TempDir()
	if err := WriteFolderPair(d2, []Sample{grey}); err != nil {
		t.Fatal(err)
	}
	g, err := Open(d2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := g.Samples[0]; !s.Image.Shape.Equal(tensor.Shape{1, 32, 32}) || !slices.Equal(s.Image.Data, grey.Image.Data) || s.Group != "g9" {
		t.Errorf("grey round trip: shape %v group %q", s.Image.Shape, s.Group)
	}
}

func TestWriteBadInput(t *testing.T) {
	good := func() Sample {
		s := Sample{Name: "ok", Image: tensor.New(3, 4, 4), Mask: tensor.New(1, 4, 4)}
		s.Image.Data[5] = 17.4 // rounds to 17
		s.Mask.Data[3] = 1
		return s
	}
	cases := []struct {
		name string
		edit func(s *Sample)
		want string
	}{
		{"path in name", func(s *Sample) { s.Name = "../x" }, "not a plain file stem"},
		{"empty name", func(s *Sample) { s.Name = "" }, "not a plain file stem"},
		{"hidden name", func(s *Sample) { s.Name = ".x" }, "not a plain file stem"},
		{"nil image", func(s *Sample) { s.Image = nil }, "nil image"},
		{"two channels", func(s *Sample) { s.Image = tensor.New(2, 4, 4) }, "(2,4,4)"},
		{"mask shape", func(s *Sample) { s.Mask = tensor.New(1, 4, 5) }, "(1,4,5)"},
		{"mask value", func(s *Sample) { s.Mask.Data[2] = 0.5 }, "mask value 0.5"},
		{"image too bright", func(s *Sample) { s.Image.Data[7] = 300 }, "value 300"},
		{"image NaN", func(s *Sample) { s.Image.Data[7] = float32(math.NaN()) }, "NaN"},
		{"negative image", func(s *Sample) { s.Image.Data[0] = -1 }, "value -1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := good()
			c.edit(&s)
			dir := t.TempDir()
			err := WriteFolderPair(dir, []Sample{good(), s})
			wantErr(t, err, dir, c.want)
			if _, serr := os.Stat(filepath.Join(dir, "images")); serr == nil {
				t.Error("files were written although a sample is bad")
			}
		})
	}
	wantErr(t, WriteFolderPair(t.TempDir(), nil), "no samples")
	wantErr(t, WriteFolderPair(t.TempDir(), []Sample{good(), good()}), `share the name "ok"`)
}
