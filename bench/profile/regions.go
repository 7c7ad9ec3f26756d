package profile

import (
	"context"
	"runtime/trace"
)

// goRegions mark the recorded steps in a runtime/trace (`go tool trace`)
// when one is being taken: a task per step, a region per phase, vertex and
// op.
type goRegions struct {
	on   bool // a runtime/trace is on for the recorded step
	ctx  context.Context
	task *trace.Task
	open []*trace.Region // the phase's and the open vertices', outermost first
}

func (g *goRegions) beginStep() {
	g.on = trace.IsEnabled()
	if g.on {
		g.ctx, g.task = trace.NewTask(context.Background(), "step")
	}
}

func (g *goRegions) endStep() {
	if g.on {
		g.task.End()
		g.task, g.ctx = nil, nil
	}
}

// start opens a region named name when tracing and reports whether it did.
func (g *goRegions) start(name string) bool {
	if !g.on {
		return false
	}
	g.open = append(g.open, trace.StartRegion(g.ctx, name))
	return true
}

// end ends the innermost open region.
func (g *goRegions) end() {
	r := g.open[len(g.open)-1]
	g.open = g.open[:len(g.open)-1]
	r.End()
}

// opRegion starts the region of an op call (nil when not tracing).
func (g *goRegions) opRegion(name string) *trace.Region {
	if !g.on {
		return nil
	}
	return trace.StartRegion(g.ctx, name)
}
