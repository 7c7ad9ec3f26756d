package cpu

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"suture/kernels"
	"suture/tensor"
)

// winogradCases are 3x3 stride-1 convs around the Winograd path's cutoffs:
// single tiles and odd output sizes (clipped tiles), pads 0 to 2 (2 makes
// backward-data's padding 0), output and input channels around the 6-row
// panels and the 128-channel chunks (backward-data sums over Co), and tile
// counts around the 16-tile panels and the blocks (64 tiles for <= 64
// channels, 32 for 128).
func winogradCases() []convCase {
	return []convCase{
		{1, 1, 1, 1, 1, 3, 3, 1, 1, 1, 1},
		{2, 3, 5, 7, 9, 3, 3, 1, 1, 1, 1},
		{1, 5, 7, 2, 3, 3, 3, 1, 1, 2, 2},
		{1, 4, 6, 5, 4, 3, 3, 1, 1, 0, 0},
		{1, 8, 9, 10, 11, 3, 3, 1, 1, 0, 2},
		{1, 6, 8, 9, 8, 3, 3, 1, 1, 2, 1},
		{2, 6, 6, 16, 16, 3, 3, 1, 1, 1, 1},
		{1, 13, 7, 18, 14, 3, 3, 1, 1, 1, 1},
		{3, 7, 13, 17, 17, 3, 3, 1, 1, 1, 1},
		{2, 20, 12, 33, 31, 3, 3, 1, 1, 1, 1},
		{1, 127, 5, 4, 4, 3, 3, 1, 1, 1, 1},
		{1, 128, 7, 4, 5, 3, 3, 1, 1, 1, 1},
		{2, 129, 6, 5, 3, 3, 3, 1, 1, 1, 1},
		{1, 5, 129, 4, 4, 3, 3, 1, 1, 1, 1},
		{1, 130, 131, 6, 6, 3, 3, 1, 1, 1, 1},
		{1, 64, 64, 17, 16, 3, 3, 1, 1, 1, 1},
		{1, 128, 24, 15, 17, 3, 3, 1, 1, 1, 1},
		// Narrow planes: tile rows shorter than 8 tiles (the short runs of
		// the vector transforms), runs crossing the 16-tile panels.
		{1, 13, 17, 8, 8, 3, 3, 1, 1, 1, 1},
		{3, 25, 7, 8, 8, 3, 3, 1, 1, 1, 1},
		{5, 130, 20, 8, 8, 3, 3, 1, 1, 1, 1},
		{3, 7, 11, 6, 6, 3, 3, 1, 1, 1, 1},
		{1, 9, 14, 10, 10, 3, 3, 1, 1, 1, 1},
		{3, 17, 5, 10, 10, 3, 3, 1, 1, 0, 2},
		{5, 6, 12, 4, 4, 3, 3, 1, 1, 1, 1},
		{3, 11, 19, 7, 9, 3, 3, 1, 1, 1, 1},
		{1, 33, 15, 11, 13, 3, 3, 1, 1, 1, 1},
		{5, 20, 21, 12, 12, 3, 3, 1, 1, 2, 2},
		{3, 129, 131, 8, 8, 3, 3, 1, 1, 1, 1},
		{1, 40, 40, 20, 22, 3, 3, 1, 1, 1, 1},
	}
}

// TestWinogradMatchesReference runs every Winograd case through the public
// conv entry points with the Winograd path forced on, against the plain
// reference: both micro-kernel sets, 1 to 3 goroutines.
func TestWinogradMatchesReference(t *testing.T) {
	defer func(saved bool) { winoAlways = saved }(winoAlways)
	winoAlways = true
	withKernels(t, func(t *testing.T) {
		g := tensor.NewRNG(12)
		for _, threads := range []int{1, 2, 3} {
			fast := New(threads)
			for _, c := range winogradCases() {
				checkConvAgainstRef(t, fast, c, g)
			}
		}
	})
}

// TestWinogradDeterministic: the same bits for any thread count, forward
// and weight gradient.
func TestWinogradDeterministic(t *testing.T) {
	defer func(saved bool) { winoAlways = saved }(winoAlways)
	winoAlways = true
	for _, c := range []convCase{{3, 20, 12, 33, 31, 3, 3, 1, 1, 1, 1}, {5, 20, 13, 8, 8, 3, 3, 1, 1, 1, 1}, {3, 26, 19, 6, 10, 3, 3, 1, 1, 1, 1}} {
		winogradDeterministic(t, c)
	}
}

func winogradDeterministic(t *testing.T, c convCase) {
	g := tensor.NewRNG(13)
	x, w, bias := g.Rand(c.n, c.ci, c.h, c.w), g.Rand(c.co, c.ci, 3, 3), g.Rand(c.co)
	p := convParams(c)
	dy := g.Rand(c.n, c.co, c.h, c.w)
	var first, firstDW *tensor.Tensor
	for _, threads := range []int{1, 2, 3, 4} {
		y, dw := tensor.New(c.n, c.co, c.h, c.w), tensor.New(c.co, c.ci, 3, 3)
		must(t, New(threads).Conv2d(y, x, w, bias, p))
		must(t, New(threads).Conv2dBackwardFilter(dw, nil, dy, x, p))
		if first == nil {
			first, firstDW = y, dw
			continue
		}
		for i := range y.Data {
			if y.Data[i] != first.Data[i] {
				t.Fatalf("%d threads: y[%d] = %v, 1 thread: %v", threads, i, y.Data[i], first.Data[i])
			}
		}
		for i := range dw.Data {
			if dw.Data[i] != firstDW.Data[i] {
				t.Fatalf("%d threads: dw[%d] = %v, 1 thread: %v", threads, i, dw.Data[i], firstDW.Data[i])
			}
		}
	}
}

// TestWinogradWorth: the layers of the U-Nets' 3x3 stride-1 convs that take
// the Winograd path, and the ones that do not.
func TestWinogradWorth(t *testing.T) {
	for _, c := range []struct {
		k, m, ow int
		want     bool
	}{
		{32, 32, 128, true},
		{64, 32, 128, true},
		{512, 256, 16, true},
		{320, 320, 8, true},
		{320, 320, 4, true},
		{24, 24, 128, true},
		{16, 24, 128, false}, // transforms outweigh the GEMMs
		{3, 32, 128, false},
		// The evaluation plan's U-Net (16-32-64-128, 64x64, batch 8, one
		// thread; same-process A/B, shared machine): at 16x16 Winograd took
		// 1.15x the direct path's time forward and backward-data; 32->16
		// forward 1.05x, backward-data (k 16, m 32) level warm and 1.06x
		// with cold caches.
		{16, 16, 64, false},
		{32, 16, 64, false},
		{16, 32, 64, false},
	} {
		if got := winogradWorth(c.k, c.m, c.ow); got != c.want {
			t.Errorf("winogradWorth(%d, %d, %d) = %v, want %v", c.k, c.m, c.ow, got, c.want)
		}
	}
}

// TestWinoFilterWorth: the weight gradients that take the Winograd path.
// The small U-Net's layers keep the direct dot products (one thread, batch
// 8, same-process A/B on a shared machine): 16x16 at 64x64 Winograd took
// 1.19x the time, 32->16 at 64x64 level, 32x32 at 32x32 0.95-0.97x with
// warm caches but 1.11x with caches flushed between calls, and slower at
// two threads too (a loaded machine): none was faster at both thread counts.
func TestWinoFilterWorth(t *testing.T) {
	for _, c := range []struct {
		ci, co, ow int
		bf16, want bool
	}{
		{48, 24, 128, false, true},
		{64, 32, 32, false, true},
		{64, 32, 32, true, false}, // BF16 keeps the direct dot kernels
		{32, 32, 32, false, false},
		{32, 16, 64, false, false},
		{16, 16, 64, false, false},
		{3, 16, 64, false, false},
		{128, 128, 4, false, true},
	} {
		if got := winoFilterWorth(c.ci, c.co, c.ow, c.bf16); got != c.want {
			t.Errorf("winoFilterWorth(%d, %d, %d, %v) = %v, want %v", c.ci, c.co, c.ow, c.bf16, got, c.want)
		}
	}
}

func convParams(c convCase) kernels.ConvParams {
	return kernels.ConvParams{StrideH: c.sh, StrideW: c.sw, PadH: c.ph, PadW: c.pw}
}

// BenchmarkConv3x3Algo: conv3x3algo/CixCoxHxW/{fwd,bwddata,bwdfilter,bwdfilter-bf16}/{direct,winograd}[-oldorder,-8lane,-f2,-nopairs]
// on the 3x3 stride-1 layers of the stitch benchmark's two U-Nets (features
// 32..320 and 24..256, 128x128 input), batch 4, GFLOP/s counted as the
// direct sum's 2*9*Ci*Co*H*W per sample for both algorithms.
func BenchmarkConv3x3Algo(b *testing.B) {
	if v := os.Getenv("WFT"); v != "" {
		wfMaxTiles, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("WFB"); v != "" {
		wfBlockFloats, _ = strconv.Atoi(v)
	}
	// W4KC, W4BF: F(4x4, 3x3)'s channels per chunk and block floats; W4MIN,
	// W4FMIN below.
	if v := os.Getenv("W4KC"); v != "" {
		wino4KC, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("W4BF"); v != "" {
		wino4BlockFloats, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("W4MIN"); v != "" { // F(4x4)'s least output width, forward and backward-data
		saved := wino4MinWidth
		wino4MinWidth, _ = strconv.Atoi(v)
		defer func() { wino4MinWidth = saved }()
	}
	if v := os.Getenv("W4FMIN"); v != "" { // and backward-filter
		saved := wino4FilterMinWidth
		wino4FilterMinWidth, _ = strconv.Atoi(v)
		defer func() { wino4FilterMinWidth = saved }()
	}
	saved := useWinograd
	defer func() { useWinograd, winoAlways = saved, false }()
	shapes := [][4]int{
		{32, 32, 128, 128}, {64, 32, 128, 128}, {64, 64, 64, 64}, {128, 64, 64, 64},
		{128, 128, 32, 32}, {256, 128, 32, 32}, {256, 256, 16, 16}, {512, 256, 16, 16}, {320, 320, 8, 8},
		{24, 24, 128, 128}, {48, 24, 128, 128}, {48, 48, 64, 64}, {96, 48, 64, 64},
		{96, 96, 32, 32}, {192, 96, 32, 32}, {192, 192, 16, 16}, {384, 192, 16, 16}, {256, 256, 8, 8},
	}
	batch := 4
	// C3ALGO=CixCoxHxW,... and C3N=batch replace the layers (other networks).
	if v := os.Getenv("C3ALGO"); v != "" {
		shapes = nil
		for _, f := range strings.Split(v, ",") {
			var s [4]int
			if _, err := fmt.Sscanf(f, "%dx%dx%dx%d", &s[0], &s[1], &s[2], &s[3]); err != nil {
				b.Fatalf("C3ALGO: %q: want CixCoxHxW", f)
			}
			shapes = append(shapes, s)
		}
	}
	if v := os.Getenv("C3N"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("C3N: %q: want a batch >= 1", v)
		} else {
			batch = n
		}
	}
	for _, s := range shapes {
		c := convBench{ci: s[0], co: s[1], h: s[2], w: s[3], n: batch, k: 3}
		cb := newConvPassBench(c, 1)
		passes := []string{"fwd", "bwddata", "bwdfilter"}
		if HasBF16() && useBF16Asm() {
			passes = append(passes, "bwdfilter-bf16")
		}
		for _, pass := range passes {
			for _, algo := range []string{"direct", "winograd", "winograd-narrowoff", "direct-oldorder", "winograd-oldorder", "winograd-8lane", "winograd-f2", "winograd-nopairs"} {
				b.Run(fmt.Sprintf("%dx%dx%dx%d/%s/%s", c.ci, c.co, c.h, c.w, pass, algo), func(b *testing.B) {
					wino := !strings.HasPrefix(algo, "direct")
					// "direct" runs the direct sums (S1IM set: gemm+im2col where
					// im2colFilterS1 picks it; unset, never).
					im2colFilterS1 = os.Getenv("S1IM") != "" && algo == "direct"
					defer func() { im2colFilterS1 = true }()
					useWinograd, winoAlways, winoNarrow = wino, wino, algo != "winograd-narrowoff"
					// -oldorder: the weight gradient's transforms and dot
					// sums in the orders before wfRows and dotRowsOuter.
					old := strings.HasSuffix(algo, "-oldorder")
					wfRows, dotRowsOuter = !old, !old
					winoZ = algo != "winograd-8lane" // the 8-lane transforms only
					useWino4 = algo != "winograd-f2" // F(2x2, 3x3) only
					wino4Pairs = algo != "winograd-nopairs"
					defer func() {
						winoNarrow, wfRows, dotRowsOuter, winoZ, useWino4, wino4Pairs = true, true, true, true, true, true
					}()
					cb.be.bf16 = pass == "bwdfilter-bf16"
					defer func() { cb.be.bf16 = false }()
					loop(b, c.fwdFlops(), func() { cb.run(b, strings.TrimSuffix(pass, "-bf16")) })
				})
			}
		}
	}
}

// BenchmarkWinogradWeights: the weight transform alone, winoweights/MxK.
func BenchmarkWinogradWeights(b *testing.B) {
	for _, s := range [][2]int{{32, 32}, {256, 512}, {320, 320}} {
		m, k := s[0], s[1]
		w := tensor.NewRNG(4).Rand(m, k, 3, 3).Data
		up := make([]float32, 16*m6(m)*k)
		for _, tr := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dx%d/transposed=%v", m, k, tr), func(b *testing.B) {
				b.SetBytes(int64(4 * len(up)))
				for b.Loop() {
					winogradWeights(2, up, m, k, w, tr)
				}
			})
		}
	}
}

// TestWinogradAccuracy bounds the rounding error of the Winograd path
// against an exact (float64) sum, compared with the direct path's, on
// layers with 32 to 512 input channels: the transforms add a few roundings
// per product, so the error may grow by a small factor, not by orders of
// magnitude.
func TestWinogradAccuracy(t *testing.T) {
	defer func(w, a bool) { useWinograd, winoAlways = w, a }(useWinograd, winoAlways)
	g := tensor.NewRNG(15)
	for _, ci := range []int{32, 128, 512} {
		c := convCase{2, ci, 8, 12, 12, 3, 3, 1, 1, 1, 1}
		x, w := g.Rand(c.n, c.ci, c.h, c.w), g.Rand(c.co, c.ci, 3, 3)
		p := convParams(c)
		exact := make([]float64, c.n*c.co*c.h*c.w)
		scale := 0.0 // sum of |terms|: the natural size of a rounding error
		for n := 0; n < c.n; n++ {
			for co := 0; co < c.co; co++ {
				for oh := 0; oh < c.h; oh++ {
					for ow := 0; ow < c.w; ow++ {
						var acc, abs float64
						for k := 0; k < c.ci; k++ {
							for kh := 0; kh < 3; kh++ {
								for kw := 0; kw < 3; kw++ {
									ih, iw := oh-1+kh, ow-1+kw
									if ih < 0 || ih >= c.h || iw < 0 || iw >= c.w {
										continue
									}
									v := float64(x.Data[((n*c.ci+k)*c.h+ih)*c.w+iw]) * float64(w.Data[((co*c.ci+k)*3+kh)*3+kw])
									acc += v
									abs += math.Abs(v)
								}
							}
						}
						exact[((n*c.co+co)*c.h+oh)*c.w+ow] = acc
						scale = max(scale, abs)
					}
				}
			}
		}
		maxErr := func(winograd bool) float64 {
			useWinograd, winoAlways = winograd, winograd
			y := tensor.New(c.n, c.co, c.h, c.w)
			must(t, New(2).Conv2d(y, x, w, nil, p))
			e := 0.0
			for i, v := range y.Data {
				e = max(e, math.Abs(float64(v)-exact[i]))
			}
			return e / scale
		}
		direct, wino := maxErr(false), maxErr(true)
		t.Logf("Ci %d: max error / sum|terms|: direct %.2e, Winograd %.2e", ci, direct, wino)
		if wino > 8*direct+1e-7 {
			t.Errorf("Ci %d: Winograd error %.2e, more than 8x the direct path's %.2e", ci, wino, direct)
		}
	}
}

// TestWinogradWideTransforms: the 16-lane input and output transforms
// (winoZ, avx512 path) do lane for lane what the 8-lane kernels do, so the Winograd
// forward and backward-data must be the bits of the 8-lane code: at tile
// rows around 8 and 16 tiles (planes 14 to 66 wide: the output kernel
// needs 32 columns) and batch sizes whose blocks split rows.
func TestWinogradWideTransforms(t *testing.T) {
	if !avx512Available || !useAVX512 {
		t.Skip("no AVX-512 on this CPU: the 16-lane transforms do not run")
	}
	defer func(w, a, z, f4 bool) { useWinograd, winoAlways, winoZ, useWino4 = w, a, z, f4 }(useWinograd, winoAlways, winoZ, useWino4)
	useWinograd, winoAlways, useWino4 = true, true, false // F(2x2, 3x3) on both
	g := tensor.NewRNG(34)
	for _, c := range []convCase{{2, 5, 9, 14, 14, 3, 3, 1, 1, 1, 1}, {3, 8, 16, 9, 32, 3, 3, 1, 1, 1, 1}, {1, 17, 7, 5, 34, 3, 3, 1, 1, 1, 1}, {2, 4, 12, 6, 66, 3, 3, 1, 1, 1, 1}, {5, 3, 5, 20, 31, 3, 3, 1, 1, 0, 0}} {
		d := makeConvDims([]int{c.n, c.ci, c.h, c.w}, []int{c.co, c.ci, 3, 3}, convParams(c))
		x, w, bias := randSlice(g, c.n*c.ci*c.h*c.w), randSlice(g, c.co*c.ci*9), randSlice(g, c.co)
		dy, dx0 := randSlice(g, c.n*c.co*d.ho*d.wo), randSlice(g, len(x))
		run := func(wide bool) (y, dx []float32) {
			winoZ = wide
			be := New(2)
			// dx starts random: backward-data adds to it (the kernels'
			// accumulate).
			y, dx = make([]float32, c.n*c.co*d.ho*d.wo), append([]float32(nil), dx0...)
			be.conv2dFast(y, x, w, bias, d)
			be.conv2dBackwardDataFast(dx, dy, w, d)
			return y, dx
		}
		y16, dx16 := run(true)
		y8, dx8 := run(false)
		sameBits(t, fmt.Sprintf("%+v forward", c), y16, y8)
		sameBits(t, fmt.Sprintf("%+v backward-data", c), dx16, dx8)
	}
}
