package progress

import (
	"bytes"
	"testing"
)

// TestBar: off a terminal the bar writes nothing; on one it draws the
// done part and the label, and Done clears the line.
func TestBar(t *testing.T) {
	var b bytes.Buffer
	p := New(&b)
	p.Update(1, 2, "half")
	p.Done()
	if b.Len() != 0 {
		t.Errorf("a bar on a buffer wrote %q", b.String())
	}
	var nilBar *Bar
	nilBar.Update(1, 2, "x")
	nilBar.Done()
	p = &Bar{w: &b, on: true, width: 4}
	p.Update(1, 2, "half")
	p.Done()
	if want := "\r[##..] half\x1b[K\r\x1b[K"; b.String() != want {
		t.Errorf("drawn %q, want %q", b.String(), want)
	}
}
