package metrics

import (
	"math"
	"strings"
	"testing"

	"suture/tensor"
)

// bruteExactP enumerates all 2^n sign assignments of ranks 1..n and returns
// the two-sided p-value 2*P(W+ <= t), capped at 1.
func bruteExactP(n int, t float64) float64 {
	below := 0
	for signs := 0; signs < 1<<n; signs++ {
		sum := 0
		for r := 1; r <= n; r++ {
			if signs&(1<<(r-1)) != 0 {
				sum += r
			}
		}
		if float64(sum) <= t {
			below++
		}
	}
	return min(1, 2*float64(below)/float64(int(1)<<n))
}

func wilcoxonDiffs(t *testing.T, d []float64) WilcoxonResult {
	t.Helper()
	r, err := Wilcoxon(d, make([]float64, len(d)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestWilcoxonExactHandMade(t *testing.T) {
	// d = 1, 2, 3: W+ = 6, W- = 0; only the empty subset sums to <= 0,
	// so p = 2 * 1/8.
	r := wilcoxonDiffs(t, []float64{1, 2, 3})
	if !r.Exact || r.WPlus != 6 || r.WMinus != 0 || r.Statistic != 0 || r.P != 0.25 {
		t.Fatalf("got %+v, want exact W+=6 W-=0 p=0.25", r)
	}
	// d = 1, -2, 3, 4, 5: W- = 2; subsets of {1..5} with sum <= 2 are {}, {1},
	// {2}: p = 2 * 3/32.
	r = wilcoxonDiffs(t, []float64{1, -2, 3, 4, 5})
	if !r.Exact || r.Statistic != 2 || r.P != 0.1875 {
		t.Fatalf("got %+v, want exact T=2 p=0.1875", r)
	}
	// Balanced: W+ = W- = 5 for ranks {1,4} vs {2,3}; p capped at 1.
	r = wilcoxonDiffs(t, []float64{1, -2, -3, 4})
	if r.P != 1 {
		t.Fatalf("balanced: p = %v, want 1", r.P)
	}
}

// Darwin's Zea mays data (cross- minus self-fertilised heights, eighths of an
// inch), the example in scipy.stats.wilcoxon's documentation: statistic 24
// and exact two-sided p 0.041259765625 (= 2 * 676/32768).
func TestWilcoxonDarwinZeaMays(t *testing.T) {
	d := []float64{6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75}
	r := wilcoxonDiffs(t, d)
	if !r.Exact || r.Statistic != 24 || r.P != 0.041259765625 {
		t.Fatalf("got %+v, want exact statistic 24, p 0.041259765625", r)
	}
	if b := bruteExactP(15, 24); b != r.P {
		t.Fatalf("enumeration gives %v, DP %v", b, r.P)
	}
}

func TestWilcoxonExactMatchesEnumeration(t *testing.T) {
	rng := tensor.NewRNG(5)
	for n := 1; n <= 16; n++ {
		for range 4 {
			d := make([]float64, n)
			for i, k := range rng.Perm(n) { // distinct magnitudes: no ties
				d[i] = float64(k + 1)
				if rng.IntN(2) == 0 {
					d[i] = -d[i]
				}
			}
			r := wilcoxonDiffs(t, d)
			if !r.Exact || r.WPlus+r.WMinus != float64(n*(n+1)/2) {
				t.Fatalf("n=%d: %+v", n, r)
			}
			if want := bruteExactP(n, r.Statistic); math.Abs(r.P-want) > 1e-15 {
				t.Fatalf("n=%d d=%v: p = %v, enumeration %v", n, d, r.P, want)
			}
		}
	}
}

func TestWilcoxonNormalApproximationHandMade(t *testing.T) {
	// x - y = 1, -1, 2, 2, 3, -4, 5, 0. The zero is dropped (n = 7). |d| ranks:
	// 1,1 -> 1.5 each; 2,2 -> 3.5 each; 3 -> 5; 4 -> 6; 5 -> 7.
	// W- = 1.5 + 6 = 7.5, W+ = 1.5 + 3.5 + 3.5 + 5 + 7 = 20.5.
	// mean 7*8/4 = 14; variance 7*8*15/24 - (6+6)/48 = 34.75 (two ties of 2).
	x := []float64{1.5, 0, 4, 3, 3.25, 1, 5, 2}
	y := []float64{0.5, 1, 2, 1, 0.25, 5, 0, 2}
	r, err := Wilcoxon(x, y)
	if err != nil {
		t.Fatal(err)
	}
	z := (7.5 - 14) / math.Sqrt(34.75)
	wantP := math.Erfc(-z / math.Sqrt2)
	if r.Exact || r.N != 7 || r.Zeros != 1 || r.WPlus != 20.5 || r.WMinus != 7.5 || !near(r.Z, z) || !near(r.P, wantP) {
		t.Fatalf("got %+v, want approx N=7 zeros=1 W+=20.5 W-=7.5 z=%v p=%v", r, z, wantP)
	}
	if math.Abs(r.P-0.2702) > 5e-4 { // table value of 2*Phi(-1.1026)
		t.Fatalf("p = %v, want about 0.2702", r.P)
	}
	// Swapping the samples swaps W+ and W- and keeps p.
	s, _ := Wilcoxon(y, x)
	if s.WPlus != r.WMinus || s.P != r.P {
		t.Fatalf("swapped: %+v vs %+v", s, r)
	}
}

func TestWilcoxonLargeNUsesNormal(t *testing.T) {
	// n = 51 untied: normal approximation; n = 50: exact. For these sizes the
	// two agree to about 0.01, a check that both are on the same scale.
	rng := tensor.NewRNG(9)
	for _, n := range []int{50, 51} {
		d := make([]float64, n)
		for i, k := range rng.Perm(n) {
			d[i] = float64(k + 1)
			if rng.Float64() < 0.35 {
				d[i] = -d[i]
			}
		}
		r := wilcoxonDiffs(t, d)
		if r.Exact != (n == 50) {
			t.Fatalf("n=%d: Exact = %v", n, r.Exact)
		}
		nf := float64(n)
		z := (r.Statistic - nf*(nf+1)/4) / math.Sqrt(nf*(nf+1)*(2*nf+1)/24)
		approx := math.Erfc(-z / math.Sqrt2)
		if math.Abs(r.P-approx) > 0.01 {
			t.Fatalf("n=%d: p = %v, normal approximation %v", n, r.P, approx)
		}
	}
}

func TestWilcoxonErrors(t *testing.T) {
	cases := []struct {
		x, y []float64
		want string
	}{
		{[]float64{1, 2}, []float64{1}, "paired"},
		{[]float64{1, math.NaN()}, []float64{0, 0}, "pair 1"},
		{[]float64{math.Inf(1)}, []float64{0}, "pair 0"},
		{[]float64{3, 3}, []float64{3, 3}, "all 2 differences are zero"},
		{nil, nil, "all 0 differences are zero"},
	}
	for _, tc := range cases {
		if _, err := Wilcoxon(tc.x, tc.y); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Wilcoxon(%v, %v) err = %v, want %q", tc.x, tc.y, err, tc.want)
		}
	}
}

func TestHolm(t *testing.T) {
	// Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 ->
	// max with the previous: 0.06. At alpha 0.05 the first two are rejected.
	got, err := Holm([]float64{0.01, 0.04, 0.03, 0.005})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.03, 0.06, 0.06, 0.02}
	for i := range want {
		if !near(got[i], want[i]) {
			t.Fatalf("Holm = %v, want %v", got, want)
		}
	}
	// Capped at 1, ties keep their order, one p-value is unchanged.
	got, _ = Holm([]float64{0.5, 0.5, 0.9})
	if got[0] != 1 || got[1] != 1 || got[2] != 1 {
		t.Fatalf("Holm caps: %v", got)
	}
	if got, _ := Holm([]float64{0.02}); got[0] != 0.02 {
		t.Fatalf("single p-value adjusted to %v", got[0])
	}
	if got, err := Holm(nil); err != nil || len(got) != 0 {
		t.Fatalf("Holm(nil) = %v, %v", got, err)
	}
	for _, bad := range []float64{math.NaN(), -0.1, 1.5} {
		if _, err := Holm([]float64{0.1, bad}); err == nil || !strings.Contains(err.Error(), "p-value 1") {
			t.Errorf("Holm accepted %v (err %v)", bad, err)
		}
	}
}
