package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"suture/kernels"
)

// minParallel is the element count below which splitting work over
// goroutines costs more than it saves for memory-bound loops.
const minParallel = 1 << 15

// task is work cut into parts that may run concurrently; runPart(i, parts)
// does part i. Parts must write disjoint memory, so results do not depend on
// which goroutine runs which part or when.
type task interface{ runPart(part, parts int) }

// partsDone is the completion count of one runParts call; tasks own one
// (pooled with them) so that a call allocates nothing.
type partsDone struct {
	left atomic.Int32   // helper parts not finished yet
	wg   sync.WaitGroup // the same count, for sleeping on
}

// spinFor is how long a helper, and a caller waiting for its helpers, poll
// before they sleep. A training step runs thousands of parallel regions
// microseconds to a millisecond apart, and waking a sleeping goroutine costs
// tens of microseconds. stitch/double on 2 cores, median of 3-7 interleaved
// runs: 1653 ms polling ~1 us, 1729 ms for 50 us, 1434 ms for 200 us, 1407
// ms for 1 ms, 1413 ms for 5 ms (bench/RESULTS.md section 3). Pollers yield
// the processor every 64 polls, so other goroutines are not starved.
const spinFor = time.Millisecond

// helperSlot is the mailbox of one long-lived helper goroutine.
type helperSlot struct {
	state    atomic.Int32 // slotIdle, slotClaimed (a caller is writing call), slotPosted
	call     partCall
	sleeping atomic.Bool
	wake     chan struct{} // capacity 1: a stale token only costs one extra poll
	exited   chan struct{} // closed when the goroutine has stopped (StopHelpers)
}

const (
	slotIdle int32 = iota
	slotClaimed
	slotPosted
)

type partCall struct {
	t           task
	part, parts int
	done        *partsDone
	tr          *tracerBox // nil unless a PartTracer is set
}

// PartTracer observes the parts of the fast path's parallel regions, for
// profilers: kernels.PartTracer (worker 0 is the goroutine that called the
// op, workers 1.. the long-lived helpers).
type PartTracer = kernels.PartTracer

type tracerBox struct{ t PartTracer }

// partTracer is the PartTracer of every backend; nil (the default) costs
// one pointer load per parallel region.
var partTracer atomic.Pointer[tracerBox]

// SetPartTracer makes t observe every part of every parallel region from
// now on; nil stops it. Regions running while it is called may be observed
// or not. The package registers it with kernels.RegisterPartTracing, so
// kernels.SetPartTracer reaches it.
func SetPartTracer(t PartTracer) {
	if t == nil {
		partTracer.Store(nil)
		return
	}
	partTracer.Store(&tracerBox{t})
}

// runTraced runs part of t under tr (nil: untraced) on worker.
func runTraced(tr *tracerBox, t task, worker, part, parts int) {
	if tr == nil {
		t.runPart(part, parts)
		return
	}
	begin := tr.t.BeginPart(worker, part, parts)
	t.runPart(part, parts)
	tr.t.EndPart(worker, begin)
}

// helpers are long-lived goroutines, shared by all backends, that run parts
// 1.. of a task (part 0 runs on the caller). Reusing them avoids a goroutine
// start per call and, with pooled task values, any allocation per call.
// Parts never start tasks of their own, so helpers cannot wait on themselves.
var helpers struct {
	mu    sync.Mutex
	slots atomic.Pointer[[]*helperSlot]
}

func helper(i int) *helperSlot {
	if s := helpers.slots.Load(); s != nil && i < len(*s) {
		return (*s)[i]
	}
	helpers.mu.Lock()
	defer helpers.mu.Unlock()
	var slots []*helperSlot
	if s := helpers.slots.Load(); s != nil {
		slots = *s
	}
	for len(slots) <= i {
		h := &helperSlot{wake: make(chan struct{}, 1), exited: make(chan struct{})}
		slots = append(slots[:len(slots):len(slots)], h)
		go h.loop(len(slots))
	}
	helpers.slots.Store(&slots)
	return slots[i]
}

// StopHelpers ends the helper goroutines of the fast path, which every cpu
// backend shares, and returns when they have stopped. A part a helper is
// running finishes first; a call running meanwhile does the parts of
// stopped helpers itself; a later call starts new helpers. Programs that
// embed Suture call it when they are done predicting, so that no goroutine
// is left behind.
func StopHelpers() {
	helpers.mu.Lock()
	old := helpers.slots.Swap(nil)
	helpers.mu.Unlock()
	if old == nil {
		return
	}
	for _, h := range *old {
		for !h.state.CompareAndSwap(slotIdle, slotClaimed) {
			runtime.Gosched() // running a part; it goes idle when done
		}
		h.call = partCall{} // no task: stop
		h.state.Store(slotPosted)
		select {
		case h.wake <- struct{}{}:
		default:
		}
		<-h.exited
	}
}

// loop runs posted parts; between them it polls for spinFor, then sleeps,
// unless the goroutines that would poll (the caller and helpers 1..index)
// outnumber GOMAXPROCS, where polling would take a core from the others.
func (h *helperSlot) loop(index int) {
	for {
		if h.state.Load() != slotPosted && !h.poll(index) {
			h.sleeping.Store(true)
			if h.state.Load() != slotPosted { // a caller posting now sees sleeping and wakes us
				<-h.wake
			}
			h.sleeping.Store(false)
			continue
		}
		c := h.call
		h.call = partCall{}
		if c.t == nil { // StopHelpers: the slot stays posted, so no caller claims it again
			close(h.exited)
			return
		}
		runTraced(c.tr, c.t, index, c.part, c.parts)
		h.state.Store(slotIdle)
		c.done.left.Add(-1)
		c.done.wg.Done()
	}
}

// poll waits up to spinFor for a posted call; false when none came.
func (h *helperSlot) poll(index int) bool {
	if runtime.GOMAXPROCS(0) <= index {
		return false
	}
	return spinUntil(func() bool { return h.state.Load() == slotPosted })
}

// spinUntil polls done for up to spinFor, yielding every 64 polls, and
// reports whether it became true.
func spinUntil(done func() bool) bool {
	start := time.Now()
	for i := 1; ; i++ {
		if done() {
			return true
		}
		if i%64 == 0 {
			if time.Since(start) > spinFor {
				return false
			}
			runtime.Gosched()
		}
	}
}

// runParts runs t's parts 0..parts-1 concurrently and returns when all are
// done; done is owned by the caller's (pooled) task value. A helper still
// busy with another caller's part is not waited for: its part runs here.
func runParts(t task, parts int, done *partsDone) {
	if parts <= 1 {
		t.runPart(0, 1)
		return
	}
	tr := partTracer.Load()
	done.left.Store(int32(parts - 1))
	done.wg.Add(parts - 1)
	for i := 1; i < parts; i++ {
		h := helper(i - 1)
		if !h.state.CompareAndSwap(slotIdle, slotClaimed) {
			runTraced(tr, t, 0, i, parts)
			done.left.Add(-1)
			done.wg.Done()
			continue
		}
		h.call = partCall{t: t, part: i, parts: parts, done: done, tr: tr}
		h.state.Store(slotPosted)
		if h.sleeping.Load() {
			select {
			case h.wake <- struct{}{}:
			default:
			}
		}
	}
	runTraced(tr, t, 0, 0, parts)
	if runtime.GOMAXPROCS(0) >= parts {
		spinUntil(func() bool { return done.left.Load() == 0 })
	}
	done.wg.Wait()
}

// partRange is part i of [0, n) cut into parts nearly equal ranges whose
// bounds are multiples of unit (except n itself).
func partRange(n, unit, part, parts int) (lo, hi int) {
	units := (n + unit - 1) / unit
	lo = min(n, units*part/parts*unit)
	hi = min(n, units*(part+1)/parts*unit)
	return lo, hi
}
