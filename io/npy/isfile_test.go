package npy

import (
	"os"
	"path/filepath"
	"testing"

	"suture/tensor"
)

// TestIsFile: an .npy file WriteFile wrote is recognised; another file, a
// missing one and an empty one are not.
func TestIsFile(t *testing.T) {
	dir := t.TempDir()
	p, other, empty := filepath.Join(dir, "x.npy"), filepath.Join(dir, "x.txt"), filepath.Join(dir, "e.npy")
	if err := WriteFile(p, tensor.New(1, 2)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(other, []byte("\x93NUMP not quite"), 0o644)
	os.WriteFile(empty, nil, 0o644)
	if !IsFile(p) || IsFile(other) || IsFile(empty) || IsFile(filepath.Join(dir, "none")) {
		t.Errorf("IsFile: %v %v %v, want true false false", IsFile(p), IsFile(other), IsFile(empty))
	}
}
