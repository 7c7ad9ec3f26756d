package safetensors

import (
	"os"
	"path/filepath"
	"testing"

	"suture/io/ckpt"
	"suture/tensor"
)

// TestIsFile: a file WriteFile wrote is recognised; text, a header length
// past 1 GiB and a missing file are not.
func TestIsFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.safetensors")
	if err := WriteFile(p, []ckpt.Named{{Name: "w", T: tensor.New(2)}}, nil); err != nil {
		t.Fatal(err)
	}
	text, huge := filepath.Join(dir, "t"), filepath.Join(dir, "h")
	os.WriteFile(text, []byte("precious data\n"), 0o644)
	os.WriteFile(huge, []byte("\x00\x00\x00\x40\x00\x00\x00\x00{}"), 0o644)
	if !IsFile(p) || IsFile(text) || IsFile(huge) || IsFile(filepath.Join(dir, "none")) {
		t.Errorf("IsFile: %v %v %v, want true false false", IsFile(p), IsFile(text), IsFile(huge))
	}
}
