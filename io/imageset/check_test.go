package imageset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheck: a dataset folder passes; a missing folder, a file and a
// folder of no known layout are named in the error.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	ds, err := Synth("a", 2, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good")
	if err := WriteFolderPair(good, ds.Samples); err != nil {
		t.Fatal(err)
	}
	if err := Check(good); err != nil {
		t.Errorf("a folder pair: %v", err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{filepath.Join(dir, "missing"), file, dir} {
		if err := Check(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("Check(%s) = %v, want an error naming it", bad, err)
		}
	}
}
