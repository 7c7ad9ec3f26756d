package segment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"suture/io/ckpt"
	"suture/io/imageset"
	"suture/kernels/cpu"
	"suture/stitch"
	"suture/unet"
)

// Open reads every kind of checkpoint, names the network it picked, and
// refuses a network choice for a checkpoint that is one network or that
// the stitched model cannot have, with typed errors (a command names its
// flag).
func TestOpenEveryKind(t *testing.T) {
	b, dir := cpu.New(0), t.TempDir()
	a, bb := importFixture(t, "Dataset991_TinyPlain"), importFixture(t, "Dataset992_TinyPlainWide")
	paths := map[string]string{"unet": filepath.Join(dir, "u.ckpt"), "stitched": filepath.Join(dir, "s.ckpt"), "net": filepath.Join(dir, "n.ckpt")}
	if err := unet.Save(paths["unet"], a, nil, ckpt.RunInfo{Data: "fixture", Fold: 3}); err != nil {
		t.Fatal(err)
	}
	s, err := stitch.Join(b, a, bb, 3, 64, 64, "stage", stitch.DefaultMatchOptions(), 1)
	if err != nil {
		t.Fatal(err)
	}
	s.Meta.Run = ckpt.RunInfo{Data: "synth:a", Fold: 2}
	if err := s.Save(paths["stitched"], nil); err != nil {
		t.Fatal(err)
	}
	set, _ := stitch.ParseNet("stitch-ensemble:1", s.M.Pairs())
	if err := s.SaveExtracted(paths["net"], set); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, net, kind, wantNet string
		fold                     int
	}{
		{paths["unet"], "", unet.Kind, "", 3},
		{paths["stitched"], "", stitch.Kind, "ensemble", 2},
		{paths["stitched"], "b", stitch.Kind, "b", 2},
		{paths["stitched"], "switches:a0=stitched", stitch.Kind, "switches:a0=stitched", 2},
		{paths["net"], "", stitch.ExtractedKind, set.String(), 2},
	} {
		o, err := Open(c.path, b, c.net)
		if err != nil {
			t.Fatalf("Open(%s, %q): %v", filepath.Base(c.path), c.net, err)
		}
		if o.Kind != c.kind || o.Net != c.wantNet || o.Run().Fold != c.fold || (o.UNet != nil) != (c.kind == unet.Kind) {
			t.Errorf("Open(%s, %q): kind %s, net %q, fold %d; want %s, %q, %d", filepath.Base(c.path), c.net, o.Kind, o.Net, o.Run().Fold, c.kind, c.wantNet, c.fold)
		}
		if _, err := o.Model(); err != nil {
			t.Errorf("Open(%s, %q).Model(): %v", filepath.Base(c.path), c.net, err)
		}
	}
	for _, p := range []string{paths["unet"], paths["net"]} {
		var one *OneNetworkError
		if _, err := Open(p, b, "a"); !errors.As(err, &one) || one.Name != p {
			t.Errorf("Open(%s, a): %v, want a OneNetworkError naming it", p, err)
		}
	}
	var ne *stitch.NetError
	if _, err := Open(paths["stitched"], b, "switches:a99=s"); !errors.As(err, &ne) {
		t.Errorf("an out-of-range switch: %v, want a stitch.NetError", err)
	}
	bad := filepath.Join(dir, "bad.ckpt")
	if err := os.WriteFile(bad, []byte("SUTURECK garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(bad, b, ""); err == nil {
		t.Error("a corrupt checkpoint opened")
	}
}

// CheckStep refuses steps outside MinStep..MaxStep, NaN included.
func TestCheckStep(t *testing.T) {
	for _, step := range []float64{0.01, 1e-9, 0, 1.5, -1} {
		if CheckStep(step) == nil {
			t.Errorf("step %g accepted", step)
		}
	}
	if CheckStep(math.NaN()) == nil {
		t.Error("step NaN accepted")
	}
	if err := CheckStep(0.5); err != nil {
		t.Errorf("step 0.5: %v", err)
	}
}

// A folder segmented with an imported three-class model: a mask of each
// input's size holding class indices, images smaller than the patch too.
func TestSegmentFilesImportedModel(t *testing.T) {
	m := FromUNet(importFixture(t, "Dataset991_TinyPlain"))
	in, out := t.TempDir(), t.TempDir()
	sizes := [][2]int{{20, 12}, {70, 45}, {32, 32}}
	for i, s := range sizes {
		writePNG(t, filepath.Join(in, fmt.Sprintf("case%d.png", i)), s[0], s[1])
	}
	jobs, err := FolderJobs(in, out)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := m.SegmentFiles(context.Background(), jobs, nil); n != 3 || err != nil {
		t.Fatalf("wrote %d masks: %v", n, err)
	}
	for i, s := range sizes {
		mask, err := imageset.ReadImage(filepath.Join(out, fmt.Sprintf("case%d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		if mask.Shape[1] != s[1] || mask.Shape[2] != s[0] {
			t.Errorf("case %d: mask %v for a %dx%d image", i, mask.Shape, s[0], s[1])
		}
		for _, v := range mask.Data {
			if v > 2 {
				t.Fatalf("case %d: value %g is not a class index of a 3-class model", i, v)
			}
		}
	}
}
