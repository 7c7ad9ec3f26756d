package bench

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"time"

	"suture/kernels"
	"suture/kernels/cpu"
)

// peakTime is how long the peaks are measured for.
const peakTime = 300 * time.Millisecond

// Host is the CPU a benchmark's cases run on.
type Host struct {
	Peaks cpu.Peaks // measured on the benchmark's threads
	ISA   string    // the micro-kernel path; "" for the plain references (cpu-ref)
}

// MeasureHost measures the CPU's peaks on threads cores for backend b.
func MeasureHost(b kernels.Backend, threads int) Host {
	h := Host{Peaks: cpu.MeasurePeaks(threads, peakTime), ISA: string(cpu.CurrentISA())}
	if b.Name() == "cpu-ref" {
		h.ISA = "" // the plain references: no micro-kernel path
	}
	return h
}

// WriteHeader writes the lines above the benchmark's table: the machine
// (host, nil for a backend timed on its device) and the columns.
func WriteHeader(w io.Writer, b kernels.Backend, threads int, prec kernels.Precision, host *Host) {
	if host != nil {
		var isas []string
		for _, isa := range cpu.ISAs() {
			isas = append(isas, string(isa))
		}
		fmt.Fprintf(w, "CPU %s; %d threads, backend %s, path %s (paths here: %s), precision %s\n", cpu.CPUModel(), threads, b.Name(),
			cmp.Or(host.ISA, "-"), strings.Join(isas, ", "), prec)
		fmt.Fprintf(w, "peaks (measured): %s; peak column: the best FP32 one, %.0f GFLOP/s\n", host.Peaks, host.Peaks.FP32())
	} else {
		fmt.Fprintf(w, "backend %s, timed on the device (events in its stream, L2 flushed before each repeat)\n", b.Name())
	}
	fmt.Fprintln(w, TableHeader)
}
