package metrics

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"suture/tensor"
)

// bruteSquaredDistances is the O((h*w)^2) definition of squaredDistances.
func bruteSquaredDistances(set []bool, h, w int, sy, sx float64) []float64 {
	out := make([]float64, h*w)
	for i := range out {
		best := math.Inf(1)
		for j, in := range set {
			if in {
				dy, dx := sy*float64(i/w-j/w), sx*float64(i%w-j%w)
				best = min(best, dy*dy+dx*dx)
			}
		}
		out[i] = best
	}
	return out
}

// bruteHD95 follows the definition literally: erode with the cross (outside
// = background), compare every boundary pixel pair, and interpolate the 95th
// percentile as numpy does: (1-f)*a[lo] + f*a[lo+1].
func bruteHD95(pred, ref []uint8, h, w int, sp Spacing) float64 {
	at := func(m []uint8, y, x int) uint8 {
		if y < 0 || y >= h || x < 0 || x >= w {
			return 0
		}
		return m[y*w+x]
	}
	border := func(m []uint8) [][2]int {
		var b [][2]int
		for y := range h {
			for x := range w {
				eroded := at(m, y, x) & at(m, y-1, x) & at(m, y+1, x) & at(m, y, x-1) & at(m, y, x+1)
				if at(m, y, x) == 1 && eroded == 0 {
					b = append(b, [2]int{y, x})
				}
			}
		}
		return b
	}
	bp, br := border(pred), border(ref)
	if len(bp) == 0 || len(br) == 0 {
		return math.NaN()
	}
	nearest := func(from, to [][2]int) []float64 {
		var ds []float64
		for _, p := range from {
			best := math.Inf(1)
			for _, q := range to {
				best = min(best, math.Hypot(sp.Y*float64(p[0]-q[0]), sp.X*float64(p[1]-q[1])))
			}
			ds = append(ds, best)
		}
		return ds
	}
	all := append(nearest(bp, br), nearest(br, bp)...)
	slices.Sort(all)
	pos := 0.95 * float64(len(all)-1)
	lo := int(pos)
	if lo == len(all)-1 {
		return all[lo]
	}
	f := pos - float64(lo)
	return (1-f)*all[lo] + f*all[lo+1]
}

// randomMask draws one of several kinds of mask: noise at a density, a few
// rectangles (often touching the border), or a single pixel.
func randomMask(rng *tensor.RNG, h, w int) []uint8 {
	m := make([]uint8, h*w)
	switch rng.IntN(3) {
	case 0:
		density := []float64{0.02, 0.3, 0.7, 0.97}[rng.IntN(4)]
		for i := range m {
			if rng.Float64() < density {
				m[i] = 1
			}
		}
	case 1:
		for range 1 + rng.IntN(3) {
			y0, x0 := rng.IntN(h), rng.IntN(w)
			y1, x1 := y0+1+rng.IntN(h-y0), x0+1+rng.IntN(w-x0)
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					m[y*w+x] = 1
				}
			}
		}
	default:
		m[rng.IntN(h*w)] = 1
	}
	return m
}

var crossSizes = [][2]int{{1, 1}, {1, 9}, {9, 1}, {2, 2}, {5, 5}, {7, 4}, {6, 13}, {17, 16}, {33, 31}}
var crossSpacings = []Spacing{PixelSpacing, {Y: 0.7, X: 1.9}, {Y: 3, X: 0.25}}

func TestSquaredDistancesMatchBruteForce(t *testing.T) {
	rng := tensor.NewRNG(11)
	for _, hw := range crossSizes {
		h, w := hw[0], hw[1]
		for trial := range 12 {
			m := randomMask(rng, h, w)
			if trial == 0 {
				m = make([]uint8, h*w) // empty set: all +Inf
			}
			set := make([]bool, h*w)
			for i, v := range m {
				set[i] = v == 1
			}
			sp := crossSpacings[trial%len(crossSpacings)]
			got := squaredDistances(set, h, w, sp.Y, sp.X)
			want := bruteSquaredDistances(set, h, w, sp.Y, sp.X)
			for i := range want {
				if got[i] != want[i] && !near(got[i], want[i]) {
					t.Fatalf("%dx%d trial %d spacing %v: pixel (%d,%d) = %v, brute force %v", h, w, trial, sp, i/w, i%w, got[i], want[i])
				}
			}
		}
	}
}

func TestHD95MatchesBruteForce(t *testing.T) {
	rng := tensor.NewRNG(12)
	checked := 0
	for _, hw := range crossSizes {
		h, w := hw[0], hw[1]
		for trial := range 20 {
			pred, ref := randomMask(rng, h, w), randomMask(rng, h, w)
			sp := crossSpacings[trial%len(crossSpacings)]
			got, err := HD95(pred, ref, h, w, sp)
			if err != nil {
				t.Fatal(err)
			}
			want := bruteHD95(pred, ref, h, w, sp)
			name := fmt.Sprintf("%dx%d trial %d spacing %v", h, w, trial, sp)
			if math.IsNaN(want) != math.IsNaN(got) || !math.IsNaN(got) && !near(got, want) {
				t.Fatalf("%s: HD95 = %v, brute force %v", name, got, want)
			}
			if !math.IsNaN(want) && want > 0 {
				checked++
			}
		}
	}
	// Guard against a generator that only makes trivial cases.
	if checked < 100 {
		t.Fatalf("only %d non-trivial cases compared", checked)
	}
}
