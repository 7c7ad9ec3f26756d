package experiment

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A Lock is held by the one process writing a run folder or job folder. It
// is an exclusive advisory lock (flock on Unix) on the file ".lock" in the
// folder, so the operating system releases it when the process dies; the
// file also names the holder for the error another process gets.
type Lock struct {
	f    *os.File
	path string
}

// ErrLocked is wrapped by the error of LockDir when another process holds
// the folder.
var ErrLocked = errors.New("locked by another process")

// LockDir creates dir if needed and takes its lock; what says who holds it
// (e.g. "suture train").
func LockDir(dir, what string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return LockFile(filepath.Join(dir, ".lock"), dir, what)
}

// LockFile takes the lock file at path on behalf of the thing named in
// errors (a folder or an output file).
func LockFile(path, thing, what string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := tryLock(f); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		h := strings.TrimSpace(string(holder))
		if h == "" {
			h = "another process"
		}
		return nil, fmt.Errorf("%s is in use: %w (%s)", thing, ErrLocked, h)
	}
	host, _ := os.Hostname()
	info := fmt.Sprintf("%s, pid %d on %s, since %s", what, os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(info+"\n"), 0)
	}
	return &Lock{f: f, path: path}, nil
}

// Unlock releases the lock (the file stays; it is reused).
func (l *Lock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	l.f.Truncate(0)
	unlock(l.f)
	l.f.Close()
	l.f = nil
}

// held reports whether some process holds the lock file at path, without
// taking it for longer than the check.
func held(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if tryLock(f) != nil {
		return true
	}
	unlock(f)
	return false
}
