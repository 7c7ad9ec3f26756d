package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"suture/bench/profile"
	"suture/kernels"
	"suture/kernels/cpu"
)

// profileFlag adds --cpuprofile to fs. The returned start begins the CPU
// profile when the flag was given and returns the function that ends it and
// closes the file (a no-op otherwise).
func profileFlag(fs *flag.FlagSet, what string) (start func() (stop func(), err error)) {
	path := fs.String("cpuprofile", "", "write a CPU profile of "+what+" to this file (go tool pprof)")
	return func() (func(), error) {
		if *path == "" {
			return func() {}, nil
		}
		f, err := os.Create(*path)
		if err != nil {
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		return func() {
			pprof.StopCPUProfile()
			f.Close()
		}, nil
	}
}

// runProfileFlag adds --profile DIR to a training command. The returned
// function wraps the command's backend: the trainer's first step is a
// warm-up, the next three are recorded, and their table, JSON rows, trace,
// CPU profile and runtime trace go to DIR (bench/profile.Run) while the run
// goes on. Without --profile but with --cpuprofile, every step runs under
// pprof labels (op, vertex, phase). It returns the backend to build on and
// the function that ends the profile (call it when the run ends; it reports
// on stderr).
func runProfileFlag(fs *flag.FlagSet) func(b kernels.Backend) (kernels.Backend, func(), error) {
	dir := fs.String("profile", "", "profile three training steps (after one warm-up step) into this folder: profile.txt, profile.jsonl, trace.json, cpu.pprof, go.trace")
	return func(b kernels.Backend) (kernels.Backend, func(), error) {
		if *dir == "" {
			if f := fs.Lookup("cpuprofile"); f != nil && f.Value.String() != "" {
				// Every step under labels op, vertex and phase, for
				// go tool pprof -tagfocus on the --cpuprofile output.
				return profile.New(b, profile.Options{Labels: true}), func() {}, nil
			}
			return b, func() {}, nil
		}
		peak, note := machinePeak(b, runtime.GOMAXPROCS(0))
		r, err := profile.StartRun(b, *dir, profile.RunOptions{PeakGFLOPS: peak, PeakNote: note,
			Notify: func(s string) { fmt.Fprintln(notices, "suture:", s) }})
		if err != nil {
			return nil, nil, fmt.Errorf("--profile: %w", err)
		}
		return r.Backend(), func() { r.Close() }, nil
	}
}

// machinePeak measures the CPU's peak for the profiles' %peak column (0
// for device backends): the best FP32 rate of the machine's units, with
// the other rates, the CPU and the path in the note.
func machinePeak(b kernels.Backend, threads int) (float64, string) {
	if !strings.HasPrefix(b.Name(), "cpu") {
		return 0, ""
	}
	const d = 300 * time.Millisecond
	peaks := cpu.MeasurePeaks(threads, d)
	return peaks.FP32(), fmt.Sprintf("measured: the best FP32 FMA rate of the units; %s; the best of %d samples of %v each; CPU %s, path %s",
		peaks, cpu.PeakSamples, d/cpu.PeakSamples, cpu.CPUModel(), cpu.CurrentISA())
}
