package profile

import (
	"context"
	"fmt"
	"runtime/pprof"
	"runtime/trace"
	"sync/atomic"
	"time"

	"suture/kernels"
	"suture/kernels/cpu"
	"suture/kernels/cuda/launch"
	"suture/tensor"
)

// Options configure a Profiler.
type Options struct {
	// Warmup steps run unrecorded before the first recorded one.
	Warmup int
	// Steps is how many steps are recorded; after them the Profiler passes
	// every op through and Done reports true. 0 records every step (for
	// overhead measurements; the trace then keeps only the last step).
	Steps int
	// Trace keeps every op, vertex, phase and helper part for WriteTrace.
	Trace bool
	// Labels sets pprof labels (op, vertex, phase) on the goroutine that
	// runs the ops and on the CPU backend's helpers while they run its
	// parts, so `go tool pprof -tagfocus` separates them.
	Labels bool
	// PeakGFLOPS is the rate the peak_frac column divides by (0: no column);
	// PeakNote says where it comes from.
	PeakGFLOPS float64
	PeakNote   string
	// OnStart, when set, is called by the BeginStep of the first recorded
	// step before it starts timing (e.g. to start a CPU profile).
	OnStart func()
	// OnDone, when set, is called by the EndStep that completes the last
	// recorded step, with the report.
	OnDone func(*Report)
}

// Profiler is a kernels.Backend that times the ops of another and a
// kernels.Profiler that attributes them to vertices and phases. It is not
// safe for concurrent use: one goroutine runs its ops.
type Profiler struct {
	inner kernels.Backend
	algos kernels.ConvAlgorithms // nil when the backend does not name its algorithms
	dev   *launch.Backend        // CUDA backends: kernel events
	opt   Options
	base  time.Time

	cur       kernels.Scope // current scope (tracked also when not recording)
	recording bool          // inside a recorded step
	seen      int           // BeginStep calls
	recorded  int           // steps recorded
	done      bool

	// vertices[id] for id >= 1; vertexIDs interns (parent, name).
	vertices  []vertexInfo
	vertexIDs map[vertexKey]int32
	pathBuf   []int32

	ops     []opInfo
	opIDs   map[opKey]int32
	simple  [numKinds]int32 // op ids of kinds without variants (0: not made yet)
	rows    map[rowKey]*acc
	kernels map[string]*acc // device time per kernel name

	// The recorded step's state.
	stack      []openScope // open vertices, outermost first
	last       int64       // when the time up to now was last attributed
	opRunning  int32       // op id while an op runs, else -1
	opKey      rowKey      // its row
	opStart    int64
	phaseStart int64
	stepStart  int64
	stepTimes  []stepTime

	// Trace.
	events   []event
	parts    [][]partEvent // per worker (0: the op caller)
	curEvent atomic.Int32  // trace index of the running op's event, for parts; -1: none

	// Labels.
	labels    map[rowKey]*labelSet
	curLabels atomic.Pointer[labelSet]

	// runtime/trace.
	goTrace bool
	taskCtx context.Context
	task    *trace.Task
	regions []*trace.Region

	// CUDA.
	stepEvent    launch.Event
	launches     []launchRecord
	kernelSlices []launchRecord // resolved launches, for the trace
	devErr       error
}

type vertexKey struct {
	parent int32
	name   string
}

type vertexInfo struct {
	parent int32
	name   string
	path   string // "A/enc2.conv1"
}

type openScope struct {
	vertex int32
	start  int64
	region bool // a runtime/trace region is open for it
}

// rowKey is one row: op -1 is time outside ops.
type rowKey struct {
	op     int32
	vertex int32
	phase  kernels.Phase
	half   kernels.Half
}

func (k rowKey) scope() kernels.Scope {
	return kernels.Scope{Vertex: k.vertex, Phase: k.phase, Half: k.half}
}

// acc accumulates one row over the recorded steps (nanoseconds).
type acc struct {
	calls       int64
	total, self int64
	flops       float64
	bytes       float64
	device      int64
	opTime      int64 // time in ops with FLOPs (for the rate of vertex and phase rows)
}

type stepTime struct{ start, end int64 }

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

type labelSet struct{ ctx context.Context }

type launchRecord struct {
	kernel     string
	key        rowKey
	event      int32 // the op's trace event, -1 if none
	start, end launch.Event
	// Resolved at EndStep: device offsets from the step's first event.
	t0, t1 int64
}

// maxWorkers bounds the helper tracks; parts of helpers beyond it are not
// traced (the CPU backend starts at most GOMAXPROCS-1 helpers).
const maxWorkers = 256

// New wraps b. Setting up a model on the returned Profiler and running its
// steps between BeginStep and EndStep records them.
func New(b kernels.Backend, o Options) *Profiler {
	p := &Profiler{
		inner: b, opt: o, base: time.Now(),
		vertices:  []vertexInfo{{}},
		vertexIDs: map[vertexKey]int32{},
		opIDs:     map[opKey]int32{},
		rows:      map[rowKey]*acc{},
		kernels:   map[string]*acc{},
		labels:    map[rowKey]*labelSet{},
		opRunning: -1,
	}
	p.algos, _ = b.(kernels.ConvAlgorithms)
	p.dev, _ = b.(*launch.Backend)
	p.curEvent.Store(-1)
	return p
}

// Inner is the wrapped backend.
func (p *Profiler) Inner() kernels.Backend { return p.inner }

// Done reports whether every step to record has been recorded.
func (p *Profiler) Done() bool { return p.done }

// Recorded is the number of steps recorded so far.
func (p *Profiler) Recorded() int { return p.recorded }

func (p *Profiler) now() int64 { return int64(time.Since(p.base)) }

// Name implements kernels.Backend: the wrapped backend's name.
func (p *Profiler) Name() string { return p.inner.Name() }

// SetPrecision implements kernels.PrecisionSetter for the wrapped backend.
func (p *Profiler) SetPrecision(pr kernels.Precision) error { return kernels.SetPrecision(p.inner, pr) }

// Precision implements kernels.PrecisionSetter for the wrapped backend.
func (p *Profiler) Precision() kernels.Precision { return kernels.PrecisionOf(p.inner) }

// ---- kernels.Profiler

// Enter implements kernels.Profiler.
func (p *Profiler) Enter(name string) kernels.Scope {
	prev := p.cur
	if !p.recording {
		return prev
	}
	k := vertexKey{p.cur.Vertex, name}
	id, ok := p.vertexIDs[k]
	if !ok {
		path := name
		if k.parent != 0 {
			path = p.vertices[k.parent].path + "/" + name
		}
		id = int32(len(p.vertices))
		p.vertices = append(p.vertices, vertexInfo{parent: k.parent, name: name, path: path})
		p.vertexIDs[k] = id
	}
	s := prev
	s.Vertex = id
	p.transition(s)
	return prev
}

// Current implements kernels.Profiler.
func (p *Profiler) Current() kernels.Scope { return p.cur }

// Restore implements kernels.Profiler.
func (p *Profiler) Restore(s kernels.Scope) {
	if !p.recording {
		p.cur = s
		return
	}
	if s != p.cur {
		p.transition(s)
	}
}

// BeginStep implements kernels.Profiler: the step is recorded when the
// warm-up is over and steps remain.
func (p *Profiler) BeginStep() {
	p.seen++
	if p.done || p.recording || p.seen <= p.opt.Warmup {
		return
	}
	if p.opt.Steps == 0 && p.opt.Trace { // continuous: the trace keeps the last step
		p.events = p.events[:0]
		p.kernelSlices = p.kernelSlices[:0]
		for i := range p.parts {
			p.parts[i] = p.parts[i][:0]
		}
	}
	if p.opt.Trace && p.parts == nil {
		p.parts = make([][]partEvent, maxWorkers)
	}
	if p.recorded == 0 && p.opt.OnStart != nil {
		p.opt.OnStart()
	}
	p.recording = true
	p.cur = kernels.Scope{}
	p.stack = p.stack[:0]
	if p.opt.Trace || p.opt.Labels {
		cpu.SetPartTracer(p)
	}
	if p.dev != nil {
		p.dev.SetLaunchObserver(p)
		if ev, err := p.dev.Driver().Record(); err != nil {
			p.devErr = fmt.Errorf("profile: step event: %w", err)
		} else {
			p.stepEvent = ev
		}
	}
	p.goTrace = trace.IsEnabled()
	if p.goTrace {
		p.taskCtx, p.task = trace.NewTask(context.Background(), "step")
	}
	t := p.now()
	p.stepStart, p.last, p.phaseStart = t, t, t
	p.openPhase()
	p.setLabels()
}

// EndStep implements kernels.Profiler. On a CUDA backend it waits for the
// device, so the step's time includes its kernels.
func (p *Profiler) EndStep() {
	if !p.recording {
		return
	}
	if p.dev != nil {
		if err := p.dev.Synchronize(); err != nil && p.devErr == nil {
			p.devErr = fmt.Errorf("profile: synchronize at the end of a step: %w", err)
		}
	}
	t := p.now()
	p.attribute(t)
	p.closeScopes(0, t)
	p.closePhase(t)
	p.stepTimes = append(p.stepTimes, stepTime{p.stepStart, t})
	if p.goTrace {
		p.task.End()
		p.task, p.taskCtx = nil, nil
	}
	if p.opt.Labels {
		p.curLabels.Store(nil)
		pprof.SetGoroutineLabels(context.Background())
	}
	if p.opt.Trace || p.opt.Labels {
		cpu.SetPartTracer(nil)
	}
	if p.dev != nil {
		p.dev.SetLaunchObserver(nil)
		p.resolveLaunches()
	}
	p.recording = false
	p.cur = kernels.Scope{}
	p.recorded++
	if p.opt.Steps > 0 && p.recorded >= p.opt.Steps {
		p.done = true
		if p.opt.OnDone != nil {
			p.opt.OnDone(p.Report())
		}
	}
}

// ---- time attribution

// innermost is the row the time now belongs to.
func (p *Profiler) innermost() rowKey {
	if p.opRunning >= 0 {
		return p.opKey
	}
	k := rowKey{op: -1, phase: p.cur.Phase, half: p.cur.Half}
	if n := len(p.stack); n > 0 {
		k.vertex = p.stack[n-1].vertex
	}
	return k
}

func (p *Profiler) row(k rowKey) *acc {
	a := p.rows[k]
	if a == nil {
		a = &acc{}
		p.rows[k] = a
	}
	return a
}

// attribute gives the time since the last call to the innermost row.
func (p *Profiler) attribute(t int64) {
	p.row(p.innermost()).self += t - p.last
	p.last = t
}

// transition makes s current: vertices that s is not inside close, those
// on its path open; a new phase or half closes every vertex first.
func (p *Profiler) transition(s kernels.Scope) {
	t := p.now()
	p.attribute(t)
	if s.Phase != p.cur.Phase || s.Half != p.cur.Half {
		p.closeScopes(0, t)
		p.closePhase(t)
		p.cur = s
		p.phaseStart = t
		p.openPhase()
	}
	p.cur = s
	// The path of s.Vertex, outermost first.
	path := p.pathBuf[:0]
	for v := s.Vertex; v != 0; v = p.vertices[v].parent {
		path = append(path, v)
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	p.pathBuf = path
	common := 0
	for common < len(p.stack) && common < len(path) && p.stack[common].vertex == path[common] {
		common++
	}
	p.closeScopes(common, t)
	for _, v := range path[common:] {
		o := openScope{vertex: v, start: t}
		if p.goTrace {
			p.regions = append(p.regions, trace.StartRegion(p.taskCtx, p.vertices[v].path))
			o.region = true
		}
		p.stack = append(p.stack, o)
	}
	p.setLabels()
}

// closeScopes closes the open vertices from the innermost down to depth keep.
func (p *Profiler) closeScopes(keep int, t int64) {
	for len(p.stack) > keep {
		n := len(p.stack) - 1
		o := p.stack[n]
		p.stack = p.stack[:n]
		a := p.row(rowKey{op: -1, vertex: o.vertex, phase: p.cur.Phase, half: p.cur.Half})
		a.calls++
		a.total += t - o.start
		if o.region {
			r := p.regions[len(p.regions)-1]
			p.regions = p.regions[:len(p.regions)-1]
			r.End()
		}
		if p.opt.Trace {
			p.events = append(p.events, event{start: o.start, end: t, op: -1, vertex: o.vertex,
				phase: p.cur.Phase, half: p.cur.Half, step: int32(p.recorded), depth: int32(n + 1)})
		}
	}
}

func (p *Profiler) openPhase() {
	if p.goTrace {
		p.regions = append(p.regions, trace.StartRegion(p.taskCtx, p.cur.PhaseName()))
	}
}

// closePhase ends the current stretch of the phase.
func (p *Profiler) closePhase(t int64) {
	if p.goTrace {
		r := p.regions[len(p.regions)-1]
		p.regions = p.regions[:len(p.regions)-1]
		r.End()
	}
	if t == p.phaseStart {
		return
	}
	a := p.row(rowKey{op: -1, phase: p.cur.Phase, half: p.cur.Half})
	a.calls++
	a.total += t - p.phaseStart
	if p.opt.Trace {
		p.events = append(p.events, event{start: p.phaseStart, end: t, op: -1, phase: p.cur.Phase, half: p.cur.Half,
			step: int32(p.recorded)})
	}
}

// ---- ops

// opCall is an op in flight.
type opCall struct {
	on     bool
	region *trace.Region
}

// begin starts timing op id (flops and bytes of compulsory traffic) on
// tensors ts (outputs first, as the op takes them).
func (p *Profiler) begin(id int32, flops, bytes float64, ts ...*tensor.Tensor) opCall {
	t := p.now()
	p.attribute(t)
	k := rowKey{op: id, vertex: p.cur.Vertex, phase: p.cur.Phase, half: p.cur.Half}
	if n := len(p.stack); n > 0 {
		k.vertex = p.stack[n-1].vertex
	}
	p.opRunning, p.opKey, p.opStart = id, k, t
	a := p.row(k)
	a.calls++
	a.flops += flops
	a.bytes += bytes
	if p.opt.Trace {
		p.curEvent.Store(int32(len(p.events)))
		p.events = append(p.events, event{start: t, op: id, vertex: k.vertex, phase: k.phase, half: k.half,
			step: int32(p.recorded), depth: int32(len(p.stack) + 1), flops: flops, shapes: shapesOf(ts)})
	}
	p.setLabels()
	c := opCall{on: true}
	if p.goTrace {
		c.region = trace.StartRegion(p.taskCtx, p.ops[id].name)
	}
	return c
}

// end stops timing the op begin started.
func (p *Profiler) end(c opCall) {
	t := p.now()
	if c.region != nil {
		c.region.End()
	}
	p.attribute(t)
	a := p.row(p.opKey)
	a.total += t - p.opStart
	if a.flops > 0 {
		a.opTime += t - p.opStart
	}
	if p.opt.Trace {
		i := p.curEvent.Load()
		p.events[i].end = t
		p.curEvent.Store(-1)
	}
	p.opRunning = -1
	p.setLabels()
}

// ---- pprof labels

// outsideOps is the op of rows that hold time in no op.
const outsideOps = "(outside ops)"

// setLabels puts the labels of the innermost row on this goroutine.
func (p *Profiler) setLabels() {
	if !p.opt.Labels {
		return
	}
	k := p.innermost()
	ls := p.labels[k]
	if ls == nil {
		op := outsideOps
		if k.op >= 0 {
			op = p.ops[k.op].name
		}
		vertex := "-"
		if k.vertex != 0 {
			vertex = p.vertices[k.vertex].path
		}
		ls = &labelSet{pprof.WithLabels(context.Background(), pprof.Labels("op", op, "vertex", vertex, "phase", k.scope().PhaseName()))}
		p.labels[k] = ls
	}
	p.curLabels.Store(ls)
	pprof.SetGoroutineLabels(ls.ctx)
}

// ---- cpu.PartTracer

// BeginPart implements cpu.PartTracer.
func (p *Profiler) BeginPart(worker, part, parts int) int64 {
	if worker > 0 && p.opt.Labels {
		if ls := p.curLabels.Load(); ls != nil {
			pprof.SetGoroutineLabels(ls.ctx)
		}
	}
	return p.now()
}

// EndPart implements cpu.PartTracer.
func (p *Profiler) EndPart(worker int, begin int64) {
	t := p.now()
	if worker > 0 && p.opt.Labels {
		pprof.SetGoroutineLabels(context.Background())
	}
	if p.opt.Trace && worker < len(p.parts) {
		p.parts[worker] = append(p.parts[worker], partEvent{start: begin, end: t, event: p.curEvent.Load()})
	}
}

// ---- launch.LaunchObserver

// Launched implements launch.LaunchObserver.
func (p *Profiler) Launched(kernel string, start, end launch.Event) {
	ev := int32(-1)
	if p.opt.Trace {
		ev = p.curEvent.Load()
	}
	p.launches = append(p.launches, launchRecord{kernel: kernel, key: p.innermost(), event: ev, start: start, end: end})
}

// resolveLaunches reads the kernel events of the step (the device is idle:
// EndStep synchronized) into the rows and the kernel table.
func (p *Profiler) resolveLaunches() {
	for i := range p.launches {
		l := &p.launches[i]
		d, err := l.end.Since(l.start)
		if err == nil && p.stepEvent != nil {
			var t0 time.Duration
			if t0, err = l.start.Since(p.stepEvent); err == nil {
				l.t0, l.t1 = p.stepStart+int64(t0), p.stepStart+int64(t0+d)
			}
		}
		if err != nil && p.devErr == nil {
			p.devErr = fmt.Errorf("profile: kernel %s: %w", l.kernel, err)
		}
		p.row(l.key).device += int64(d)
		k := p.kernels[l.kernel]
		if k == nil {
			k = &acc{}
			p.kernels[l.kernel] = k
		}
		k.calls++
		k.device += int64(d)
		l.start.Close()
		l.end.Close()
		l.start, l.end = nil, nil
	}
	if p.stepEvent != nil {
		p.stepEvent.Close()
		p.stepEvent = nil
	}
	if p.opt.Trace {
		p.kernelSlices = append(p.kernelSlices, p.launches...)
	}
	p.launches = p.launches[:0]
}
