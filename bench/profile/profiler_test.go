package profile

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"math"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"testing"
	"time"

	"suture/autograd"
	"suture/kernels"
	"suture/kernels/cpu"
	"suture/nn"
	"suture/tensor"
)

func mustAlloc(t *testing.T, b kernels.Backend, g *tensor.RNG, shape ...int) *tensor.Tensor {
	t.Helper()
	x, err := b.Alloc(shape...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Upload(x, g.Rand(shape...).Data); err != nil {
		t.Fatal(err)
	}
	return x
}

// findRow finds a row; an op ending in "(" matches any algorithm.
func findRow(rows []Row, op, vertex, phase string) (Row, bool) {
	for _, r := range rows {
		match := r.Op == op || strings.HasSuffix(op, "(") && strings.HasPrefix(r.Op, op)
		if match && r.Vertex == vertex && r.Phase == phase {
			return r, true
		}
	}
	return Row{}, false
}

// checkAddsUp: the self column adds up to the step; every phase's total
// is its self time; the phases add up to the step.
func checkAddsUp(t *testing.T, rep *Report) {
	t.Helper()
	if rep.Steps < 1 || rep.StepMS <= 0 {
		t.Fatalf("report of %d steps of %g ms", rep.Steps, rep.StepMS)
	}
	if s := rep.SelfSumMS(); math.Abs(s-rep.StepMS) > 1e-6*rep.StepMS {
		t.Errorf("self times add up to %.6f ms, the step took %.6f ms", s, rep.StepMS)
	}
	var phases float64
	for _, ph := range rep.ByPhase() {
		if math.Abs(ph.MS-ph.SelfMS) > 1e-6*rep.StepMS {
			t.Errorf("phase %s: total %.6f ms, self %.6f ms", ph.Phase, ph.MS, ph.SelfMS)
		}
		phases += ph.MS
	}
	if math.Abs(phases-rep.StepMS) > 1e-6*rep.StepMS {
		t.Errorf("phases add up to %.6f ms, the step took %.6f ms", phases, rep.StepMS)
	}
}

// checkTrace parses a Chrome trace and checks that on every track the
// slices start in order and nest (a slice that starts inside another ends
// inside it). It returns the slices.
func checkTrace(t *testing.T, data []byte) []TraceEvent {
	t.Helper()
	var f TraceFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("trace is not JSON: %v", err)
	}
	var slices []TraceEvent
	open := map[int][]float64{} // per track: ends of the open slices
	last := map[int]float64{}
	for _, e := range f.TraceEvents {
		if e.Ph != "X" {
			continue
		}
		slices = append(slices, e)
		if l, ok := last[e.TID]; ok && e.TS < l {
			t.Fatalf("track %d: slice %q starts at %.3f us, before the previous one (%.3f)", e.TID, e.Name, e.TS, l)
		}
		last[e.TID] = e.TS
		st := open[e.TID]
		// Microsecond floats from nanoseconds: compare with a tolerance far
		// below a nanosecond.
		for len(st) > 0 && e.TS >= st[len(st)-1]-1e-6 {
			st = st[:len(st)-1]
		}
		if len(st) > 0 && e.TS+e.Dur > st[len(st)-1]+1e-6 {
			t.Fatalf("track %d: slice %q (%.3f-%.3f us) overlaps the end of its parent (%.3f)", e.TID, e.Name, e.TS, e.TS+e.Dur, st[len(st)-1])
		}
		open[e.TID] = append(st, e.TS+e.Dur)
	}
	return slices
}

// TestScopesAndPhases drives a profiler by hand: ops in nested vertices,
// then the same vertices in the backward phase.
func TestScopesAndPhases(t *testing.T) {
	g := tensor.NewRNG(1)
	p := New(cpu.New(2), Options{Steps: 1, Trace: true})
	x := mustAlloc(t, p, g, 2, 8, 16, 16)
	w := mustAlloc(t, p, g, 8, 8, 3, 3)
	y := mustAlloc(t, p, g, 2, 8, 16, 16)
	if len(p.Report().Rows) != 0 {
		t.Fatal("ops outside a step were recorded")
	}
	p.BeginStep()
	prev := p.Enter("A")
	p.Enter("conv")
	if err := p.Conv2d(y, x, w, nil, kernels.Conv(1, 1)); err != nil {
		t.Fatal(err)
	}
	p.Restore(prev)
	if err := p.Fill(x, 1); err != nil { // outside every vertex
		t.Fatal(err)
	}
	bw := kernels.SetPhase(p, kernels.PhaseBackward)
	p.Enter("A")
	p.Enter("conv")
	if err := p.Conv2dBackwardData(x, y, w, kernels.Conv(1, 1)); err != nil {
		t.Fatal(err)
	}
	p.Restore(bw)
	p.EndStep()
	if !p.Done() {
		t.Fatal("one step of one recorded: not done")
	}
	rep := p.Report()
	checkAddsUp(t, rep)
	for _, want := range []struct {
		op, vertex, phase string
		calls             float64
	}{
		{"conv3x3 forward (direct)", "A/conv", "forward", 1},
		{"conv3x3 backward-data (direct)", "A/conv", "backward", 1},
		{"fill", "", "forward", 1},
		{outsideOps, "A/conv", "forward", 1},
		{outsideOps, "A", "forward", 1},
		{outsideOps, "A/conv", "backward", 1},
	} {
		r, ok := findRow(rep.Rows, want.op, want.vertex, want.phase)
		if !ok {
			t.Errorf("no row (%s, %s, %s)", want.op, want.vertex, want.phase)
			continue
		}
		if r.Calls != want.calls {
			t.Errorf("(%s, %s, %s): %g calls, want %g", want.op, want.vertex, want.phase, r.Calls, want.calls)
		}
		if want.op != outsideOps && (r.MS <= 0 || r.MS != r.SelfMS) {
			t.Errorf("op row (%s, %s): total %g, self %g ms", want.op, want.vertex, r.MS, r.SelfMS)
		}
	}
	// The vertex's total holds its op; A's total holds A/conv's.
	conv, _ := findRow(rep.Rows, "conv3x3 forward (direct)", "A/conv", "forward")
	inConv, _ := findRow(rep.Rows, outsideOps, "A/conv", "forward")
	inA, _ := findRow(rep.Rows, outsideOps, "A", "forward")
	if inConv.MS < conv.MS || inA.MS < inConv.MS {
		t.Errorf("vertex totals do not nest: op %g <= A/conv %g <= A %g ms", conv.MS, inConv.MS, inA.MS)
	}
	if f := 2 * 2 * 8 * 16 * 16 * 8 * 9.0; conv.GFLOPS == nil || math.Abs(*conv.GFLOPS-f/(conv.MS/1e3)/1e9) > 1e-9**conv.GFLOPS {
		t.Errorf("conv GFLOP/s %v, want %g", conv.GFLOPS, f/(conv.MS/1e3)/1e9)
	}
	var buf bytes.Buffer
	if err := rep.WriteTrace(&buf); err != nil {
		t.Fatal(err)
	}
	slices := checkTrace(t, buf.Bytes())
	var ops int
	for _, s := range slices {
		if s.Cat == "op" {
			ops++
			if s.Args["vertex"] == nil || s.Args["phase"] == nil || s.Args["shapes"] == nil {
				t.Errorf("op slice %q lacks vertex, phase or shapes: %v", s.Name, s.Args)
			}
		}
	}
	if ops != 3 {
		t.Errorf("%d op slices in the trace, want 3", ops)
	}
	// After the last recorded step, ops pass through: nothing more recorded.
	p.BeginStep()
	p.Fill(x, 2)
	p.EndStep()
	if again := p.Report(); again.Steps != 1 || len(again.Rows) != len(rep.Rows) {
		t.Errorf("a step after the last recorded one changed the report: %d steps, %d rows", again.Steps, len(again.Rows))
	}
}

// tinyNet: conv -> leaky ReLU -> conv, the loss an MSE against a target.
func tinyNet(t *testing.T, b kernels.Backend) (*nn.Graph, *nn.ParamSet) {
	t.Helper()
	g := tensor.NewRNG(2)
	gr := &nn.Graph{}
	in := gr.AddInput("x")
	c0, err := nn.NewConv2d("c0", 4, 8, 3, 1, 1, true, g)
	if err != nil {
		t.Fatal(err)
	}
	c1, err := nn.NewConv2d("c1", 8, 4, 1, 1, 0, true, g)
	if err != nil {
		t.Fatal(err)
	}
	v0 := gr.Add("c0", c0, in)
	v1 := gr.Add("act", &nn.LeakyReLU{Slope: 0.01}, v0)
	gr.Outputs = []int{gr.Add("c1", c1, v1)}
	set, err := nn.NewParamSet(b, gr.Params())
	if err != nil {
		t.Fatal(err)
	}
	return gr, set
}

// TestTapeAttributesBackwardToVertices: the tape runs each backward rule
// in the vertex its op ran in, in the backward phase.
func TestTapeAttributesBackwardToVertices(t *testing.T) {
	p := New(cpu.New(2), Options{Warmup: 1, Steps: 2, Trace: true})
	gr, set := tinyNet(t, p)
	g := tensor.NewRNG(3)
	x, target := mustAlloc(t, p, g, 2, 4, 8, 8), mustAlloc(t, p, g, 2, 4, 8, 8)
	tape := autograd.NewTape(p)
	if tape.Profiler() == nil {
		t.Fatal("a tape on a profiling backend has no profiler")
	}
	step := func() {
		p.BeginStep()
		defer p.EndStep()
		defer tape.Reset()
		if err := set.ZeroGrad(); err != nil {
			t.Fatal(err)
		}
		vals, err := gr.Forward(tape, autograd.Leaf(x, false))
		if err != nil {
			t.Fatal(err)
		}
		prev := p.Enter("loss")
		loss, err := tape.MSE(vals[gr.Outputs[0]], autograd.Leaf(target, false))
		if err != nil {
			t.Fatal(err)
		}
		if err := tape.Backward(loss); err != nil {
			t.Fatal(err)
		}
		p.Restore(prev)
	}
	for range 3 {
		step()
	}
	rep := p.Report()
	if rep.Steps != 2 {
		t.Fatalf("%d steps recorded, want 2 (one warm-up)", rep.Steps)
	}
	checkAddsUp(t, rep)
	for _, want := range [][3]string{
		{"conv3x3 forward (direct)", "c0", "forward"},
		{"leaky relu forward", "act", "forward"},
		{"conv1x1 forward (", "c1", "forward"},
		{"mse", "loss", "forward"},
		{"mse backward", "loss", "backward"},
		{"conv1x1 backward-data (", "c1", "backward"},
		{"conv1x1 backward-filter (", "c1", "backward"},
		{"leaky relu backward", "act", "backward"},
		{"conv3x3 backward-filter (direct)", "c0", "backward"},
	} {
		r, ok := findRow(rep.Rows, want[0], want[1], want[2])
		if !ok {
			var have []string
			for _, r := range rep.Rows {
				have = append(have, r.Op+" | "+r.Vertex+" | "+r.Phase)
			}
			t.Errorf("no row %v; rows:\n%s", want, strings.Join(have, "\n"))
			continue
		}
		if r.Calls != 1 {
			t.Errorf("%v: %g calls per step, want 1", want, r.Calls)
		}
	}
	// The input takes no gradient: no backward-data in c0.
	if _, ok := findRow(rep.Rows, "conv3x3 backward-data (direct)", "c0", "backward"); ok {
		t.Error("backward-data ran for the input, which takes no gradient")
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var lastRow Row
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &lastRow); err != nil || lastRow.Op != "total" || lastRow.MS != rep.StepMS {
		t.Errorf("last JSON line %q, want the total row of %g ms", lines[len(lines)-1], rep.StepMS)
	}
	if len(lines) != len(rep.Rows)+1 {
		t.Errorf("%d JSON lines for %d rows", len(lines), len(rep.Rows))
	}
	buf.Reset()
	if err := rep.WriteTrace(&buf); err != nil {
		t.Fatal(err)
	}
	checkTrace(t, buf.Bytes())
	buf.Reset()
	if err := rep.WriteTable(&buf, 5); err != nil || !strings.Contains(buf.String(), "by phase") {
		t.Errorf("table: %v\n%s", err, buf.String())
	}
}

// TestOffPathDoesNotAllocate: outside recorded steps an op costs the
// wrapped call and nothing else; scopes are tracked without allocating.
func TestOffPathDoesNotAllocate(t *testing.T) {
	g := tensor.NewRNG(4)
	inner := cpu.New(1)
	p := New(inner, Options{Warmup: 1000, Steps: 1})
	x, y := mustAlloc(t, inner, g, 64), mustAlloc(t, inner, g, 64)
	wrapped := testing.AllocsPerRun(100, func() {
		p.BeginStep()
		prev := p.Enter("v")
		p.Add(y, x, y)
		p.Restore(prev)
		p.EndStep()
	})
	if wrapped != 0 {
		t.Errorf("an op through a profiler outside its recorded steps allocates %g times", wrapped)
	}
	if len(p.Report().Rows) != 0 {
		t.Error("warm-up steps were recorded")
	}
}

// TestLabelsReachCPUProfile: a CPU profile taken while the profiler runs
// with labels carries the vertex and op names (in its string table, which
// holds only what samples use).
func TestLabelsReachCPUProfile(t *testing.T) {
	g := tensor.NewRNG(5)
	p := New(cpu.New(2), Options{Steps: 1, Labels: true})
	x := mustAlloc(t, p, g, 4, 32, 32, 32)
	w := mustAlloc(t, p, g, 32, 32, 3, 3)
	y := mustAlloc(t, p, g, 4, 32, 32, 32)
	var prof bytes.Buffer
	if err := pprof.StartCPUProfile(&prof); err != nil {
		t.Skipf("CPU profiling unavailable here: %v", err)
	}
	p.BeginStep()
	prev := p.Enter("labelled.vertex")
	for start := time.Now(); time.Since(start) < 700*time.Millisecond; {
		if err := p.Conv2dBackwardFilter(w, nil, y, x, kernels.Conv(1, 1)); err != nil {
			t.Fatal(err)
		}
	}
	p.Restore(prev)
	p.EndStep()
	pprof.StopCPUProfile()
	zr, err := gzip.NewReader(&prof)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"vertex", "labelled.vertex", "op", "conv3x3 backward-filter (", "phase", "forward"} {
		if !bytes.Contains(raw, []byte(s)) {
			t.Errorf("the CPU profile has no label string %q", s)
		}
	}
}

// TestGoTraceRegions: with runtime/trace on, vertices and ops are regions.
func TestGoTraceRegions(t *testing.T) {
	g := tensor.NewRNG(6)
	p := New(cpu.New(1), Options{Steps: 1})
	x := mustAlloc(t, p, g, 256)
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("runtime/trace unavailable here: %v", err)
	}
	p.BeginStep()
	prev := p.Enter("traced.vertex")
	p.Scale(x, x, 2)
	p.Restore(prev)
	p.EndStep()
	trace.Stop()
	for _, s := range []string{"traced.vertex", "scale", "step"} {
		if !bytes.Contains(buf.Bytes(), []byte(s)) {
			t.Errorf("the runtime trace has no %q", s)
		}
	}
}

// TestHelperTracks: the CPU backend's helpers get tracks of their own, and
// every part they ran lies inside the op that started it.
func TestHelperTracks(t *testing.T) {
	g := tensor.NewRNG(7)
	p := New(cpu.New(2), Options{Steps: 1, Trace: true})
	x := mustAlloc(t, p, g, 8, 32, 64, 64)
	w := mustAlloc(t, p, g, 32, 32, 3, 3)
	y := mustAlloc(t, p, g, 8, 32, 64, 64)
	p.BeginStep()
	for range 3 {
		if err := p.Conv2d(y, x, w, nil, kernels.Conv(1, 1)); err != nil {
			t.Fatal(err)
		}
	}
	p.EndStep()
	var buf bytes.Buffer
	if err := p.Report().WriteTrace(&buf); err != nil {
		t.Fatal(err)
	}
	slices := checkTrace(t, buf.Bytes())
	var ops []TraceEvent
	helperParts := 0
	for _, s := range slices {
		if s.Cat == "op" {
			ops = append(ops, s)
		}
	}
	for _, s := range slices {
		if s.Cat != "part" {
			continue
		}
		if s.TID >= tidHelper0 {
			helperParts++
		}
		inside := false
		for _, o := range ops {
			inside = inside || (s.TS >= o.TS-1e-6 && s.TS+s.Dur <= o.TS+o.Dur+1e-6 && strings.HasPrefix(s.Name, o.Name))
		}
		if !inside {
			t.Errorf("part %q on track %d at %.3f us lies in no op", s.Name, s.TID, s.TS)
		}
	}
	if helperParts == 0 {
		t.Skip("no part ran on a helper (the helpers were busy or GOMAXPROCS is 1)")
	}
}

// TestMachinePeak: a CPU backend reports its measured peak with a note
// naming where it comes from; a backend without kernels.PeakReporter (a
// Profiler wrapping one) has none.
func TestMachinePeak(t *testing.T) {
	g, note := MachinePeak(cpu.New(1), 1)
	if !(g > 0) || !strings.HasPrefix(note, "measured: the best FP32 FMA rate of the units; ") || !strings.Contains(note, "path ") {
		t.Errorf("cpu: %g GFLOP/s (%s)", g, note)
	}
	if g, note := MachinePeak(New(cpu.New(1), Options{}), 1); g != 0 || note != "" {
		t.Errorf("a backend without a peak: %g GFLOP/s (%s)", g, note)
	}
}
