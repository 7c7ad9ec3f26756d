package profile

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Row is one row of a profile; times and calls are per recorded step. The
// JSON form is what `suture profile --json` prints.
type Row struct {
	Op     string `json:"op"`     // an op, "(outside ops)", or "total"
	Vertex string `json:"vertex"` // "" outside every vertex
	Phase  string `json:"phase"`  // "forward", "backward alt", ...
	// Calls: op calls, vertex entries, or stretches of the phase.
	Calls  float64 `json:"calls"`
	MS     float64 `json:"ms"`      // total: the op's time, or all time inside the vertex or phase
	SelfMS float64 `json:"self_ms"` // time in this row and in no op or vertex nested in it
	// GFLOPS is the rate of the ops' multiply-adds (plain algorithm) over
	// MS; nil when the row does no conv or GEMM work.
	GFLOPS   *float64 `json:"gflops"`
	GBPS     *float64 `json:"gbps"`      // compulsory traffic over MS; nil without ops
	FracStep float64  `json:"frac_step"` // SelfMS / the step
	PeakFrac *float64 `json:"peak_frac,omitempty"`
	// DeviceMS is the device time of the kernels the row's ops launched
	// (CUDA backends; from events recorded around each launch).
	DeviceMS *float64 `json:"device_ms,omitempty"`

	flops, bytes float64 // per step
}

// KernelRow is the device time of one CUDA kernel per recorded step.
type KernelRow struct {
	Kernel   string  `json:"kernel"`
	Calls    float64 `json:"calls"`
	DeviceMS float64 `json:"device_ms"`
}

// Report is what a Profiler recorded.
type Report struct {
	Backend    string
	Steps      int       // recorded steps
	StepMS     float64   // mean wall time of a recorded step
	StepsMS    []float64 // each recorded step
	PeakGFLOPS float64
	PeakNote   string
	// Rows are the finest rows, (op, vertex, phase), by self time, largest first.
	Rows []Row
	// Kernels are the CUDA kernels by device time, largest first (none on the CPU).
	Kernels []KernelRow
	// DeviceErr is set when reading a kernel's events failed.
	DeviceErr error

	trace *traceData
}

// Report summarises the steps recorded so far.
func (p *Profiler) Report() *Report {
	r := &Report{Backend: p.inner.Name(), Steps: p.recorded, PeakGFLOPS: p.opt.PeakGFLOPS, PeakNote: p.opt.PeakNote, DeviceErr: p.dev.err}
	steps := float64(max(p.recorded, 1))
	for _, s := range p.acct.stepTimes {
		ms := float64(s.end-s.start) / 1e6
		r.StepsMS = append(r.StepsMS, ms)
		r.StepMS += ms / float64(len(p.acct.stepTimes))
	}
	device := p.dev.timed()
	for k, a := range p.acct.rows {
		if a.calls == 0 && a.self == 0 && a.total == 0 {
			continue
		}
		row := Row{Op: outsideOps, Phase: k.scope().PhaseName(), Calls: float64(a.calls) / steps,
			MS: float64(a.total) / 1e6 / steps, SelfMS: float64(a.self) / 1e6 / steps,
			flops: a.flops / steps, bytes: a.bytes / steps}
		if k.op >= 0 {
			row.Op = p.ops.name(k.op)
		}
		if k.vertex != 0 {
			row.Vertex = p.vertices.path(k.vertex)
		}
		if device {
			d := float64(a.device) / 1e6 / steps
			row.DeviceMS = &d
		}
		r.Rows = append(r.Rows, row)
	}
	for i := range r.Rows {
		r.finish(&r.Rows[i])
	}
	sortRows(r.Rows)
	for name, a := range p.dev.kernels {
		r.Kernels = append(r.Kernels, KernelRow{Kernel: name, Calls: float64(a.calls) / steps, DeviceMS: float64(a.device) / 1e6 / steps})
	}
	sort.Slice(r.Kernels, func(i, j int) bool {
		if r.Kernels[i].DeviceMS != r.Kernels[j].DeviceMS {
			return r.Kernels[i].DeviceMS > r.Kernels[j].DeviceMS
		}
		return r.Kernels[i].Kernel < r.Kernels[j].Kernel
	})
	if p.opt.Trace {
		r.trace = p.traceData()
	}
	return r
}

// finish fills the rates and the share of the step from the sums.
func (r *Report) finish(row *Row) {
	if r.StepMS > 0 {
		row.FracStep = row.SelfMS / r.StepMS
	}
	row.GFLOPS, row.GBPS, row.PeakFrac = nil, nil, nil
	if row.MS <= 0 {
		return
	}
	if row.flops > 0 {
		g := row.flops / (row.MS / 1e3) / 1e9
		row.GFLOPS = &g
		if r.PeakGFLOPS > 0 {
			f := g / r.PeakGFLOPS
			row.PeakFrac = &f
		}
	}
	if row.bytes > 0 {
		b := row.bytes / (row.MS / 1e3) / 1e9
		row.GBPS = &b
	}
}

func sortRows(rows []Row) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.SelfMS != b.SelfMS {
			return a.SelfMS > b.SelfMS
		}
		if a.Op != b.Op {
			return a.Op < b.Op
		}
		if a.Vertex != b.Vertex {
			return a.Vertex < b.Vertex
		}
		return a.Phase < b.Phase
	})
}

// SelfSumMS adds the self times of all rows: the step's time, by
// construction of the attribution (see the package comment).
func (r *Report) SelfSumMS() float64 {
	var s float64
	for _, row := range r.Rows {
		s += row.SelfMS
	}
	return s
}

func addDevice(dst **float64, src *float64) {
	if src == nil {
		return
	}
	if *dst == nil {
		*dst = new(float64)
	}
	**dst += *src
}

// ByOp groups the rows by op over every vertex and phase. "(outside ops)"
// gets the time outside ops: its total is its self time.
func (r *Report) ByOp() []Row {
	groups := map[string]*Row{}
	for _, row := range r.Rows {
		g := groups[row.Op]
		if g == nil {
			g = &Row{Op: row.Op}
			groups[row.Op] = g
		}
		g.SelfMS += row.SelfMS
		g.flops += row.flops
		g.bytes += row.bytes
		addDevice(&g.DeviceMS, row.DeviceMS)
		if row.Op == outsideOps {
			g.MS += row.SelfMS
			continue
		}
		g.Calls += row.Calls
		g.MS += row.MS
	}
	return r.collect(groups)
}

// ByVertex groups the rows by vertex over every phase: total is all time
// inside the vertex (nested vertices included, as are their operations'
// FLOPs and bytes), self is the time of its own ops and code. Vertex ""
// is the time outside every vertex.
func (r *Report) ByVertex() []Row {
	groups := map[string]*Row{}
	get := func(v string) *Row {
		g := groups[v]
		if g == nil {
			g = &Row{Vertex: v}
			groups[v] = g
		}
		return g
	}
	for _, row := range r.Rows {
		g := get(row.Vertex)
		g.SelfMS += row.SelfMS
		switch {
		case row.Vertex == "":
			g.MS += row.SelfMS
			if row.Op != outsideOps {
				g.Calls += row.Calls
			}
		case row.Op == outsideOps:
			g.MS += row.MS
			g.Calls += row.Calls
		}
		// The vertex and every vertex it is nested in share its ops' work.
		for v := row.Vertex; ; {
			a := get(v)
			a.flops += row.flops
			a.bytes += row.bytes
			addDevice(&a.DeviceMS, row.DeviceMS)
			i := strings.LastIndexByte(v, '/')
			if v == "" || i < 0 {
				break
			}
			v = v[:i]
		}
	}
	return r.collect(groups)
}

// ByPhase groups the rows by phase: total is the phase's time in the step,
// self the same time again (every moment of a phase belongs to one row).
func (r *Report) ByPhase() []Row {
	groups := map[string]*Row{}
	for _, row := range r.Rows {
		g := groups[row.Phase]
		if g == nil {
			g = &Row{Phase: row.Phase}
			groups[row.Phase] = g
		}
		g.SelfMS += row.SelfMS
		g.flops += row.flops
		g.bytes += row.bytes
		addDevice(&g.DeviceMS, row.DeviceMS)
		if row.Op == outsideOps && row.Vertex == "" {
			g.MS += row.MS
			g.Calls += row.Calls
		}
	}
	return r.collect(groups)
}

func (r *Report) collect(groups map[string]*Row) []Row {
	out := make([]Row, 0, len(groups))
	for _, g := range groups {
		r.finish(g)
		out = append(out, *g)
	}
	sortRows(out)
	return out
}

// Total is the row with op "total" and the step's mean time.
func (r *Report) Total() Row {
	return Row{Op: "total", Calls: float64(r.Steps), MS: r.StepMS, SelfMS: r.SelfSumMS(), FracStep: 1}
}

// WriteJSON writes one JSON object per row (Rows, by self time), then the
// total row.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, row := range r.Rows {
		if err := enc.Encode(row); err != nil {
			return err
		}
	}
	return enc.Encode(r.Total())
}

// WriteTable writes the human-readable profile: by op, by vertex, by phase
// and the finest rows; top limits the rows of every section but the phases
// (0: all).
func (r *Report) WriteTable(w io.Writer, top int) error {
	bw := &errWriter{w: w}
	minMS, maxMS := r.StepMS, r.StepMS
	for _, s := range r.StepsMS {
		minMS, maxMS = min(minMS, s), max(maxMS, s)
	}
	fmt.Fprintf(bw, "%d steps recorded on %s: %.2f ms per step (%.2f-%.2f)\n", r.Steps, r.Backend, r.StepMS, minMS, maxMS)
	if r.PeakGFLOPS > 0 {
		fmt.Fprintf(bw, "peak: %.1f GFLOP/s (%s)\n", r.PeakGFLOPS, r.PeakNote)
	}
	fmt.Fprintf(bw, "per step; self = time in the row and in no op or vertex inside it (the self column adds up to the step);\n"+
		"GFLOP/s counts the plain algorithm's work of convolutions and GEMMs (Winograd does fewer multiplies), GB/s compulsory traffic\n")
	device := false
	for _, row := range r.Rows {
		device = device || row.DeviceMS != nil
	}
	section := func(title, key string, rows []Row, limit int) {
		fmt.Fprintf(bw, "\n%s", title)
		if limit > 0 && len(rows) > limit {
			fmt.Fprintf(bw, " (top %d of %d)", limit, len(rows))
			rows = rows[:limit]
		}
		fmt.Fprintln(bw)
		width := len(key)
		for _, row := range rows {
			width = max(width, len(rowLabel(key, row)))
		}
		fmt.Fprintf(bw, "%-*s %8s %10s %10s %6s %8s %7s %6s", width, key, "calls", "total ms", "self ms", "%step", "GFLOP/s", "GB/s", "%peak")
		if device {
			fmt.Fprintf(bw, " %10s", "device ms")
		}
		fmt.Fprintln(bw)
		for _, row := range rows {
			fmt.Fprintf(bw, "%-*s %8.4g %10.3f %10.3f %5.1f%% %8s %7s %6s", width, rowLabel(key, row), row.Calls, row.MS, row.SelfMS,
				100*row.FracStep, opt(row.GFLOPS, "%.1f"), opt(row.GBPS, "%.1f"), pct(row.PeakFrac))
			if device {
				fmt.Fprintf(bw, " %10s", opt(row.DeviceMS, "%.3f"))
			}
			fmt.Fprintln(bw)
		}
	}
	section("by op", "op", r.ByOp(), top)
	section("by vertex", "vertex", r.ByVertex(), top)
	section("by phase", "phase", r.ByPhase(), 0)
	section("by op, vertex and phase", "op | vertex | phase", r.Rows, top)
	if len(r.Kernels) > 0 {
		fmt.Fprintf(bw, "\nCUDA kernels (device time from events around each launch)\n%-40s %8s %10s\n", "kernel", "calls", "device ms")
		for i, k := range r.Kernels {
			if top > 0 && i == top {
				break
			}
			fmt.Fprintf(bw, "%-40s %8.4g %10.3f\n", k.Kernel, k.Calls, k.DeviceMS)
		}
	}
	if r.DeviceErr != nil {
		fmt.Fprintf(bw, "\ndevice times incomplete: %v\n", r.DeviceErr)
	}
	return bw.err
}

func rowLabel(key string, row Row) string {
	switch key {
	case "op":
		return row.Op
	case "vertex":
		if row.Vertex == "" {
			return "(no vertex)"
		}
		return row.Vertex
	case "phase":
		return row.Phase
	}
	v := row.Vertex
	if v == "" {
		v = "-"
	}
	return row.Op + " | " + v + " | " + row.Phase
}

func opt(p *float64, f string) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf(f, *p)
}

func pct(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100**p)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}
