package bench

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"suture/bench/profile"
	"suture/kernels"
)

// ProfileCases are the cases a profile can take: Cases, with the network
// cases at size and batch and, if given, of features per stage (NetworkCases).
func ProfileCases(size, batch int, features []int) []Case {
	var cs []Case
	for _, c := range Cases() {
		if !IsNetworkCase(c.Name) {
			cs = append(cs, c)
		}
	}
	return append(cs, NetworkCases(size, batch, features)...)
}

// IsNetworkCase reports whether the case named name trains or runs a
// network (unet/..., stitch/...): those NetworkCases makes at a size.
func IsNetworkCase(name string) bool {
	return strings.HasPrefix(name, "unet/") || strings.HasPrefix(name, "stitch/")
}

// ErrNoCase is FindCase's error when no case has the name.
var ErrNoCase = errors.New("no such case")

// FindCase finds the case named name, or the only one name is a prefix of.
func FindCase(cases []Case, name string) (Case, error) {
	var hits []string
	var hit Case
	for _, c := range cases {
		if c.Name == name {
			return c, nil
		}
		if strings.HasPrefix(c.Name, name) {
			hits = append(hits, c.Name)
			hit = c
		}
	}
	switch len(hits) {
	case 0:
		return hit, ErrNoCase
	case 1:
		return hit, nil
	}
	return hit, fmt.Errorf("names %d cases (%s); give one", len(hits), strings.Join(hits, ", "))
}

// FileError is a failure to write the file at Path.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// ProfileStreaming is Profile with the process's CPU profile (cpuProfile,
// go tool pprof) and runtime trace (goTrace, go tool trace) streaming into
// their files, when those are not "", from the first step on. Both are
// stopped before it returns; a failure to write either is a *FileError.
func ProfileStreaming(c Case, b kernels.Backend, threads int, o profile.Options, cpuProfile, goTrace string) (*profile.Report, error) {
	var streams []*profile.Stream
	var paths []string
	stop := func() error {
		var err error
		for i, s := range streams {
			if e := s.Stop(); e != nil && err == nil {
				err = &FileError{paths[i], e}
			}
		}
		streams = nil
		return err
	}
	defer stop()
	before := func() error {
		for _, f := range []struct {
			path  string
			start func(string) (*profile.Stream, error)
		}{{cpuProfile, profile.StartCPUProfile}, {goTrace, profile.StartTrace}} {
			if f.path == "" {
				continue
			}
			s, err := f.start(f.path)
			if err != nil {
				return &FileError{f.path, err}
			}
			streams, paths = append(streams, s), append(paths, f.path)
		}
		return nil
	}
	rep, err := Profile(c, b, threads, o, before)
	if err != nil {
		return nil, err
	}
	if err := stop(); err != nil {
		return nil, err
	}
	return rep, nil
}

// Write prints the overhead's rounds and ratios (backend b, threads cores).
func (ov Overhead) Write(w io.Writer, b kernels.Backend, threads int) {
	ms := func(xs []float64) string {
		var s []string
		for _, x := range xs {
			s = append(s, fmt.Sprintf("%.1f", x))
		}
		return strings.Join(s, " ")
	}
	fmt.Fprintf(w, "%s on %s, %d threads, %d rounds (median of each round's median, ms):\n", ov.Case, b.Name(), threads, len(ov.PlainMS))
	fmt.Fprintf(w, "plain            %s\nprofiled         %s\nprofiled+trace   %s\n", ms(ov.PlainMS), ms(ov.TableMS), ms(ov.TraceMS))
	fmt.Fprintf(w, "overhead: %+.1f%% (table), %+.1f%% (table and trace)\n", 100*(ov.Table-1), 100*(ov.Trace-1))
}
