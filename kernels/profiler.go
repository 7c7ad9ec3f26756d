package kernels

import "suture/tensor"

// Profiling hooks. A profiling backend (package suture/bench/profile) wraps
// another backend, times every op and implements Profiler; the code that
// runs networks (autograd's tape, nn.Graph, the stitch executor, the
// trainers) tells it where in a step each op runs. That code holds the
// Profiler in a field that is nil when profiling is off, so the off path
// costs one predictable nil check per vertex and nothing else: no call, no
// allocation.

// Phase is the part of a training step an op belongs to.
type Phase uint8

const (
	// PhaseForward is the zero value: every op outside the other phases.
	PhaseForward Phase = iota
	// PhaseBackward is the tape's Backward.
	PhaseBackward
	// PhaseOptimizer is zeroing gradients, clipping and the update.
	PhaseOptimizer
	// PhaseInput is loading and augmenting a batch and uploading it.
	PhaseInput
)

// Half tells the halves of a double-batched stitch step apart.
type Half uint8

const (
	// NoHalf: not a double-batched step.
	NoHalf Half = iota
	// RefHalf is the reference half: the frozen networks on the input, no tape.
	RefHalf
	// AltHalf is the alternative half: everything on the tape (the networks'
	// alternative values, the stitches, the switches, the losses) and its backward.
	AltHalf
)

var phaseNames = [...]string{"forward", "backward", "optimizer", "input"}

// PhaseName names the phase with its half: "forward", "forward ref", "backward alt", ...
func (s Scope) PhaseName() string {
	name := "phase?"
	if int(s.Phase) < len(phaseNames) {
		name = phaseNames[s.Phase]
	}
	switch s.Half {
	case RefHalf:
		return name + " ref"
	case AltHalf:
		return name + " alt"
	}
	return name
}

// Scope is where in a step ops are attributed: a vertex (an id handed out
// by the Profiler's Enter; 0 is outside every vertex), a phase and a half.
type Scope struct {
	Vertex int32
	Phase  Phase
	Half   Half
}

// WithPhase returns s in phase p.
func (s Scope) WithPhase(p Phase) Scope { s.Phase = p; return s }

// WithHalf returns s in half h.
func (s Scope) WithHalf(h Half) Scope { s.Half = h; return s }

// Profiler receives the structure of a computation. It is not safe for
// concurrent use: one goroutine runs the ops it profiles.
type Profiler interface {
	// Enter makes the vertex name, nested in the current vertex, current
	// ("A" then "enc2.conv1" is the vertex "A/enc2.conv1") and returns the
	// scope to Restore when the vertex is done.
	Enter(name string) Scope
	// Current returns the current scope (the tape records it with each
	// backward rule).
	Current() Scope
	// Restore makes s current.
	Restore(s Scope)
	// BeginStep and EndStep bracket one training step; the profiler decides
	// which steps it records.
	BeginStep()
	EndStep()
}

// ProfilerOf returns b's Profiler when b is a profiling backend, else nil.
func ProfilerOf(b Backend) Profiler {
	p, _ := b.(Profiler)
	return p
}

// SetPhase makes phase ph current in p and returns the scope before, for
// Restore.
func SetPhase(p Profiler, ph Phase) Scope {
	s := p.Current()
	p.Restore(s.WithPhase(ph))
	return s
}

// ConvPass is one of the three passes of a convolution.
type ConvPass uint8

const (
	ConvForward ConvPass = iota
	ConvBackwardData
	ConvBackwardFilter
)

// ConvAlgorithms is implemented by backends that choose among algorithms
// per call; profilers name their rows with it.
type ConvAlgorithms interface {
	// ConvAlgorithm names the algorithm the pass uses for a convolution of
	// x: (N, Ci, H, W) with w: (Co, Ci, KH, KW), e.g. "winograd", "direct".
	ConvAlgorithm(pass ConvPass, x, w tensor.Shape, p ConvParams) string
}

// ConvTransposeAlgorithms is ConvAlgorithms for conv-transpose.
type ConvTransposeAlgorithms interface {
	// ConvTransposeAlgorithm names the algorithm the pass uses for a
	// conv-transpose of x: (N, Ci, H, W) with w: (Ci, Co, KH, KW).
	ConvTransposeAlgorithm(pass ConvPass, x, w tensor.Shape) string
}
