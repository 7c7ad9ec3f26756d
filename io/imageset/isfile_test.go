package imageset

import (
	"path/filepath"
	"testing"
)

// TestIsPNGAndIsIndex: the images and the index.csv WriteFolderPair writes
// are recognised as a PNG and an index, and not as each other.
func TestIsPNGAndIsIndex(t *testing.T) {
	ds, err := Synth("a", 2, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteFolderPair(dir, ds.Samples); err != nil {
		t.Fatal(err)
	}
	img, index := filepath.Join(dir, "images", ds.Names()[0]+".png"), filepath.Join(dir, "index.csv")
	if !IsPNG(img) || !IsIndex(index) || IsPNG(index) || IsIndex(img) || IsPNG(filepath.Join(dir, "none")) {
		t.Errorf("IsPNG %v %v, IsIndex %v %v: want true false, true false", IsPNG(img), IsPNG(index), IsIndex(index), IsIndex(img))
	}
}
