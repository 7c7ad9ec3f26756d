// Package atomicfile creates or replaces files so that a path holds either
// its old content or the new, never a mix, even across a crash: the content
// goes to a temporary file in the same directory (named "."+base+".tmp-*"),
// which is fsynced, renamed over the path, and the directory fsynced. On
// error the temporary file is removed and the old file is untouched. A new
// file gets mode 0644; a replaced file keeps its permission bits.
//
// Write is for content produced in one call; Create and Commit are for
// content that streams in over time (a CPU profile, a download).
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// wrapTemp lets tests put a failing writer (a full disk) between the
// buffer and the temporary file.
var wrapTemp = func(w io.Writer) io.Writer { return w }

// Write creates or replaces the file at path with what write produces
// (through a 64 KiB buffer).
func Write(path string, write func(w io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(wrapTemp(f.tmp), 1<<16)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: flushing temporary file: %w", path, err)
	}
	return f.Commit()
}

// File is the temporary file of a write in progress; Commit puts it at its
// path, Abort discards it.
type File struct {
	path, dir string
	mode      fs.FileMode
	tmp       *os.File
	done      bool
}

// Create opens the temporary file that Commit will rename to path. It
// refuses a path that exists and is not a regular file.
func Create(path string) (*File, error) {
	dir, base := filepath.Split(path)
	if base == "" {
		return nil, fmt.Errorf("write %q: not a file name", path)
	}
	if dir == "" {
		dir = "."
	}
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("write %s: exists and is not a regular file", path)
		}
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &File{path: path, dir: dir, mode: mode, tmp: tmp}, nil
}

// Write writes to the temporary file (unbuffered).
func (f *File) Write(p []byte) (int, error) { return f.tmp.Write(p) }

// Commit sets the mode, fsyncs and closes the temporary file, renames it
// over the path and fsyncs the directory. On error before the rename the
// temporary file is removed and the old file is untouched. Commit and Abort
// after a Commit do nothing.
func (f *File) Commit() error {
	if f.done {
		return nil
	}
	steps := []struct {
		what string
		do   func() error
	}{
		{"setting mode", func() error { return f.tmp.Chmod(f.mode) }},
		{"syncing", f.tmp.Sync},
		{"closing", f.tmp.Close},
		{"renaming", func() error { return os.Rename(f.tmp.Name(), f.path) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			f.Abort()
			return fmt.Errorf("write %s: %s temporary file: %w", f.path, s.what, err)
		}
	}
	// The rename is done: from here on the temporary name no longer exists.
	f.done = true
	if err := syncDir(f.dir); err != nil {
		return fmt.Errorf("write %s: syncing directory (file is written, durability unknown): %w", f.path, err)
	}
	return nil
}

// Abort closes and removes the temporary file, leaving the path as it was.
// It does nothing after Commit or another Abort, so it can be deferred.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.tmp.Close()
	os.Remove(f.tmp.Name())
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
