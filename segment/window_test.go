package segment

import (
	"math"
	"path/filepath"
	"testing"

	"suture/kernels/cpu"
	"suture/tensor"
	"suture/unet"
)

// nnU-Net's own example (compute_steps_for_sliding_window's comment): an
// image of 110 with a tile of 64 and step 0.5 takes tiles at 0, 23 and 46.
// The other expectations are that function's results (numpy 1.24).
func TestSteps(t *testing.T) {
	for _, c := range []struct {
		n, tile int
		want    []int
	}{{110, 64, []int{0, 23, 46}}, {64, 64, []int{0}}, {40, 64, []int{0}}, {6, 4, []int{0, 2}}, {128, 64, []int{0, 32, 64}},
		{100, 32, []int{0, 14, 27, 41, 54, 68}}, {90, 20, []int{0, 10, 20, 30, 40, 50, 60, 70}}} {
		got := Steps(c.n, c.tile, 0.5)
		if len(got) != len(c.want) {
			t.Errorf("Steps(%d, %d) = %v, want %v", c.n, c.tile, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("Steps(%d, %d) = %v, want %v", c.n, c.tile, got, c.want)
				break
			}
		}
	}
}

// Values of nnU-Net's compute_gaussian (sigma_scale 1/8, value_scaling_factor
// 10) computed with scipy 1.10's gaussian_filter in float64:
//
//	tmp = np.zeros(ts); tmp[ts[0]//2, ts[1]//2] = 1
//	g = gaussian_filter(tmp, [i/8 for i in ts], 0, mode='constant', cval=0)
//	g /= g.max() / 10
func TestGaussianMatchesScipy(t *testing.T) {
	for _, c := range []struct {
		h, w int
		at   [][2]int
		want []float64
	}{
		{32, 48, [][2]int{{0, 0}, {16, 24}, {3, 5}, {31, 47}}, []float64{1.125351747192591e-06, 10, 0.0003379698742488329, 5.695198370766235e-06}},
		{5, 8, [][2]int{{0, 0}, {2, 4}, {3, 5}, {4, 7}}, []float64{2.00473234476427e-05, 10, 1.6863814726859552, 0.000663876176530778}},
	} {
		g := Gaussian(c.h, c.w)
		for i, p := range c.at {
			got := float64(g[p[0]*c.w+p[1]])
			if math.Abs(got-c.want[i]) > 1e-6*c.want[i] {
				t.Errorf("Gaussian(%d, %d)[%v] = %.10g, scipy %.10g", c.h, c.w, p, got, c.want[i])
			}
		}
	}
}

// A network that scales each pixel by a weight depending on its position
// is not mirror-invariant; the mirrored average is computed by hand.
func TestMirroringByHand(t *testing.T) {
	const h, w = 4, 4
	f := func(y, x int) float32 { return float32(10*(y+1) + (x + 1)) }
	net := func(x *tensor.Tensor) (*tensor.Tensor, error) {
		n, c := x.Shape[0], x.Shape[1]
		out := tensor.New(n, 2, h, w) // class 1 stays 0
		for i := 0; i < n; i++ {
			for y := 0; y < h; y++ {
				for xx := 0; xx < w; xx++ {
					out.Data[((i*2)*h+y)*w+xx] = x.Data[((i*c)*h+y)*w+xx] * f(y, xx)
				}
			}
		}
		return out, nil
	}
	x := tensor.NewRNG(3).Rand(1, h, w)
	o := WindowOptions{Patch: [2]int{h, w}, Step: 0.5, Gaussian: true}
	plain, err := SlidingWindow(net, x, o)
	if err != nil {
		t.Fatal(err)
	}
	o.MirrorAxes = []int{0, 1}
	mirrored, err := SlidingWindow(net, x, o)
	if err != nil {
		t.Fatal(err)
	}
	o.MirrorAxes = []int{1}
	onlyW, _ := SlidingWindow(net, x, o)
	for y := 0; y < h; y++ {
		for xx := 0; xx < w; xx++ {
			v := float64(x.Data[y*w+xx])
			// Flips along H and W average f over the four reflections:
			// 10*(y+1 + h-y)/2 + (x+1 + w-x)/2 = 10*(h+1)/2 + (w+1)/2 = 27.5.
			checks := []struct {
				name      string
				got, want float64
			}{
				{"no mirroring", float64(plain.Data[y*w+xx]), v * float64(f(y, xx))},
				{"mirroring H and W", float64(mirrored.Data[y*w+xx]), v * 27.5},
				{"mirroring W", float64(onlyW.Data[y*w+xx]), v * (10*float64(y+1) + 2.5)},
			}
			for _, c := range checks {
				if math.Abs(c.got-c.want) > 1e-5*math.Max(1, math.Abs(c.want)) {
					t.Errorf("%s at (%d, %d): %g, want %g", c.name, y, xx, c.got, c.want)
				}
			}
		}
	}
}

// Two overlapping tiles of (1, 4) over an image of (1, 6), each scoring a
// constant (its first input value): the output blends them by Gaussian
// weights, exp(-2 (i-2)^2) along the row (sigma 1/2, centre 2), by hand.
func TestGaussianBlendByHand(t *testing.T) {
	x, _ := tensor.FromData([]float32{3, 0, 7, 0, 0, 0}, 1, 1, 6) // tiles start at 0 and 2: constants 3 and 7
	net := func(x *tensor.Tensor) (*tensor.Tensor, error) {
		out := tensor.New(x.Shape[0], 1, 1, 4)
		for n := 0; n < x.Shape[0]; n++ {
			for i := 0; i < 4; i++ {
				out.Data[n*4+i] = x.Data[n*4] // each tile's first value
			}
		}
		return out, nil
	}
	got, err := SlidingWindow(net, x, WindowOptions{Patch: [2]int{1, 4}, Step: 0.5, Gaussian: true})
	if err != nil {
		t.Fatal(err)
	}
	g := func(i int) float64 { return math.Exp(-2 * float64((i-2)*(i-2))) }
	for j := 0; j < 6; j++ {
		var num, den float64
		if j < 4 {
			num, den = num+3*g(j), den+g(j)
		}
		if j >= 2 {
			num, den = num+7*g(j-2), den+g(j-2)
		}
		if want := num / den; math.Abs(float64(got.Data[j])-want) > 1e-5 {
			t.Errorf("column %d: %g, want %g", j, got.Data[j], want)
		}
	}
	// Uniform weights: the plain mean where tiles overlap.
	flat, _ := SlidingWindow(net, x, WindowOptions{Patch: [2]int{1, 4}, Step: 0.5})
	want := []float32{3, 3, 5, 5, 7, 7}
	for j := range want {
		if flat.Data[j] != want[j] {
			t.Errorf("uniform weights, column %d: %g, want %g", j, flat.Data[j], want[j])
		}
	}
}

// On an image the size of the patch the sliding window is the plain forward
// pass (one tile; the weights divide out), and with mirroring the mean of
// the forward passes of the four flipped images.
func TestPatchSizedWindowIsTheForwardPass(t *testing.T) {
	m, err := unet.ImportNNUNet(filepath.Join("..", "testdata", "nnunet", "Dataset991_TinyPlain", "nnUNetTrainer__nnUNetPlans__2d"), 0, "final", cpu.New(0))
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.NewRNG(5).Rand(3, 32, 32)
	sm := FromUNet(m)
	o := WindowOptions{Patch: [2]int{32, 32}, Step: 0.5, Gaussian: true}
	got, err := SlidingWindow(sm.scores, x, o)
	if err != nil {
		t.Fatal(err)
	}
	x4, _ := tensor.FromData(append([]float32(nil), x.Data...), 1, 3, 32, 32)
	outs, err := m.Forward(x4)
	if err != nil {
		t.Fatal(err)
	}
	if d := tensor.MaxAbsDiff(got.Data, outs[0].Data); d > 1e-5 {
		t.Errorf("patch-sized window differs from the forward pass by %g", d)
	}
	o.MirrorAxes = []int{0, 1}
	mir, err := SlidingWindow(sm.scores, x, o)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(outs[0].Data))
	for _, axes := range [][]int{nil, {0}, {1}, {0, 1}} {
		xf := append([]float32(nil), x.Data...)
		flip(xf, 3, 32, 32, axes)
		xt, _ := tensor.FromData(xf, 1, 3, 32, 32)
		o, err := m.Forward(xt)
		if err != nil {
			t.Fatal(err)
		}
		flip(o[0].Data, 3, 32, 32, axes)
		for i, v := range o[0].Data {
			want[i] += float64(v) / 4
		}
	}
	for i, v := range mir.Data {
		if math.Abs(float64(v)-want[i]) > 1e-4 {
			t.Fatalf("mirrored window at %d: %g, want the mean of four flipped passes %g", i, v, want[i])
		}
	}
}
