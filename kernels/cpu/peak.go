package cpu

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"suture/kernels"
	"suture/tensor"
)

// Peaks are the machine's measured multiply-add rates, in GFLOP/s summed
// over the threads that ran at once: what the units can do (register-only
// loops of independent FMAs, one probe per instruction kind this CPU has)
// and what the fast path's GEMM micro-kernel reaches on L1-resident panels.
// A rate this CPU cannot run is 0.
type Peaks struct {
	Threads   int
	FMA256    float64 // AVX2 8-lane VFMADD231PS
	FMA512    float64 // AVX-512 16-lane VFMADD231PS
	BF16Dot   float64 // AVX512_BF16 VDPBF16PS (a product pair per lane: 4 flops)
	Kernel    float64 // the GEMM micro-kernel of the current path
	KernelISA ISA     // the path Kernel was measured on
}

// FP32 is the machine's FP32 peak: the best of its FMA probes (the kernel's
// rate where there is no probe, as off amd64).
func (p Peaks) FP32() float64 {
	if best := max(p.FMA256, p.FMA512); best > 0 {
		return best
	}
	return p.Kernel
}

// String is one line naming each rate.
func (p Peaks) String() string {
	var s []string
	add := func(name string, v float64) {
		if v > 0 {
			s = append(s, fmt.Sprintf("%s %.0f", name, v))
		}
	}
	add("AVX2 FMA", p.FMA256)
	add("AVX-512 FMA", p.FMA512)
	add("BF16 dot", p.BF16Dot)
	add(string(p.KernelISA)+" GEMM kernel", p.Kernel)
	return strings.Join(s, ", ") + fmt.Sprintf(" GFLOP/s (%d threads)", p.Threads)
}

// MeasurePeaks measures every rate of Peaks in threads goroutines at once,
// each for about d in PeakSamples samples, keeping the fastest sample (on a
// busy machine one sample reads low: a peak is the best the machine
// reached).
func MeasurePeaks(threads int, d time.Duration) Peaks {
	p := Peaks{Threads: max(threads, 1), KernelISA: CurrentISA()}
	best := func(f func(int, time.Duration) float64) float64 {
		v := 0.0
		for range PeakSamples {
			v = max(v, f(p.Threads, d/PeakSamples))
		}
		return v
	}
	if asmAvailable {
		p.FMA256 = best(probeRate(peakFMA256, 10*8*2))
	}
	if avx512Available {
		p.FMA512 = best(probeRate(peakFMA512, 10*16*2))
	}
	if bf16Available {
		p.BF16Dot = best(probeRate(peakDPBF16, 10*16*4))
	}
	p.Kernel = best(kernelRate)
	return p
}

// MeasurePeak is MeasurePeaks(threads, d).FP32(): the ceiling profiles and
// benchmarks compare FP32 ops with.
func MeasurePeak(threads int, d time.Duration) float64 {
	return MeasurePeaks(threads, d).FP32()
}

// PeakSamples is how many samples MeasurePeaks takes of each rate.
const PeakSamples = 5

var _ kernels.PeakReporter = (*Backend)(nil)

// MachinePeak implements kernels.PeakReporter: MeasurePeaks(threads,
// d).FP32(), with a note naming the units' rates, the samples, the CPU and
// the path.
func (b *Backend) MachinePeak(threads int, d time.Duration) (float64, string) {
	peaks := MeasurePeaks(threads, d)
	return peaks.FP32(), fmt.Sprintf("measured: the best FP32 FMA rate of the units; %s; the best of %d samples of %v each; CPU %s, path %s",
		peaks, PeakSamples, d/PeakSamples, CPUModel(), CurrentISA())
}

// concurrently runs body in threads goroutines at once for about d; body
// does one round and returns its flops. The result is the summed rate.
func concurrently(threads int, d time.Duration, setup func(i int) func() float64) float64 {
	rates := make([]float64, threads)
	var wg sync.WaitGroup
	for i := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			round := setup(i)
			flops := 0.0
			start := time.Now()
			for {
				flops += round()
				if el := time.Since(start); el >= d {
					rates[i] = flops / el.Seconds() / 1e9
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

// probeRate turns a register probe (n rounds of flopsPerRound) into a rate.
func probeRate(probe func(n int), flopsPerRound float64) func(int, time.Duration) float64 {
	const n = 1 << 14
	return func(threads int, d time.Duration) float64 {
		return concurrently(threads, d, func(int) func() float64 {
			return func() float64 { probe(n); return flopsPerRound * n }
		})
	}
}

// kernelRate runs the current path's largest GEMM micro-kernel tile on
// L1-resident panels.
func kernelRate(threads int, d time.Duration) float64 {
	k := gemmKC
	return concurrently(threads, d, func(i int) func() float64 {
		g := tensor.NewRNG(uint64(i) + 1)
		a, b := g.Rand(2*gemmMR*k).Data, g.Rand(2*gemmNR*k).Data
		c := make([]float32, 4*gemmMR*gemmNR)
		a0, a1, b0, b1 := a[:gemmMR*k], a[gemmMR*k:], b[:gemmNR*k], b[gemmNR*k:]
		if useAVX512 && useAsm {
			return func() float64 {
				for range 32 {
					microGemmZ(2*gemmMR, k, a0, a1, b0, b1, c, 2*gemmNR, nil, false)
				}
				return 32 * 2 * float64(4*gemmMR*gemmNR*k)
			}
		}
		return func() float64 {
			for range 64 {
				microGemm(k, a0, b0, c, gemmNR, nil, false)
			}
			return 64 * 2 * float64(gemmMR*gemmNR*k)
		}
	})
}
