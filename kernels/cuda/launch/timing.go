package launch

import (
	"fmt"
	"sort"
	"time"
)

// Timing summarises repeated device timings of one operation.
type Timing struct {
	Median, Min, Max time.Duration
	Repeats          int
}

// Time measures fn on the device: warmup untimed runs, then repeats runs,
// each between two events recorded in the launch stream (CUDA events on a
// GPU), with the L2 cache flushed before each timed run by overwriting a
// buffer twice its size, so every run starts from DRAM as in a training
// step. It returns the median, minimum and maximum.
func (b *Backend) Time(fn func() error, warmup, repeats int) (Timing, error) {
	if repeats < 1 || warmup < 0 {
		return Timing{}, fmt.Errorf("%s: time: %d warm-up runs and %d repeats, want >= 0 and >= 1", b.name, warmup, repeats)
	}
	flush, err := b.scratch("time", int64(2*max(b.drv.L2Bytes(), 1<<20)))
	if err != nil {
		return Timing{}, err
	}
	defer b.pool.put(flush)
	for i := 0; i < warmup; i++ {
		if err := fn(); err != nil {
			return Timing{}, err
		}
	}
	times := make([]time.Duration, repeats)
	for i := range times {
		if err := b.drv.Memset(flush.ptr, flush.bytes); err != nil {
			return Timing{}, err
		}
		d, err := b.timeOnce(fn)
		if err != nil {
			return Timing{}, err
		}
		times[i] = d
	}
	if err := b.Synchronize(); err != nil {
		return Timing{}, err
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return Timing{Median: times[repeats/2], Min: times[0], Max: times[repeats-1], Repeats: repeats}, nil
}

func (b *Backend) timeOnce(fn func() error) (time.Duration, error) {
	start, err := b.drv.Record()
	if err != nil {
		return 0, err
	}
	defer start.Close()
	if err := fn(); err != nil {
		return 0, err
	}
	end, err := b.drv.Record()
	if err != nil {
		return 0, err
	}
	defer end.Close()
	return end.Since(start)
}
