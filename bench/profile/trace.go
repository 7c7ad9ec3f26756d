package profile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync/atomic"

	"suture/kernels"
)

// traceRecorder keeps the slices of the Chrome trace (Options.Trace): the
// ops, vertices and phases of the op caller, the parts of the parallel
// regions per worker, and the device's kernels.
type traceRecorder struct {
	on       bool
	events   []event
	parts    [][]partEvent  // per worker (0: the op caller)
	curEvent atomic.Int32   // trace index of the running op's event, for parts; -1: none
	kernels  []launchRecord // resolved launches
}

// event is one slice of the trace on the op caller's track (an op, a vertex
// or a phase: op == -1 and vertex == 0).
type event struct {
	start, end int64
	op         int32 // -1: a vertex or phase slice
	vertex     int32
	phase      kernels.Phase
	half       kernels.Half
	step       int32
	depth      int32 // nesting depth on its track, for ordering equal timestamps
	flops      float64
	shapes     shapes
}

// partEvent is one part of a parallel region on a worker.
type partEvent struct {
	start, end  int64
	event       int32 // the op's event, -1 if unknown
	part, parts int32
}

// maxWorkers bounds the helper tracks; parts of helpers beyond it are not
// traced (the CPU backend starts at most GOMAXPROCS-1 helpers).
const maxWorkers = 256

func (r *traceRecorder) init(on bool) {
	r.on = on
	r.curEvent.Store(-1)
}

// beginStep starts a recorded step; continuous: the trace keeps only the
// last step.
func (r *traceRecorder) beginStep(continuous bool) {
	if !r.on {
		return
	}
	if continuous {
		r.events = r.events[:0]
		r.kernels = r.kernels[:0]
		for i := range r.parts {
			r.parts[i] = r.parts[i][:0]
		}
	}
	if r.parts == nil {
		r.parts = make([][]partEvent, maxWorkers)
	}
}

// add keeps a vertex or phase slice.
func (r *traceRecorder) add(e event) {
	if r.on {
		r.events = append(r.events, e)
	}
}

// beginOp keeps the slice of the op call starting now (its end is set by
// endOp); the parts of parallel regions until then belong to it.
func (r *traceRecorder) beginOp(e event) {
	r.curEvent.Store(int32(len(r.events)))
	r.events = append(r.events, e)
}

func (r *traceRecorder) endOp(t int64) {
	if !r.on {
		return
	}
	i := r.curEvent.Load()
	r.events[i].end = t
	r.curEvent.Store(-1)
}

// current is the trace event of the op running, -1 if none.
func (r *traceRecorder) current() int32 {
	if !r.on {
		return -1
	}
	return r.curEvent.Load()
}

// part keeps a part of a parallel region that worker ran from begin to t.
func (r *traceRecorder) part(worker int, begin, t int64) {
	if r.on && worker < len(r.parts) {
		r.parts[worker] = append(r.parts[worker], partEvent{start: begin, end: t, event: r.curEvent.Load()})
	}
}

// addKernels keeps a step's resolved kernel launches.
func (r *traceRecorder) addKernels(ls []launchRecord) {
	if r.on {
		r.kernels = append(r.kernels, ls...)
	}
}

// traceData is a copy of what the trace needs.
type traceData struct {
	events   []event
	parts    [][]partEvent
	launches []launchRecord
	steps    []stepTime
	opNames  []string
	paths    []string
}

func (p *Profiler) traceData() *traceData {
	d := &traceData{
		events:   append([]event(nil), p.tr.events...),
		launches: append([]launchRecord(nil), p.tr.kernels...),
		steps:    append([]stepTime(nil), p.acct.stepTimes...),
		paths:    p.vertices.paths(),
	}
	for _, ps := range p.tr.parts {
		d.parts = append(d.parts, append([]partEvent(nil), ps...))
	}
	for _, o := range p.ops.ops {
		d.opNames = append(d.opNames, o.name)
	}
	if p.opt.Steps == 0 && len(d.steps) > 0 { // continuous: the last step only
		d.steps = d.steps[len(d.steps)-1:]
	}
	return d
}

// Trace tracks (Chrome trace thread ids).
const (
	tidOps     = 1 // the goroutine that runs the ops: vertices, ops, its own parts
	tidPhases  = 2 // steps and the stretches of each phase
	tidDevice  = 3 // CUDA kernels
	tidHelper0 = 10
)

// TraceEvent is one event of the Chrome trace event format
// (https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU):
// ph "X" is a complete slice (ts and dur in microseconds), "M" names a
// track.
type TraceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	TS   float64        `json:"ts"`
	Dur  float64        `json:"dur,omitempty"`
	PID  int            `json:"pid"`
	TID  int            `json:"tid"`
	Args map[string]any `json:"args,omitempty"`

	depth int // nesting depth, to order slices that start together
}

// TraceFile is a whole trace as Perfetto and chrome://tracing open it.
type TraceFile struct {
	TraceEvents     []TraceEvent `json:"traceEvents"`
	DisplayTimeUnit string       `json:"displayTimeUnit"`
}

// ErrNoTrace is returned by WriteTrace for a report made without Options.Trace.
var ErrNoTrace = fmt.Errorf("profile: the profiler was not asked for a trace (Options.Trace)")

// TraceEvents returns the trace's events, sorted by track, start, longest
// first: on every track slices nest and starts rise.
func (r *Report) TraceEvents() ([]TraceEvent, error) {
	d := r.trace
	if d == nil {
		return nil, ErrNoTrace
	}
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	var evs []TraceEvent
	meta := func(tid int, name string) {
		evs = append(evs, TraceEvent{Name: "thread_name", Ph: "M", PID: 1, TID: tid, Args: map[string]any{"name": name}},
			TraceEvent{Name: "thread_sort_index", Ph: "M", PID: 1, TID: tid, Args: map[string]any{"sort_index": tid}})
	}
	evs = append(evs, TraceEvent{Name: "process_name", Ph: "M", PID: 1, Args: map[string]any{"name": "suture (" + r.Backend + ")"}})
	meta(tidOps, "ops (calling goroutine)")
	meta(tidPhases, "steps and phases")
	for i, s := range d.steps {
		evs = append(evs, TraceEvent{Name: fmt.Sprintf("step %d", i), Cat: "step", Ph: "X", TS: us(s.start), Dur: us(s.end - s.start), PID: 1, TID: tidPhases})
	}
	for _, e := range d.events {
		phase := scopeName(e)
		switch {
		case e.op >= 0:
			args := map[string]any{"vertex": d.paths[e.vertex], "phase": phase, "shapes": e.shapes.String(), "step": e.step}
			if e.flops > 0 {
				args["gflop"] = e.flops / 1e9
			}
			evs = append(evs, TraceEvent{Name: d.opNames[e.op], Cat: "op", Ph: "X", TS: us(e.start), Dur: us(e.end - e.start),
				PID: 1, TID: tidOps, Args: args, depth: int(e.depth)})
		case e.vertex != 0:
			evs = append(evs, TraceEvent{Name: d.paths[e.vertex], Cat: "vertex", Ph: "X", TS: us(e.start), Dur: us(e.end - e.start),
				PID: 1, TID: tidOps, Args: map[string]any{"phase": phase, "step": e.step}, depth: int(e.depth)})
		default:
			evs = append(evs, TraceEvent{Name: phase, Cat: "phase", Ph: "X", TS: us(e.start), Dur: us(e.end - e.start),
				PID: 1, TID: tidPhases, Args: map[string]any{"step": e.step}, depth: 1})
		}
	}
	for w, ps := range d.parts {
		if len(ps) == 0 {
			continue
		}
		tid := tidOps
		if w > 0 {
			tid = tidHelper0 + w
			meta(tid, fmt.Sprintf("cpu helper %d", w))
		}
		for _, pe := range ps {
			name, depth := "part", 1000
			if pe.event >= 0 && int(pe.event) < len(d.events) {
				op := d.events[pe.event]
				name, depth = d.opNames[op.op]+" (part)", int(op.depth)+1
			}
			evs = append(evs, TraceEvent{Name: name, Cat: "part", Ph: "X", TS: us(pe.start), Dur: us(pe.end - pe.start),
				PID: 1, TID: tid, depth: depth})
		}
	}
	if len(d.launches) > 0 {
		meta(tidDevice, "device kernels (offsets from the step's first event)")
		for _, l := range d.launches {
			args := map[string]any{"phase": l.key.scope().PhaseName(), "vertex": d.paths[l.key.vertex]}
			if l.key.op >= 0 {
				args["op"] = d.opNames[l.key.op]
			}
			evs = append(evs, TraceEvent{Name: l.kernel, Cat: "kernel", Ph: "X", TS: us(l.t0), Dur: us(l.t1 - l.t0), PID: 1, TID: tidDevice, Args: args})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if (a.Ph == "M") != (b.Ph == "M") {
			return a.Ph == "M"
		}
		if a.TID != b.TID {
			return a.TID < b.TID
		}
		if a.TS != b.TS {
			return a.TS < b.TS
		}
		if a.Dur != b.Dur {
			return a.Dur > b.Dur
		}
		return a.depth < b.depth
	})
	return evs, nil
}

func scopeName(e event) string {
	return rowKey{phase: e.phase, half: e.half}.scope().PhaseName()
}

// WriteTrace writes the trace as Chrome trace event JSON, which Perfetto
// (ui.perfetto.dev) and chrome://tracing open.
func (r *Report) WriteTrace(w io.Writer) error {
	evs, err := r.TraceEvents()
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n"); err != nil {
		return err
	}
	for i, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteString(",\n")
		}
		bw.Write(b)
	}
	bw.WriteString("\n]}\n")
	return bw.Flush()
}
