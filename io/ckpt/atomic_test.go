package ckpt

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"suture/internal/atomicfile"
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

func TestWriteFailureKeepsOldCheckpoint(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.ckpt")
	old := sampleCheckpoint(t, 1, 2000)
	if err := Write(path, old); err != nil {
		t.Fatal(err)
	}
	oldBytes, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	newer := sampleCheckpoint(t, 2, 90_000) // larger than the 64 KiB write buffer
	size := len(encodeBytes(t, newer))

	check := func(t *testing.T, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("Write reported success")
		}
		got, rerr := os.ReadFile(path)
		if rerr != nil || !bytes.Equal(got, oldBytes) {
			t.Fatalf("old checkpoint changed after failed write (read error %v)", rerr)
		}
		if names := dirNames(t, dir); len(names) != 1 || names[0] != "model.ckpt" {
			t.Fatalf("directory holds %v after a failed write, want only model.ckpt", names)
		}
	}
	// The disk fills at the first byte, in the middle, and at the last byte.
	for _, n := range []int{0, 1, size / 2, size - 1} {
		t.Run("disk full", func(t *testing.T) {
			wrapTemp = func(w io.Writer) io.Writer { return &failAfter{w: w, n: n} }
			defer func() { wrapTemp = func(w io.Writer) io.Writer { return w } }()
			err := Write(path, newer)
			check(t, err)
			if !errors.Is(err, errDiskFull) {
				t.Fatalf("error %v does not wrap the write error", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v does not name the file", err)
			}
		})
	}
	t.Run("invalid checkpoint", func(t *testing.T) {
		bad := sampleCheckpoint(t, 3, 10)
		bad.Meta["broken"] = json.RawMessage("{")
		check(t, Write(path, bad))
	})
	t.Run("encoder fails mid-stream", func(t *testing.T) {
		err := atomicfile.Write(path, func(w io.Writer) error {
			if _, err := w.Write(make([]byte, 100_000)); err != nil {
				return err
			}
			return errors.New("simulated encoding error")
		})
		check(t, err)
	})
	t.Run("directory missing", func(t *testing.T) {
		if err := Write(filepath.Join(dir, "no", "such", "dir.ckpt"), newer); err == nil {
			t.Fatal("Write into a missing directory succeeded")
		}
	})
	t.Run("target is a directory", func(t *testing.T) {
		if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(filepath.Join(dir, "sub"))
		if err := Write(filepath.Join(dir, "sub"), newer); err == nil {
			t.Fatal("Write over a directory succeeded")
		}
	})
	// And a write that succeeds replaces the file.
	if err := Write(path, newer); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	sameCheckpoint(t, got, newer)
}

func TestWriteKeepsPermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.ckpt")
	c := sampleCheckpoint(t, 1, 10)
	if err := Write(path, c); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o644 {
		t.Fatalf("new file mode %v, want 0644", st.Mode().Perm())
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, c); err != nil {
		t.Fatal(err)
	}
	st, _ = os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("replaced file mode %v, want 0600 kept", st.Mode().Perm())
	}
}

// Readers polling the path while it is rewritten again and again (some writes
// failing halfway) must always read a complete checkpoint: the old or the new.
func TestReadersNeverSeeHalfWrittenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "live.ckpt")
	versions := []*Checkpoint{sampleCheckpoint(t, 10, 40_000), sampleCheckpoint(t, 11, 60_000)}
	if err := Write(path, versions[0]); err != nil {
		t.Fatal(err)
	}
	// wrapTemp is read by the writer goroutine only; the readers never write.
	failing := false
	wrapTemp = func(w io.Writer) io.Writer {
		if failing {
			return &failAfter{w: w, n: 50_000}
		}
		return w
	}
	defer func() { wrapTemp = func(w io.Writer) io.Writer { return w } }()

	const writes = 40
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	var reads int
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				got, err := Read(path)
				mu.Lock()
				reads++
				if err != nil {
					problems = append(problems, err.Error())
				} else if len(got.Tensors) != len(versions[0].Tensors) {
					problems = append(problems, "wrong tensor count")
				} else {
					n := len(got.Tensors[4].T.Data)
					if n != 40_000 && n != 60_000 {
						problems = append(problems, "tensor of unexpected size")
					}
				}
				mu.Unlock()
			}
		}()
	}
	for i := range writes {
		failing = i%3 == 2
		err := Write(path, versions[(i+1)%2])
		if failing != (err != nil) {
			t.Errorf("write %d: failing=%v, err=%v", i, failing, err)
		}
	}
	close(done)
	wg.Wait()
	if len(problems) > 0 {
		t.Fatalf("%d of %d reads failed, first: %s", len(problems), reads, problems[0])
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Fatalf("directory holds %v, want only live.ckpt", names)
	}
	t.Logf("%d reads during %d writes, all complete", reads, writes)
}
