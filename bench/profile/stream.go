package profile

import (
	"io"
	"runtime/pprof"
	"runtime/trace"

	"suture/internal/atomicfile"
)

// Stream is a CPU profile or a runtime trace streaming into its file: the
// one way profiles are written (a temporary file renamed into place when
// stopped, so the path is whole or absent).
type Stream struct {
	f    *atomicfile.File
	stop func()
}

// StartCPUProfile starts the process's CPU profile (go tool pprof) into path.
func StartCPUProfile(path string) (*Stream, error) {
	return startStream(path, pprof.StartCPUProfile, pprof.StopCPUProfile)
}

// StartTrace starts the process's runtime trace (go tool trace) into path.
func StartTrace(path string) (*Stream, error) {
	return startStream(path, trace.Start, trace.Stop)
}

func startStream(path string, start func(io.Writer) error, stop func()) (*Stream, error) {
	f, err := atomicfile.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		f.Abort()
		return nil, startError{err}
	}
	return &Stream{f: f, stop: stop}, nil
}

// startError is a failure to start a stream whose file could be created:
// one of its kind runs in the process already.
type startError struct{ error }

func (e startError) Unwrap() error { return e.error }

// Stop ends the stream and puts its file in place. Stopping it again does
// nothing.
func (s *Stream) Stop() error {
	if s == nil || s.f == nil {
		return nil
	}
	s.stop()
	err := s.f.Commit()
	s.f = nil
	return err
}
