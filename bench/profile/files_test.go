package profile

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFileRecognisers: each recogniser takes its own kind of file and no
// other (a text file, an empty file, a missing one).
func TestFileRecognisers(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"cpu":    "\x1f\x8b\x08\x00rest of a gzip stream",
		"go":     "go 1.26 trace\x00\x00\x00\x01",
		"chrome": `{"displayTimeUnit":"ms","traceEvents":[]}`,
		"text":   "notes I keep\n",
		"empty":  "",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		is   func(string) bool
		want string
	}{{"IsCPUProfile", IsCPUProfile, "cpu"}, {"IsGoTrace", IsGoTrace, "go"}, {"IsChromeTrace", IsChromeTrace, "chrome"}} {
		for _, f := range []string{"cpu", "go", "chrome", "text", "empty", "missing"} {
			if got := c.is(filepath.Join(dir, f)); got != (f == c.want) {
				t.Errorf("%s(%s) = %v", c.name, f, got)
			}
		}
	}
}
