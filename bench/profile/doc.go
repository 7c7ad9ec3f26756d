// Package profile times Suture's training path op by op, like
// torch.profiler: which op, in which vertex of which network, in which phase
// of a step, costs what.
//
// A Profiler wraps a kernels.Backend. Everything built on it (parameter
// sets, tapes, trainers) runs its ops through it, and the code that runs
// networks (autograd.Tape, nn.Graph, the stitch executor, the trainers, the
// bench cases) tells it where each op runs through kernels.Profiler: the
// vertex (nn.Graph vertex names, "A/" and "B/" for the networks of a
// stitched model, "stitch k a->b", "A/switch k", "loss"), the phase
// (forward, backward, optimizer, input) and, in double-batched stitch
// steps, the half (ref: the frozen networks on the input, no tape; alt:
// everything on the tape and its backward).
//
// Between BeginStep and EndStep of a recorded step, every nanosecond is
// attributed to exactly one row, keyed by (op, vertex, phase):
//
//   - an op row (op = "conv3x3 forward (winograd)", ...) gets the time
//     inside its op calls; ops do not nest, so its self time is its total;
//   - a vertex row (op = "(outside ops)", vertex = "A/enc2.conv1") gets the
//     time inside the vertex that is in no op and no nested vertex: the Go
//     code of the layer and the tape (its total, ms, is the whole time
//     inside the vertex);
//   - a phase row (op = "(outside ops)", vertex = "") gets the step's time
//     in that phase outside every vertex and op: the executor's and the
//     trainer's own code (its total is the phase's whole time).
//
// So the self times of all rows add up to the step. Rows report calls and
// times per recorded step, GFLOP/s (convolutions, conv-transposes and GEMMs,
// counting the plain algorithm's multiply-adds as torch does: Winograd rows
// can beat the peak), GB/s of compulsory traffic (each operand read once,
// each output written once, accumulated outputs read and written) and the
// share of a measured peak.
//
// Options add a Chrome trace (Report.WriteTrace: one slice per op and per
// vertex on the calling goroutine's track, one track per helper goroutine
// of the CPU backend with the parts of each parallel region, a track of
// steps and phases, and on CUDA backends a track of kernels), pprof labels
// (op, vertex, phase) on the calling goroutine and the CPU backend's
// helpers, and runtime/trace regions when `go tool trace` tracing is on.
// On backends that time their kernels (kernels.LaunchTimer: the CUDA
// backends) every kernel launch is bracketed by two events in the launch
// stream, and each row gets the device time of the kernels its ops
// launched. The profiler asks a backend for these through the optional
// hooks of package kernels (LaunchTimer, Syncer, PeakReporter,
// SetPartTracer) and imports no backend.
//
// Profiling off costs nothing here: code below holds a nil kernels.Profiler
// and tests it once per vertex. A Profiler outside its recorded steps passes
// every op straight through after one branch.
package profile

//go:generate go run gen_wrappers.go
