package tensor

import (
	"fmt"
	"math"
	"strings"
)

// Mismatch is one element that failed a closeness check.
type Mismatch struct {
	Index     int
	Got, Want float64
}

// Close compares got with want element-wise: |got-want| <= atol + rtol*|want|,
// with NaN or Inf in got never passing (unless want is the same infinity). It
// returns the number of failures and up to maxReport of them, first first.
func Close(got []float32, want []float64, atol, rtol float64, maxReport int) (int, []Mismatch) {
	if len(got) != len(want) {
		return max(len(got), len(want)), []Mismatch{{Index: -1, Got: float64(len(got)), Want: float64(len(want))}}
	}
	bad := 0
	var rep []Mismatch
	for i, g := range got {
		w := want[i]
		gf := float64(g)
		ok := math.Abs(gf-w) <= atol+rtol*math.Abs(w)
		if math.IsNaN(gf) || math.IsNaN(w) {
			ok = false
		}
		if math.IsInf(w, 0) && gf == w {
			ok = true
		}
		if !ok {
			bad++
			if len(rep) < maxReport {
				rep = append(rep, Mismatch{i, gf, w})
			}
		}
	}
	return bad, rep
}

// CloseError is Close as an error for tests: nil when every element passes,
// otherwise a message with the count and the first mismatches.
func CloseError(name string, got []float32, want []float64, atol, rtol float64) error {
	bad, rep := Close(got, want, atol, rtol, 5)
	if bad == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d of %d elements differ (atol %g, rtol %g)", name, bad, len(got), atol, rtol)
	for _, m := range rep {
		if m.Index < 0 {
			fmt.Fprintf(&b, "; length %d, want %d", int(m.Got), int(m.Want))
			continue
		}
		fmt.Fprintf(&b, "; [%d] got %g want %g", m.Index, m.Got, m.Want)
	}
	return fmt.Errorf("%s", b.String())
}

// To64 widens a float32 slice.
func To64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// MaxAbsDiff is the largest |a[i]-b[i]|; +Inf when lengths differ or a NaN appears.
func MaxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = max(m, d)
	}
	return m
}

// AllFinite reports whether every value is finite.
func AllFinite(x []float32) bool {
	for _, v := range x {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}
