package profile

import (
	"context"
	"runtime/pprof"
	"sync/atomic"
)

// outsideOps is the op of rows that hold time in no op.
const outsideOps = "(outside ops)"

// labeler puts pprof labels (op, vertex, phase) on the goroutine that runs
// the ops and on the CPU backend's helpers while they run its parts.
type labeler struct {
	on   bool
	sets map[rowKey]*labelSet
	cur  atomic.Pointer[labelSet] // the op caller's, for the helpers
}

type labelSet struct{ ctx context.Context }

func (l *labeler) init(on bool) {
	l.on = on
	l.sets = map[rowKey]*labelSet{}
}

// add makes the labels of row k, whose op and vertex are named op and vertex.
func (l *labeler) add(k rowKey, op, vertex string) *labelSet {
	ls := &labelSet{pprof.WithLabels(context.Background(), pprof.Labels("op", op, "vertex", vertex, "phase", k.scope().PhaseName()))}
	l.sets[k] = ls
	return ls
}

// use puts ls on this goroutine and on the helpers' next parts.
func (l *labeler) use(ls *labelSet) {
	l.cur.Store(ls)
	pprof.SetGoroutineLabels(ls.ctx)
}

// clear takes the labels off this goroutine at the end of a step.
func (l *labeler) clear() {
	l.cur.Store(nil)
	pprof.SetGoroutineLabels(context.Background())
}

// beginPart labels a helper (worker > 0) about to run a part.
func (l *labeler) beginPart(worker int) {
	if worker > 0 && l.on {
		if ls := l.cur.Load(); ls != nil {
			pprof.SetGoroutineLabels(ls.ctx)
		}
	}
}

// endPart takes the labels off a helper whose part is done.
func (l *labeler) endPart(worker int) {
	if worker > 0 && l.on {
		pprof.SetGoroutineLabels(context.Background())
	}
}
