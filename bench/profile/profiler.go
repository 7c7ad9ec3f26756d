package profile

import (
	"runtime/trace"
	"time"

	"suture/kernels"
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
//
// The Profiler itself decides which steps it records and keeps the scope
// (the current vertex, phase and half, and the open vertices); each other
// concern is a part of it: the names of ops and what each op call costs
// (ops), the names of vertices (vertices), the time of every row (acct),
// the Chrome trace (tr), runtime/trace regions (regions), pprof labels
// (labels) and the device's kernels (dev). Its kernels.Backend methods
// (backend.go) are generated from the interface.
type Profiler struct {
	inner kernels.Backend
	opt   Options
	base  time.Time

	// Which steps are recorded.
	recording bool // inside a recorded step
	seen      int  // BeginStep calls
	recorded  int  // steps recorded
	done      bool

	// The scope.
	cur   kernels.Scope // current scope (tracked also when not recording)
	stack []openScope   // the recorded step's open vertices, outermost first

	ops      opTable
	vertices vertexTable
	acct     accounts
	tr       traceRecorder
	regions  goRegions
	labels   labeler
	dev      deviceTimer
}

// openScope is an open vertex of the recorded step.
type openScope struct {
	vertex int32
	start  int64
	region bool // a runtime/trace region is open for it
}

// New wraps b. Setting up a model on the returned Profiler and running its
// steps between BeginStep and EndStep records them.
func New(b kernels.Backend, o Options) *Profiler {
	p := &Profiler{inner: b, opt: o, base: time.Now()}
	p.ops.init(b)
	p.vertices.init()
	p.acct.init()
	p.tr.init(o.Trace)
	p.labels.init(o.Labels)
	p.dev.init(b)
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

var _ kernels.Profiler = (*Profiler)(nil)

// Enter implements kernels.Profiler.
func (p *Profiler) Enter(name string) kernels.Scope {
	prev := p.cur
	if !p.recording {
		return prev
	}
	s := prev
	s.Vertex = p.vertices.intern(p.cur.Vertex, name)
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
	p.tr.beginStep(p.opt.Steps == 0) // continuous: the trace keeps the last step
	if p.recorded == 0 && p.opt.OnStart != nil {
		p.opt.OnStart()
	}
	p.recording = true
	p.cur = kernels.Scope{}
	p.stack = p.stack[:0]
	if p.opt.Trace || p.opt.Labels {
		kernels.SetPartTracer(p)
	}
	p.dev.beginStep(p)
	p.regions.beginStep()
	t := p.now()
	p.acct.beginStep(t)
	p.openPhase()
	p.setLabels()
}

// EndStep implements kernels.Profiler. On a backend whose ops run
// asynchronously (kernels.Syncer: CUDA) it waits for the device, so the
// step's time includes its kernels.
func (p *Profiler) EndStep() {
	if !p.recording {
		return
	}
	p.dev.sync()
	t := p.now()
	p.attribute(t)
	p.closeScopes(0, t)
	p.closePhase(t)
	p.acct.endStep(t)
	p.regions.endStep()
	if p.opt.Labels {
		p.labels.clear()
	}
	if p.opt.Trace || p.opt.Labels {
		kernels.SetPartTracer(nil)
	}
	if p.dev.timed() {
		p.tr.addKernels(p.dev.endStep(p.acct.stepStart, p.acct.row))
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
	if p.acct.opRunning >= 0 {
		return p.acct.opKey
	}
	k := rowKey{op: -1, phase: p.cur.Phase, half: p.cur.Half}
	if n := len(p.stack); n > 0 {
		k.vertex = p.stack[n-1].vertex
	}
	return k
}

// attribute gives the time since the last call to the innermost row.
func (p *Profiler) attribute(t int64) { p.acct.attribute(p.innermost(), t) }

// transition makes s current: vertices that s is not inside close, those
// on its path open; a new phase or half closes every vertex first.
func (p *Profiler) transition(s kernels.Scope) {
	t := p.now()
	p.attribute(t)
	if s.Phase != p.cur.Phase || s.Half != p.cur.Half {
		p.closeScopes(0, t)
		p.closePhase(t)
		p.cur = s
		p.acct.phaseStart = t
		p.openPhase()
	}
	p.cur = s
	path := p.vertices.chain(s.Vertex)
	common := 0
	for common < len(p.stack) && common < len(path) && p.stack[common].vertex == path[common] {
		common++
	}
	p.closeScopes(common, t)
	for _, v := range path[common:] {
		p.stack = append(p.stack, openScope{vertex: v, start: t, region: p.regions.start(p.vertices.path(v))})
	}
	p.setLabels()
}

// closeScopes closes the open vertices from the innermost down to depth keep.
func (p *Profiler) closeScopes(keep int, t int64) {
	for len(p.stack) > keep {
		n := len(p.stack) - 1
		o := p.stack[n]
		p.stack = p.stack[:n]
		p.acct.closed(rowKey{op: -1, vertex: o.vertex, phase: p.cur.Phase, half: p.cur.Half}, t-o.start)
		if o.region {
			p.regions.end()
		}
		if p.tr.on {
			p.tr.add(event{start: o.start, end: t, op: -1, vertex: o.vertex,
				phase: p.cur.Phase, half: p.cur.Half, step: int32(p.recorded), depth: int32(n + 1)})
		}
	}
}

func (p *Profiler) openPhase() { p.regions.start(p.cur.PhaseName()) }

// closePhase ends the current stretch of the phase.
func (p *Profiler) closePhase(t int64) {
	if p.regions.on {
		p.regions.end()
	}
	start := p.acct.phaseStart
	if t == start {
		return
	}
	p.acct.closed(rowKey{op: -1, phase: p.cur.Phase, half: p.cur.Half}, t-start)
	if p.tr.on {
		p.tr.add(event{start: start, end: t, op: -1, phase: p.cur.Phase, half: p.cur.Half, step: int32(p.recorded)})
	}
}

// ---- ops

// opCall is an op in flight.
type opCall struct {
	region *trace.Region
}

// begin starts timing the op c describes (the generated wrappers of
// backend.go call it with the cost that opTable's method of the same
// name computes).
func (p *Profiler) begin(c opCost) opCall {
	t := p.now()
	p.attribute(t)
	k := rowKey{op: c.id, vertex: p.cur.Vertex, phase: p.cur.Phase, half: p.cur.Half}
	if n := len(p.stack); n > 0 {
		k.vertex = p.stack[n-1].vertex
	}
	p.acct.beginOp(k, t, c.flops, c.bytes)
	if p.tr.on {
		p.tr.beginOp(event{start: t, op: c.id, vertex: k.vertex, phase: k.phase, half: k.half,
			step: int32(p.recorded), depth: int32(len(p.stack) + 1), flops: c.flops, shapes: shapesOf(c.ts[:c.n])})
	}
	p.setLabels()
	return opCall{region: p.regions.opRegion(p.ops.name(c.id))}
}

// end stops timing the op begin started.
func (p *Profiler) end(c opCall) {
	t := p.now()
	if c.region != nil {
		c.region.End()
	}
	p.attribute(t)
	p.acct.endOp(t)
	p.tr.endOp(t)
	p.setLabels()
}

// ---- pprof labels

// setLabels puts the labels of the innermost row on this goroutine.
func (p *Profiler) setLabels() {
	if !p.labels.on {
		return
	}
	k := p.innermost()
	ls := p.labels.sets[k]
	if ls == nil {
		ls = p.labels.add(k, p.opName(k.op), p.vertexPath(k.vertex))
	}
	p.labels.use(ls)
}

// opName is the name of op id's rows, outsideOps for -1.
func (p *Profiler) opName(id int32) string {
	if id < 0 {
		return outsideOps
	}
	return p.ops.name(id)
}

// vertexPath is the path of vertex v, "-" outside every vertex.
func (p *Profiler) vertexPath(v int32) string {
	if v == 0 {
		return "-"
	}
	return p.vertices.path(v)
}

// ---- kernels.PartTracer

var _ kernels.PartTracer = (*Profiler)(nil)

// BeginPart implements kernels.PartTracer.
func (p *Profiler) BeginPart(worker, part, parts int) int64 {
	p.labels.beginPart(worker)
	return p.now()
}

// EndPart implements kernels.PartTracer.
func (p *Profiler) EndPart(worker int, begin int64) {
	t := p.now()
	p.labels.endPart(worker)
	p.tr.part(worker, begin, t)
}

// ---- kernels.LaunchObserver

var _ kernels.LaunchObserver = (*Profiler)(nil)

// Launched implements kernels.LaunchObserver.
func (p *Profiler) Launched(kernel string, start, end kernels.Event) {
	p.dev.launched(launchRecord{kernel: kernel, key: p.innermost(), event: p.tr.current(), start: start, end: end})
}
