package profile

import "suture/kernels"

// accounts hold the time of every row of the recorded steps: between
// BeginStep and EndStep each nanosecond goes to exactly one row (see the
// package comment).
type accounts struct {
	rows map[rowKey]*acc
	last int64 // when the time up to now was last attributed

	// The op running, if any.
	opRunning int32  // op id while an op runs, else -1
	opKey     rowKey // its row
	opStart   int64

	phaseStart int64 // the current stretch of the phase began
	stepStart  int64
	stepTimes  []stepTime
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

func (a *accounts) init() {
	a.rows = map[rowKey]*acc{}
	a.opRunning = -1
}

func (a *accounts) row(k rowKey) *acc {
	r := a.rows[k]
	if r == nil {
		r = &acc{}
		a.rows[k] = r
	}
	return r
}

// attribute gives the time from the last call to t to row k.
func (a *accounts) attribute(k rowKey, t int64) {
	a.row(k).self += t - a.last
	a.last = t
}

func (a *accounts) beginStep(t int64) { a.stepStart, a.last, a.phaseStart = t, t, t }

func (a *accounts) endStep(t int64) { a.stepTimes = append(a.stepTimes, stepTime{a.stepStart, t}) }

// closed counts a vertex or a stretch of a phase that lasted d in row k.
func (a *accounts) closed(k rowKey, d int64) {
	r := a.row(k)
	r.calls++
	r.total += d
}

// beginOp starts an op call of row k at t.
func (a *accounts) beginOp(k rowKey, t int64, flops, bytes float64) {
	a.opRunning, a.opKey, a.opStart = k.op, k, t
	r := a.row(k)
	r.calls++
	r.flops += flops
	r.bytes += bytes
}

// endOp ends the op call at t.
func (a *accounts) endOp(t int64) {
	r := a.row(a.opKey)
	r.total += t - a.opStart
	if r.flops > 0 {
		r.opTime += t - a.opStart
	}
	a.opRunning = -1
}
