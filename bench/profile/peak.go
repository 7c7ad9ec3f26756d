package profile

import (
	"time"

	"suture/kernels"
)

// peakTime is how long MachinePeak measures.
const peakTime = 300 * time.Millisecond

// MachinePeak measures the peak for the %peak column of a profile of b
// with threads threads: the rate and note of kernels.PeakReporter (the CPU
// backends: the best FP32 rate of the machine's units), or 0 and "" for a
// backend that reports none (device backends).
func MachinePeak(b kernels.Backend, threads int) (gflops float64, note string) {
	r, ok := b.(kernels.PeakReporter)
	if !ok {
		return 0, ""
	}
	return r.MachinePeak(threads, peakTime)
}
