package kernels

import (
	"sync"
	"time"
)

// Optional hooks for profilers (suture/bench/profile). A backend implements
// each interface below or not; a profiler asks with a type assertion and
// does without what a backend does not offer, so it needs no concrete
// backend package.

// Syncer is implemented by backends whose ops run asynchronously (on a
// device): Synchronize waits for every op launched so far and reports a
// failure. A profiler calls it before it reads the clock at the end of a
// step, so the step's time includes its kernels.
type Syncer interface {
	Synchronize() error
}

// Event is a recorded point of a device's launch stream.
type Event interface {
	// Since waits for the event and returns the device time from start to it.
	Since(start Event) (time.Duration, error)
	// Close releases the event.
	Close() error
}

// LaunchObserver is told about every kernel launch, for profilers.
type LaunchObserver interface {
	// Launched reports that kernel ran between events start and end,
	// recorded in the launch stream around it. The observer owns the
	// events and closes them.
	Launched(kernel string, start, end Event)
}

// LaunchTimer is implemented by backends that launch device kernels and can
// time them with events in their launch stream.
type LaunchTimer interface {
	// SetLaunchObserver makes o observe every launch from now on (nil:
	// none). While one is set, each launch records two events.
	SetLaunchObserver(o LaunchObserver)
	// RecordEvent marks the current point of the launch stream.
	RecordEvent() (Event, error)
}

// PeakReporter is implemented by backends that can measure the peak
// multiply-add rate of the machine they run on (a profile's %peak column).
type PeakReporter interface {
	// MachinePeak measures, with threads threads for about d, the best FP32
	// rate in GFLOP/s, and returns it with a note saying where it comes
	// from (the rates of the units, the processor, the code path).
	MachinePeak(threads int, d time.Duration) (gflops float64, note string)
}

// PartTracer observes the parts of a backend's parallel regions, for
// profilers (one track per worker, pprof labels on the helpers). Methods
// are called from several goroutines at once.
type PartTracer interface {
	// BeginPart is called on the goroutine about to run part of parts
	// parts: worker 0 is the goroutine that called the op, workers 1.. the
	// backend's helpers. Its result is passed to EndPart.
	BeginPart(worker, part, parts int) int64
	// EndPart is called on the same goroutine when the part is done.
	EndPart(worker int, begin int64)
}

var partTracing struct {
	mu  sync.Mutex
	set []func(PartTracer)
}

// RegisterPartTracing is called from init by a backend package whose ops
// run parallel regions, with the function that makes a PartTracer observe
// their parts (nil: none).
func RegisterPartTracing(set func(PartTracer)) {
	partTracing.mu.Lock()
	defer partTracing.mu.Unlock()
	partTracing.set = append(partTracing.set, set)
}

// SetPartTracer makes t observe every part of every parallel region of the
// backend packages that registered (RegisterPartTracing) from now on; nil
// stops it. Regions running while it is called may be observed or not.
func SetPartTracer(t PartTracer) {
	partTracing.mu.Lock()
	defer partTracing.mu.Unlock()
	for _, set := range partTracing.set {
		set(t)
	}
}
