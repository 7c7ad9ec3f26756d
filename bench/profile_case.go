package bench

import (
	"fmt"
	"runtime"
	"slices"

	"suture/bench/profile"
	"suture/internal/stats"
	"suture/kernels"
)

// Profile sets case c up on a profile.Profiler around b, runs o.Warmup
// unrecorded and o.Steps recorded steps, each between BeginStep and
// EndStep, on threads cores, and returns the report. before, when set, is
// called after the setup, before the first step.
func Profile(c Case, b kernels.Backend, threads int, o profile.Options, before func() error) (*profile.Report, error) {
	if o.Steps < 1 || o.Warmup < 0 {
		return nil, fmt.Errorf("profile %s: %d warm-up and %d recorded steps, want >= 0 and >= 1", c.Name, o.Warmup, o.Steps)
	}
	prev := runtime.GOMAXPROCS(threads)
	defer runtime.GOMAXPROCS(prev)
	p := profile.New(b, o)
	run, _, err := c.Setup(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	if before != nil {
		if err := before(); err != nil {
			return nil, err
		}
	}
	for i := 0; !p.Done(); i++ {
		p.BeginStep()
		err := run()
		p.EndStep()
		if err != nil {
			return nil, fmt.Errorf("%s step %d: %w", c.Name, i+1, err)
		}
	}
	return p.Report(), nil
}

// Overhead compares a case's step time plain and under a recording
// Profiler (table only, or table and trace).
type Overhead struct {
	Case string
	// PlainMS, TableMS and TraceMS are the medians of each round's
	// Measure median, in the order the rounds ran.
	PlainMS, TableMS, TraceMS []float64
	// Table and Trace are median(profiled) / median(plain).
	Table, Trace float64
}

// ProfileOverhead sets case c up three times on b (plain, profiled without
// a trace, profiled with one; every step recorded) and measures the three
// steps in turn, rounds times, with Measure's method (warm-up, samples of at
// least o.MinSample, median, busy samples rejected).
func ProfileOverhead(c Case, b kernels.Backend, threads, rounds int, o Options) (Overhead, error) {
	prev := runtime.GOMAXPROCS(threads)
	defer runtime.GOMAXPROCS(prev)
	res := Overhead{Case: c.Name}
	plain, _, err := c.Setup(b)
	if err != nil {
		return res, fmt.Errorf("%s: %w", c.Name, err)
	}
	stepped := func(trace bool) (func() error, error) {
		p := profile.New(b, profile.Options{Trace: trace})
		run, _, err := c.Setup(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		return func() error {
			p.BeginStep()
			err := run()
			p.EndStep()
			return err
		}, nil
	}
	table, err := stepped(false)
	if err != nil {
		return res, err
	}
	traced, err := stepped(true)
	if err != nil {
		return res, err
	}
	ms := []struct {
		fn  func() error
		dst *[]float64
	}{{plain, &res.PlainMS}, {table, &res.TableMS}, {traced, &res.TraceMS}}
	for r := range max(rounds, 1) {
		// Each round starts with the next variant, so that none of them is
		// always measured first.
		for i := range ms {
			m := ms[(r+i)%len(ms)]
			t, err := Measure(m.fn, threads, o)
			if err != nil {
				return res, fmt.Errorf("%s: %w", c.Name, err)
			}
			*m.dst = append(*m.dst, t.MedianS*1e3)
		}
	}
	med := func(xs []float64) float64 { return stats.Median(slices.Clone(xs)) }
	res.Table = med(res.TableMS) / med(res.PlainMS)
	res.Trace = med(res.TraceMS) / med(res.PlainMS)
	return res, nil
}
