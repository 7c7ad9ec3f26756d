//go:build !unix

package experiment

import "os"

// Without flock the lock is process-local only: a second process is not
// stopped. Suture's supported platforms are Unix.
func tryLock(f *os.File) error { return nil }

func unlock(f *os.File) {}
