package metrics

import (
	"math"
	"strings"
	"testing"
)

// maskFrom parses rows of '#' (foreground) and '.' (background).
func maskFrom(rows ...string) (m []uint8, h, w int) {
	h, w = len(rows), len(rows[0])
	for _, r := range rows {
		for _, c := range r {
			if c == '#' {
				m = append(m, 1)
			} else {
				m = append(m, 0)
			}
		}
	}
	return m, h, w
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*max(1, math.Abs(b)) }

func TestDiceHandMade(t *testing.T) {
	a, h, w := maskFrom(
		"##..",
		"##..",
		"....")
	half, _, _ := maskFrom(
		".##.",
		".##.",
		"....")
	far, _, _ := maskFrom(
		"....",
		"....",
		"..##")
	empty := make([]uint8, h*w)
	cases := []struct {
		name      string
		pred, ref []uint8
		want      float64
	}{
		{"identical", a, a, 1},
		{"half overlap", a, half, 0.5}, // TP 2, FP 2, FN 2: 4/8
		{"disjoint", a, far, 0},
		{"pred empty", empty, a, 0},
		{"ref empty", a, empty, 0},
		{"both empty", empty, empty, math.NaN()},
		{"single pixel vs 2x2", []uint8{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, a, 0.4}, // 2*1/(2+0+3)
	}
	for _, tc := range cases {
		got, err := Dice(tc.pred, tc.ref, h, w)
		if err != nil {
			t.Fatal(err)
		}
		if math.IsNaN(tc.want) != math.IsNaN(got) || !math.IsNaN(got) && !near(got, tc.want) {
			t.Errorf("%s: Dice = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestHD95HandMade(t *testing.T) {
	squares, h, w := maskFrom(
		"................",
		"................",
		"..###.....###...",
		"..###.....###...",
		"..###.....###...",
		"................")
	left, right := make([]uint8, h*w), make([]uint8, h*w)
	for i, v := range squares {
		if v == 1 && i%w < 8 {
			left[i] = 1
		} else if v == 1 {
			right[i] = 1
		}
	}
	// 1-row image: pred is x=0, ref is x=0..18. Pooled distances are
	// {0} from pred and {0,1,...,18} from ref: 20 values, the 95th percentile
	// sits at position 0.95*19 = 18.05 between 17 and 18.
	rowPred, rowRef := make([]uint8, 19), make([]uint8, 19)
	rowPred[0] = 1
	for i := range rowRef {
		rowRef[i] = 1
	}
	fullMask, fh, fw := maskFrom("###", "###", "###")
	center, _, _ := maskFrom("...", ".#.", "...")

	cases := []struct {
		name      string
		pred, ref []uint8
		h, w      int
		sp        Spacing
		want      float64
	}{
		{"identical", squares, squares, h, w, PixelSpacing, 0},
		// Boundaries are the 8-pixel rings; right column of the left square is
		// 6 from the right square, middle column (2 ring pixels) 7, left column 8:
		// pooled {6 x6, 7 x4, 8 x6}, position 0.95*15 = 14.25 lands on 8.
		{"disjoint 3x3 squares", left, right, h, w, PixelSpacing, 8},
		{"single pixels 3-4-5", onePixel(h, w, 1, 3), onePixel(h, w, 4, 7), h, w, PixelSpacing, 5},
		{"pixel vs line interpolates", rowPred, rowRef, 1, 19, PixelSpacing, 17.05},
		{"pixel vs line, spacing", rowPred, rowRef, 1, 19, Spacing{Y: 3, X: 0.5}, 17.05 * 0.5},
		{"column, spacing", rowPred, rowRef, 19, 1, Spacing{Y: 2, X: 7}, 17.05 * 2},
		{"1x1 both foreground", []uint8{1}, []uint8{1}, 1, 1, PixelSpacing, 0},
		// The full 3x3 mask touches the border on all sides: its boundary is
		// the 8-pixel ring (outside counts as background). Distances: centre to
		// ring 1; 4 edge pixels 1 and 4 corners sqrt(2) to the centre. Pooled
		// {1 x5, sqrt2 x4}: position 7.6 lies between two sqrt(2).
		{"border: full vs centre", fullMask, center, fh, fw, PixelSpacing, math.Sqrt2},
		{"border: full vs full", fullMask, fullMask, fh, fw, PixelSpacing, 0},
		{"pred empty", make([]uint8, h*w), squares, h, w, PixelSpacing, math.NaN()},
		{"ref empty", squares, make([]uint8, h*w), h, w, PixelSpacing, math.NaN()},
		{"both empty", make([]uint8, h*w), make([]uint8, h*w), h, w, PixelSpacing, math.NaN()},
		{"1x1 one empty", []uint8{1}, []uint8{0}, 1, 1, PixelSpacing, math.NaN()},
	}
	for _, tc := range cases {
		got, err := HD95(tc.pred, tc.ref, tc.h, tc.w, tc.sp)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if math.IsNaN(tc.want) != math.IsNaN(got) || !math.IsNaN(got) && !near(got, tc.want) {
			t.Errorf("%s: HD95 = %v, want %v", tc.name, got, tc.want)
		}
		// HD95 is symmetric in its arguments.
		back, _ := HD95(tc.ref, tc.pred, tc.h, tc.w, tc.sp)
		if math.IsNaN(got) != math.IsNaN(back) || !math.IsNaN(got) && !near(back, got) {
			t.Errorf("%s: HD95 not symmetric: %v vs %v", tc.name, got, back)
		}
	}
}

func onePixel(h, w, y, x int) []uint8 {
	m := make([]uint8, h*w)
	m[y*w+x] = 1
	return m
}

func TestBoundaryTouchingBorder(t *testing.T) {
	m, h, w := maskFrom(
		"####",
		"####",
		"####",
		"..##")
	// (2,2) has all four neighbours inside the mask; every pixel of the
	// outer rows and columns is on the boundary because of the border.
	want, _, _ := maskFrom(
		"####",
		"#..#",
		"##.#",
		"..##")
	got := boundary(m, h, w)
	for i := range got {
		if got[i] != (want[i] == 1) {
			t.Fatalf("boundary at (y=%d, x=%d) = %v, want %v", i/w, i%w, got[i], want[i] == 1)
		}
	}
}

func TestPercentileLinear(t *testing.T) {
	cases := []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{[]float64{4, 1, 3, 2}, 95, 3.85}, // position 2.85 in 1,2,3,4
		{[]float64{4, 1, 3, 2}, 50, 2.5},
		{[]float64{4, 1, 3, 2}, 0, 1},
		{[]float64{4, 1, 3, 2}, 100, 4},
		{[]float64{7}, 95, 7},
		{[]float64{0, 10}, 95, 9.5},
	}
	for _, tc := range cases {
		if got := percentile(append([]float64(nil), tc.xs...), tc.q); !near(got, tc.want) {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.xs, tc.q, got, tc.want)
		}
	}
	if !math.IsNaN(percentile(nil, 95)) {
		t.Error("percentile of nothing is not NaN")
	}
}

func TestMetricsRejectBadInput(t *testing.T) {
	good := []uint8{0, 1, 1, 0}
	cases := []struct {
		name      string
		pred, ref []uint8
		h, w      int
		sp        Spacing
		want      string
	}{
		{"short pred", good[:3], good, 2, 2, PixelSpacing, "3 (pred) and 4 (ref)"},
		{"nil ref", good, nil, 2, 2, PixelSpacing, "4 (pred) and 0 (ref)"},
		{"zero size", nil, nil, 0, 3, PixelSpacing, "bad mask size 0x3"},
		{"negative size", nil, nil, -2, -2, PixelSpacing, "bad mask size"},
		{"255 mask", []uint8{0, 255, 0, 0}, good, 2, 2, PixelSpacing, "value 255 at (y=0, x=1)"},
		{"zero spacing", good, good, 2, 2, Spacing{}, "spacing"},
		{"NaN spacing", good, good, 2, 2, Spacing{Y: math.NaN(), X: 1}, "spacing"},
	}
	for _, tc := range cases {
		_, err := HD95(tc.pred, tc.ref, tc.h, tc.w, tc.sp)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: HD95 err = %v, want one containing %q", tc.name, err, tc.want)
		}
		if strings.Contains(tc.want, "spacing") {
			continue
		}
		if _, err := Dice(tc.pred, tc.ref, tc.h, tc.w); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Dice err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
