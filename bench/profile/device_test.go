package profile

import (
	"testing"
	"time"

	"suture/kernels"
)

// fakeEvent is a device event at a fixed time (nanoseconds).
type fakeEvent int64

func (e fakeEvent) Since(start kernels.Event) (time.Duration, error) {
	return time.Duration(int64(e) - int64(start.(fakeEvent))), nil
}

func (fakeEvent) Close() error { return nil }

type fakeTimer struct{}

func (fakeTimer) SetLaunchObserver(kernels.LaunchObserver) {}
func (fakeTimer) RecordEvent() (kernels.Event, error)      { return fakeEvent(0), nil }

// TestDeviceStepsDoNotOverlap: a step whose start on the trace's clock was
// read late against its first event (a preempted thread) would place its
// first kernel inside the previous step's last one; it is placed after it,
// its duration kept, and the kernels of one step keep their gaps.
func TestDeviceStepsDoNotOverlap(t *testing.T) {
	d := &deviceTimer{timer: fakeTimer{}, kernels: map[string]*acc{}}
	step := func(stepStart int64, first fakeEvent, ks ...[2]int64) []launchRecord {
		d.stepEvent = first
		for _, k := range ks {
			d.launches = append(d.launches, launchRecord{kernel: "k", start: fakeEvent(k[0]), end: fakeEvent(k[1])})
		}
		var a acc
		ls := d.endStep(stepStart, func(rowKey) *acc { return &a })
		out := append([]launchRecord(nil), ls...)
		d.launches = d.launches[:0]
		return out
	}
	// Step 1 starts at 1000 on the trace's clock, its first event read at
	// device time 0 but the clock 30 later: its kernels land 30 late.
	s1 := step(1030, 0, [2]int64{10, 50}, [2]int64{60, 100})
	if s1[1].t1 != 1130 {
		t.Fatalf("step 1 ends at %d, want 1130", s1[1].t1)
	}
	// Step 2's first event at device time 110 (10 after step 1's last
	// kernel), its start read with no delay: 1110 on the trace's clock.
	s2 := step(1110, 110, [2]int64{110, 140}, [2]int64{150, 170})
	if s2[0].t0 != 1130 || s2[0].t1 != 1160 {
		t.Errorf("step 2's first kernel at %d-%d, want 1130-1160 (moved past step 1's end, 30 long)", s2[0].t0, s2[0].t1)
	}
	if s2[1].t0 != 1170 || s2[1].t1 != 1190 {
		t.Errorf("step 2's second kernel at %d-%d, want 1170-1190 (the same shift)", s2[1].t0, s2[1].t1)
	}
	if d.err != nil {
		t.Fatal(d.err)
	}
}
