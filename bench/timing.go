package bench

import (
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"suture/internal/stats"
)

// Timing is how a measurement went.
type Timing struct {
	MedianS, MinS, MaxS float64
	Samples             []float64 // seconds per call, every sample taken
	Inner               int       // calls per sample
	Clean, Rejected     int
	// Contaminated is set when fewer than 3 samples were clean; the figures
	// then use every sample.
	Contaminated bool
}

// Options tune Measure; the zero value gives the torch script's defaults.
type Options struct {
	Warmup     int           // calls before timing (3)
	Reps       int           // clean samples wanted (7)
	MinSample  time.Duration // minimum length of a sample (0.2 s)
	MaxTime    time.Duration // soft cap on timed time (60 s; at least 3 samples)
	QuietLimit float64       // reject a sample if others used more than this fraction of all CPUs beyond the idle share (0.08)
	// PeakGFLOPS is the FP32 rate peak_frac divides by on a host backend:
	// the machine's measured peak (cpu.MeasurePeaks). 0: the nominal
	// AVX2 clock peak of PeakGFLOPS.
	PeakGFLOPS float64
	// ISA is the instruction-set path the host backend runs (cpu.CurrentISA),
	// written into each result.
	ISA string
	// Precision is the backend's arithmetic (kernels.Precision), written
	// into each result.
	Precision string
}

func (o Options) withDefaults() Options {
	if o.Warmup == 0 {
		o.Warmup = 3
	}
	if o.Reps == 0 {
		o.Reps = 7
	}
	if o.MinSample == 0 {
		o.MinSample = 200 * time.Millisecond
	}
	if o.MaxTime == 0 {
		o.MaxTime = 60 * time.Second
	}
	if o.QuietLimit == 0 {
		o.QuietLimit = 0.08
	}
	return o
}

// Measure times fn: warm-up calls, then samples that each loop fn long
// enough to last MinSample, until Reps samples were taken while the rest of
// the machine was quiet. threads is how many cores fn uses (to know the idle
// share others may use without disturbing it).
func Measure(fn func() error, threads int, o Options) (Timing, error) {
	o = o.withDefaults()
	var last time.Duration
	for i := 0; i < o.Warmup; i++ {
		t0 := time.Now()
		if err := fn(); err != nil {
			return Timing{}, err
		}
		last = time.Since(t0)
	}
	inner := max(1, int(o.MinSample/max(last, time.Microsecond)))
	if o.MinSample == 0 {
		inner = 1
	}
	ncpu := runtime.NumCPU()
	idle := float64(max(0, ncpu-threads)) / float64(ncpu)
	var t Timing
	t.Inner = inner
	var clean []float64
	start := time.Now()
	for len(clean) < o.Reps {
		b0, s0 := busyTicks(), selfTicks()
		t0 := time.Now()
		for i := 0; i < inner; i++ {
			if err := fn(); err != nil {
				return Timing{}, err
			}
		}
		dt := time.Since(t0).Seconds()
		b1, s1 := busyTicks(), selfTicks()
		other := max(0, float64((b1-b0)-(s1-s0))/clkTck) / (dt * float64(ncpu))
		per := dt / float64(inner)
		t.Samples = append(t.Samples, per)
		if b0 < 0 || other <= o.QuietLimit+idle {
			clean = append(clean, per)
		} else {
			t.Rejected++
		}
		if time.Since(start) > o.MaxTime && len(t.Samples) >= 3 {
			break
		}
		if len(t.Samples) >= 3*o.Reps {
			break
		}
	}
	t.Clean = len(clean)
	use := clean
	if len(clean) < 3 {
		t.Contaminated, use = true, t.Samples
	}
	s := append([]float64(nil), use...)
	sort.Float64s(s)
	t.MedianS, t.MinS, t.MaxS = stats.Median(s), s[0], s[len(s)-1]
	return t, nil
}

// clkTck is USER_HZ, 100 on Linux for every architecture Go supports.
const clkTck = 100

// busyTicks is the machine's busy time from /proc/stat (-1 when unreadable).
func busyTicks() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return -1
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		if i < len(f) {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			busy += v
		}
	}
	return busy
}

// selfTicks is this process's user+system time from /proc/self/stat.
func selfTicks() int64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}
