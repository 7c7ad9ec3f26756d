package atomicfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// failAfter is a writer that accepts n bytes and then reports a full disk.
type failAfter struct {
	w io.Writer
	n int
}

var errDiskFull = errors.New("simulated: no space left on device")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k, _ := f.w.Write(p[:f.n])
		f.n = 0
		return k, errDiskFull
	}
	f.n -= len(p)
	return f.w.Write(p)
}

// dirNames lists the entries of dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func writeBytes(b []byte) func(io.Writer) error {
	return func(w io.Writer) error { _, err := w.Write(b); return err }
}

func TestWriteFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.bin")
	old := []byte("old content")
	if err := Write(path, writeBytes(old)); err != nil {
		t.Fatal(err)
	}
	newer := bytes.Repeat([]byte("0123456789"), 9_000) // larger than the 64 KiB buffer
	check := func(t *testing.T, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("Write reported success")
		}
		got, rerr := os.ReadFile(path)
		if rerr != nil || !bytes.Equal(got, old) {
			t.Fatalf("old file changed after failed write (read error %v)", rerr)
		}
		if names := dirNames(t, dir); len(names) != 1 || names[0] != "f.bin" {
			t.Fatalf("directory holds %v after a failed write, want only f.bin", names)
		}
	}
	// The disk fills at the first byte, in the middle, and at the last byte.
	for _, n := range []int{0, 1, len(newer) / 2, len(newer) - 1} {
		wrapTemp = func(w io.Writer) io.Writer { return &failAfter{w: w, n: n} }
		err := Write(path, writeBytes(newer))
		wrapTemp = func(w io.Writer) io.Writer { return w }
		check(t, err)
		// (A write larger than the buffer fails in write's call, which
		// returns the error as it is; one in the buffer fails in the flush.)
		if !errors.Is(err, errDiskFull) {
			t.Fatalf("disk full after %d bytes: error %v does not wrap the write error", n, err)
		}
	}
	// Small writes: the disk fills when the buffer is flushed.
	wrapTemp = func(w io.Writer) io.Writer { return &failAfter{w: w, n: 10} }
	err := Write(path, writeBytes(newer[:20]))
	wrapTemp = func(w io.Writer) io.Writer { return w }
	check(t, err)
	if !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "flushing") {
		t.Fatalf("disk full at the flush: error %v does not wrap the write error and name the file and step", err)
	}
	check(t, Write(path, func(w io.Writer) error {
		if _, err := w.Write(make([]byte, 100_000)); err != nil {
			return err
		}
		return errors.New("simulated encoding error")
	}))
	if err := Write(filepath.Join(dir, "no", "such", "dir.bin"), writeBytes(newer)); err == nil {
		t.Fatal("Write into a missing directory succeeded")
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Write(filepath.Join(dir, "sub"), writeBytes(newer)); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Write over a directory: %v", err)
	}
	os.Remove(filepath.Join(dir, "sub"))
	// And a write that succeeds replaces the file.
	if err := Write(path, writeBytes(newer)); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, newer) {
		t.Fatalf("replaced file: %d bytes, %v", len(got), err)
	}
}

func TestWriteKeepsPermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := Write(path, writeBytes([]byte("a"))); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o644 {
		t.Fatalf("new file mode %v, want 0644", st.Mode().Perm())
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, writeBytes([]byte("b"))); err != nil {
		t.Fatal(err)
	}
	st, _ = os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("replaced file mode %v, want 0600 kept", st.Mode().Perm())
	}
}

// A streamed file appears at its path only on Commit; Abort leaves nothing.
func TestCreateCommitAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cpu.pprof")
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, dir); len(names) != 1 || !strings.HasPrefix(names[0], ".cpu.pprof.tmp-") {
		t.Fatalf("while streaming the directory holds %v, want one .cpu.pprof.tmp-*", names)
	}
	io.WriteString(f, "part 1, ")
	io.WriteString(f, "part 2")
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("path exists before Commit: %v", err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // deferred in real use: nothing to do after Commit
	if err := f.Commit(); err != nil {
		t.Fatalf("second Commit: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "part 1, part 2" {
		t.Fatalf("committed %q, %v", got, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", st.Mode().Perm())
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Fatalf("directory holds %v, want only cpu.pprof", names)
	}

	f, err = Create(path)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "discarded")
	f.Abort()
	f.Abort()
	if got, _ := os.ReadFile(path); string(got) != "part 1, part 2" {
		t.Fatalf("after Abort the file holds %q", got)
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Fatalf("after Abort the directory holds %v, want only cpu.pprof", names)
	}
	if _, err := Create(filepath.Join(dir, "no", "dir", "x")); err == nil {
		t.Fatal("Create in a missing directory succeeded")
	}
	if _, err := Create(dir + string(filepath.Separator)); err == nil || !strings.Contains(err.Error(), "not a file name") {
		t.Fatalf("Create of a folder name: %v", err)
	}
}
