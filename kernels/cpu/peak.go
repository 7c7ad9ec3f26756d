package cpu

import (
	"sync"
	"time"

	"suture/tensor"
)

// MeasurePeak runs the 6x16 GEMM micro-kernel on L1-resident panels in
// threads goroutines at once for about d and returns their summed rate in
// GFLOP/s: the most the fast path's multiply-adds reach on this machine,
// the ceiling profiles compare ops with. It is a measurement: on a busy
// machine one sample reads low, so d is split into PeakSamples samples and
// the fastest is returned (a peak is the best the machine reached).
func MeasurePeak(threads int, d time.Duration) float64 {
	best := 0.0
	for range PeakSamples {
		best = max(best, measurePeakOnce(threads, d/PeakSamples))
	}
	return best
}

// PeakSamples is how many samples MeasurePeak takes.
const PeakSamples = 5

// measurePeakOnce is one sample of MeasurePeak: all threads at once for d.
func measurePeakOnce(threads int, d time.Duration) float64 {
	threads = max(threads, 1)
	k := gemmKC
	perCall := 2 * float64(gemmMR*gemmNR*k)
	rates := make([]float64, threads)
	var wg sync.WaitGroup
	for i := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := tensor.NewRNG(uint64(i) + 1)
			a, b, c := g.Rand(gemmMR*k).Data, g.Rand(gemmNR*k).Data, make([]float32, gemmMR*gemmNR)
			start := time.Now()
			calls := 0
			for {
				for range 64 {
					microGemm(k, a, b, c, gemmNR, nil, false)
				}
				calls += 64
				if el := time.Since(start); el >= d {
					rates[i] = perCall * float64(calls) / el.Seconds() / 1e9
					return
				}
			}
		}()
	}
	wg.Wait()
	var sum float64
	for _, r := range rates {
		sum += r
	}
	return sum
}
