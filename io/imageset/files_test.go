package imageset

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ImagesByStem finds what the loaders find: image types of any case, no
// hidden files, folders or other types; one file per stem.
func TestImagesByStem(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.png", "b.TIF", "c.jpeg", "notes.txt", ".hidden.png"} {
		writeFile(t, filepath.Join(dir, n), []byte("x"))
	}
	if err := os.Mkdir(filepath.Join(dir, "d.png"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := ImagesByStem(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": filepath.Join(dir, "a.png"), "b": filepath.Join(dir, "b.TIF"), "c": filepath.Join(dir, "c.jpeg")}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ImagesByStem (-want +got):\n%s", d)
	}
	writeFile(t, filepath.Join(dir, "a.jpg"), []byte("x"))
	_, err = ImagesByStem(dir)
	wantErr(t, err, `share the name "a"`)
	_, err = ImagesByStem(filepath.Join(dir, "missing"))
	wantErr(t, err, "missing")
	if !IsImageExt(".JPG") || !IsImageExt(".tiff") || IsImageExt(".gif") || IsImageExt("") {
		t.Error("IsImageExt")
	}
}
