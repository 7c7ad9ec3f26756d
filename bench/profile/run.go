package profile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"suture/internal/atomicfile"
	"suture/kernels"
)

// RunOptions configure the profile of a real run (`--profile DIR`).
type RunOptions struct {
	Warmup, Steps int // steps skipped, then recorded (defaults 1 and 3)
	PeakGFLOPS    float64
	PeakNote      string
	Top           int // rows per section of profile.txt (default 40)
	// Notify, when set, receives one line when the files are written (or
	// could not be).
	Notify func(string)
}

// Run profiles a few steps of a training run and writes, into its folder:
// profile.txt (the table), profile.jsonl (one JSON object per row, then the
// total), trace.json (Chrome trace), cpu.pprof (a CPU profile of the
// recorded steps, with labels op, vertex and phase) and go.trace (a
// runtime/trace of them, with a region per vertex and op). The run goes on
// unchanged afterwards; the Profiler then only passes ops through.
type Run struct {
	dir  string
	o    RunOptions
	p    *Profiler
	cpuf *Stream  // CPU profile being written, or nil
	trf  *Stream  // runtime trace being written, or nil
	note []string // what could not be written alongside
	done bool
	err  error
}

// StartRun wraps b for a run whose profile goes to dir (created if needed).
// Build the run's model on Backend(); its trainer marks the steps.
func StartRun(b kernels.Backend, dir string, o RunOptions) (*Run, error) {
	if o.Warmup == 0 {
		o.Warmup = 1
	}
	if o.Steps == 0 {
		o.Steps = 3
	}
	if o.Top == 0 {
		o.Top = 40
	}
	if o.Warmup < 0 || o.Steps < 0 {
		return nil, fmt.Errorf("profile: %d warm-up and %d recorded steps, want >= 0 and >= 1", o.Warmup, o.Steps)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("profile folder: %w", err)
	}
	r := &Run{dir: dir, o: o}
	r.p = New(b, Options{Warmup: o.Warmup, Steps: o.Steps, Trace: true, Labels: true,
		PeakGFLOPS: o.PeakGFLOPS, PeakNote: o.PeakNote, OnStart: r.start, OnDone: r.finish})
	return r, nil
}

// Backend is the profiling backend to build the run on.
func (r *Run) Backend() kernels.Backend { return r.p }

// Profiler is the run's Profiler.
func (r *Run) Profiler() *Profiler { return r.p }

// start begins the CPU profile and the runtime trace of the recorded steps
// (each skipped, with a note, when one is already running in the process).
func (r *Run) start() {
	r.cpuf = r.startStream("cpu.pprof", StartCPUProfile, "; the labels are in the process's own CPU profile")
	r.trf = r.startStream("go.trace", StartTrace, "")
}

func (r *Run) startStream(name string, start func(string) (*Stream, error), why string) *Stream {
	s, err := start(filepath.Join(r.dir, name))
	var busy startError
	switch {
	case errors.As(err, &busy):
		r.note = append(r.note, "no "+name+" ("+err.Error()+why+")")
	case err != nil:
		r.note = append(r.note, "no "+name+": "+err.Error())
	}
	return s
}

// stopStreams ends the CPU profile and the trace and moves them in place.
func (r *Run) stopStreams() error {
	err := errors.Join(r.cpuf.Stop(), r.trf.Stop())
	r.cpuf, r.trf = nil, nil
	return err
}

// finish writes the files once the steps are recorded.
func (r *Run) finish(rep *Report) {
	if r.done {
		return
	}
	r.done = true
	r.err = errors.Join(r.stopStreams(), r.write(rep))
	if r.o.Notify == nil {
		return
	}
	if r.err != nil {
		r.o.Notify(fmt.Sprintf("profile of %d steps: %v", rep.Steps, r.err))
		return
	}
	msg := fmt.Sprintf("profile of %d steps (%.1f ms each) written to %s (profile.txt, profile.jsonl, trace.json, cpu.pprof, go.trace)", rep.Steps, rep.StepMS, r.dir)
	for _, n := range r.note {
		msg += "; " + n
	}
	r.o.Notify(msg)
}

func (r *Run) write(rep *Report) error {
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"profile.txt", func(w io.Writer) error { return rep.WriteTable(w, r.o.Top) }},
		{"profile.jsonl", rep.WriteJSON},
		{"trace.json", rep.WriteTrace},
	}
	for _, f := range files {
		if err := atomicfile.Write(filepath.Join(r.dir, f.name), f.write); err != nil {
			return err
		}
	}
	return nil
}

// Close ends the profile when the run stopped before its last recorded
// step: it writes what was recorded (nothing when no step was). It returns
// what went wrong writing the files, at any time.
func (r *Run) Close() error {
	if r.done {
		return r.err
	}
	if r.p.recording { // stopped by an error inside a step: close it as it is
		r.p.EndStep()
		if r.done {
			return r.err
		}
	}
	if r.p.Recorded() == 0 {
		r.done = true
		r.err = r.stopStreams()
		if r.o.Notify != nil {
			r.o.Notify(fmt.Sprintf("profile: the run ended before a step was recorded (%d warm-up, %d to record); nothing written to %s", r.o.Warmup, r.o.Steps, r.dir))
		}
		return r.err
	}
	r.finish(r.p.Report())
	return r.err
}
