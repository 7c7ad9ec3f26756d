package profile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestStreams: a CPU profile streams into its file, which appears only
// when stopped; a second one at once is refused as busy (Run's note), as
// is a second trace; a file that cannot be created is another error.
func TestStreams(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "cpu.pprof")
	s, err := StartCPUProfile(p)
	if err != nil {
		t.Fatal(err)
	}
	var busy startError
	if _, err := StartCPUProfile(filepath.Join(dir, "two.pprof")); !errors.As(err, &busy) {
		t.Errorf("a second CPU profile: %v, want a start error", err)
	}
	tr, err := StartTrace(filepath.Join(dir, "go.trace"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := StartTrace(filepath.Join(dir, "two.trace")); !errors.As(err, &busy) {
		t.Errorf("a second trace: %v, want a start error", err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("%s exists before the profile stops: %v", p, err)
	}
	if err := errors.Join(s.Stop(), s.Stop(), tr.Stop()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"cpu.pprof", "go.trace"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, f := range []string{"two.pprof", "two.trace"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", f, err)
		}
	}
	if _, err := StartCPUProfile(filepath.Join(dir, "no", "p.pprof")); err == nil || errors.As(err, &busy) {
		t.Errorf("a profile into a missing folder: %v, want an error other than busy", err)
	}
}
