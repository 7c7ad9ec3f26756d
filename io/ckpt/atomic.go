package ckpt

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// wrapTemp lets tests put a failing writer (a full disk) between the encoder
// and the temporary file.
var wrapTemp = func(w io.Writer) io.Writer { return w }

// WriteAtomic creates or replaces the file at path with what write produces.
// It writes a temporary file in the same directory, fsyncs it, renames it over
// path and fsyncs the directory, so that path holds either the old or the new
// content, never a mix, even across a crash. On error the temporary file is
// removed and the old file is untouched. A new file gets mode 0644; a
// replaced file keeps its permission bits.
func WriteAtomic(path string, write func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if base == "" {
		return fmt.Errorf("write %q: not a file name", path)
	}
	if dir == "" {
		dir = "."
	}
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		if !st.Mode().IsRegular() {
			return fmt.Errorf("write %s: exists and is not a regular file", path)
		}
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(wrapTemp(tmp), 1<<16)
	if err := write(bw); err != nil {
		return err
	}
	steps := []struct {
		what string
		do   func() error
	}{
		{"flushing", bw.Flush},
		{"setting mode", func() error { return tmp.Chmod(mode) }},
		{"syncing", tmp.Sync},
		{"closing", tmp.Close},
		{"renaming", func() error { return os.Rename(tmp.Name(), path) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("write %s: %s temporary file: %w", path, s.what, err)
		}
	}
	// The rename is done: from here on the temporary name no longer exists.
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("write %s: syncing directory (file is written, durability unknown): %w", path, err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
