package sniff

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHeadAndCSVHeader(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.csv")
	if err := os.WriteFile(p, []byte("a,b,c\r\n1,2,3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if h := string(Head(p, 3)); h != "a,b" {
		t.Errorf("Head 3: %q", h)
	}
	if h := string(Head(p, 100)); h != "a,b,c\r\n1,2,3\n" {
		t.Errorf("Head 100 of a shorter file: %q", h)
	}
	missing := filepath.Join(dir, "none")
	if Head(missing, 4) != nil || CSVHeader(missing, "a") {
		t.Error("a missing file has a head or a header")
	}
	for header, want := range map[string]bool{"a,b,c": true, "a,b": true, "a": true, "a,b,c,d": false, "a,": false, "b": false} {
		if got := CSVHeader(p, header); got != want {
			t.Errorf("CSVHeader %q: %v, want %v", header, got, want)
		}
	}
}
