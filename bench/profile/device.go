package profile

import (
	"fmt"
	"time"

	"suture/kernels"
)

// deviceTimer times the device's kernels on backends that offer it
// (kernels.LaunchTimer: two events around every launch of a recorded step)
// and waits for the device at the end of a step (kernels.Syncer).
type deviceTimer struct {
	timer  kernels.LaunchTimer // nil: the backend times no kernels
	syncer kernels.Syncer      // nil: the backend's ops are done when they return

	stepEvent kernels.Event   // the recorded step's first event
	launches  []launchRecord  // the recorded step's launches
	kernels   map[string]*acc // device time per kernel name
	err       error           // the first failure to read the device's clock
	// lastEnd is where the last kernel placed ends on the trace's clock;
	// shift moves the current step's kernels (place).
	lastEnd, shift int64
}

type launchRecord struct {
	kernel     string
	key        rowKey
	event      int32 // the op's trace event, -1 if none
	start, end kernels.Event
	// Resolved at EndStep: device offsets from the step's first event.
	t0, t1 int64
}

func (d *deviceTimer) init(b kernels.Backend) {
	d.timer, _ = b.(kernels.LaunchTimer)
	d.syncer, _ = b.(kernels.Syncer)
	d.kernels = map[string]*acc{}
}

// timed reports whether the backend times its kernels.
func (d *deviceTimer) timed() bool { return d.timer != nil }

// beginStep makes o observe the step's launches and records the step's
// first event.
func (d *deviceTimer) beginStep(o kernels.LaunchObserver) {
	if d.timer == nil {
		return
	}
	d.timer.SetLaunchObserver(o)
	if ev, err := d.timer.RecordEvent(); err != nil {
		d.err = fmt.Errorf("profile: step event: %w", err)
	} else {
		d.stepEvent = ev
	}
}

// sync waits for the device at the end of a step.
func (d *deviceTimer) sync() {
	if d.syncer == nil {
		return
	}
	if err := d.syncer.Synchronize(); err != nil && d.err == nil {
		d.err = fmt.Errorf("profile: synchronize at the end of a step: %w", err)
	}
}

// place returns the trace's start and end of a kernel that started at t0
// (the step's start on the trace's clock plus its offset from the step's
// first event) and ran dur; first: the step's first kernel. The step's
// first event and the step's start are read a moment apart (more when the
// thread is preempted between the two), so a step's kernels may land up to
// that moment early or late. The kernels of one stream run one after
// another: a step whose first kernel lands before the end of the previous
// step's last one is moved, all of it, to start there (durations and gaps
// kept).
func (d *deviceTimer) place(t0, dur int64, first bool) (int64, int64) {
	if first {
		d.shift = max(0, d.lastEnd-t0)
	}
	t0 += d.shift
	d.lastEnd = max(d.lastEnd, t0+dur)
	return t0, t0 + dur
}

// launched records a launch of the step.
func (d *deviceTimer) launched(l launchRecord) { d.launches = append(d.launches, l) }

// endStep stops observing and reads the kernel events of the step (the
// device is idle: sync waited for it) into the rows (row is a row's
// accumulator; stepStart the step's start on the profiler's clock) and
// the kernel table. It returns the step's launches, valid until the next
// step's first launch.
func (d *deviceTimer) endStep(stepStart int64, row func(rowKey) *acc) []launchRecord {
	d.timer.SetLaunchObserver(nil)
	for i := range d.launches {
		l := &d.launches[i]
		dur, err := l.end.Since(l.start)
		if err == nil && d.stepEvent != nil {
			var t0 time.Duration
			if t0, err = l.start.Since(d.stepEvent); err == nil {
				l.t0, l.t1 = d.place(stepStart+int64(t0), int64(dur), i == 0)
			}
		}
		if err != nil && d.err == nil {
			d.err = fmt.Errorf("profile: kernel %s: %w", l.kernel, err)
		}
		row(l.key).device += int64(dur)
		k := d.kernels[l.kernel]
		if k == nil {
			k = &acc{}
			d.kernels[l.kernel] = k
		}
		k.calls++
		k.device += int64(dur)
		l.start.Close()
		l.end.Close()
		l.start, l.end = nil, nil
	}
	if d.stepEvent != nil {
		d.stepEvent.Close()
		d.stepEvent = nil
	}
	ls := d.launches
	d.launches = d.launches[:0]
	return ls
}
