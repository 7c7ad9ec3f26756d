package autograd

import (
	"fmt"

	"suture/kernels"
	"suture/tensor"
)

// Tape records backward rules while Recording is true.
type Tape struct {
	// Backend runs every op.
	Backend kernels.Backend
	// Recording turns gradient tracking on; a tape that does not record is a
	// no-grad region: ops compute values only.
	Recording bool

	arena  *Arena
	steps  []step
	owners []*Var // Vars whose Grad came from the arena; cleared on Reset
	prof   kernels.Profiler
}

type step struct {
	name  string
	out   *Var
	back  func(g *tensor.Tensor) error // g: out's gradient
	scope kernels.Scope                // where the op ran (profiling; zero otherwise)
}

// NewTape returns a recording tape on backend b. When b is a profiling
// backend (kernels.ProfilerOf), the tape tells it which vertex each
// backward rule belongs to.
func NewTape(b kernels.Backend) *Tape {
	return &Tape{Backend: b, Recording: true, arena: NewArena(b), prof: kernels.ProfilerOf(b)}
}

// NoGrad returns a tape on the same backend and arena that records nothing.
// Its values are released with the parent's.
func (t *Tape) NoGrad() *Tape {
	return &Tape{Backend: t.Backend, arena: t.arena, prof: t.prof}
}

// Profiler is the profiler of the tape's backend; nil when it does not profile.
func (t *Tape) Profiler() kernels.Profiler { return t.prof }

// Arena is the tape's tensor pool.
func (t *Tape) Arena() *Arena { return t.arena }

// Len is the number of recorded backward steps.
func (t *Tape) Len() int { return len(t.steps) }

// Reset forgets recorded steps and returns every value and gradient made
// since the last Reset to the arena.
func (t *Tape) Reset() {
	clear(t.steps)
	t.steps = t.steps[:0]
	for _, v := range t.owners {
		v.Grad, v.fromArena = nil, false
	}
	clear(t.owners)
	t.owners = t.owners[:0]
	t.arena.Release()
}

// tracks reports whether an op with these inputs must be recorded.
func (t *Tape) tracks(in ...*Var) bool {
	if !t.Recording {
		return false
	}
	for _, v := range in {
		if v.RequiresGrad() {
			return true
		}
	}
	return false
}

// newOut allocates an op's output value.
func (t *Tape) newOut(shape ...int) (*Var, error) {
	v, err := t.arena.Get(shape...)
	if err != nil {
		return nil, err
	}
	return &Var{Value: v}, nil
}

// record makes out depend on the inputs through back.
func (t *Tape) record(name string, out *Var, back func(g *tensor.Tensor) error) {
	out.requiresGrad = true
	var sc kernels.Scope
	if t.prof != nil {
		sc = t.prof.Current()
	}
	t.steps = append(t.steps, step{name: name, out: out, back: back, scope: sc})
}

// grad returns v's gradient buffer, allocating a zeroed one on first use;
// nil when v takes no gradient.
func (t *Tape) grad(v *Var) (*tensor.Tensor, error) {
	if v == nil || !v.requiresGrad {
		return nil, nil
	}
	if v.Grad == nil {
		g, err := t.arena.Zeros(v.Value.Shape...)
		if err != nil {
			return nil, err
		}
		v.Grad, v.fromArena = g, true
		t.owners = append(t.owners, v)
	}
	return v.Grad, nil
}

// Backward computes d loss / d v for every recorded v that requires it.
// loss must hold one element; its gradient is seeded with 1. Gradients
// accumulate into existing Grad buffers.
func (t *Tape) Backward(loss *Var) error {
	if loss == nil || loss.Value == nil {
		return fmt.Errorf("backward: nil loss")
	}
	if loss.Value.Numel() != 1 {
		return fmt.Errorf("backward: loss has shape %v, want one element", loss.Value.Shape)
	}
	if !loss.requiresGrad {
		return fmt.Errorf("backward: loss does not depend on anything that requires a gradient")
	}
	if p := t.prof; p != nil {
		// Each rule runs in the vertex where its op ran, in the backward phase.
		defer p.Restore(kernels.SetPhase(p, kernels.PhaseBackward))
	}
	g, err := t.grad(loss)
	if err != nil {
		return err
	}
	if err := t.Backend.Fill(g, 1); err != nil {
		return err
	}
	for i := len(t.steps) - 1; i >= 0; i-- {
		s := t.steps[i]
		if s.out.Grad == nil {
			continue // nothing flowed into this op: no work
		}
		if t.prof != nil {
			t.prof.Restore(s.scope.WithPhase(kernels.PhaseBackward))
		}
		if err := s.back(s.out.Grad); err != nil {
			return fmt.Errorf("backward of %s: %w", s.name, err)
		}
	}
	return nil
}

// scalar reads a one-element tensor.
func (t *Tape) scalar(x *tensor.Tensor) (float32, error) {
	var v [1]float32
	if err := t.Backend.Download(v[:], x); err != nil {
		return 0, err
	}
	return v[0], nil
}

// scalarVar makes a one-element Var holding v.
func (t *Tape) scalarVar(v float64) (*Var, error) {
	out, err := t.newOut(1)
	if err != nil {
		return nil, err
	}
	return out, t.Backend.Fill(out.Value, float32(v))
}

func needVars(op string, vs ...*Var) error {
	for i, v := range vs {
		if v == nil || v.Value == nil {
			return fmt.Errorf("%s: argument %d is nil", op, i)
		}
	}
	return nil
}

// Ops names the recorded steps in order (for tests and profiling).
func (t *Tape) Ops() []string {
	out := make([]string, len(t.steps))
	for i, s := range t.steps {
		out[i] = s.name
	}
	return out
}
