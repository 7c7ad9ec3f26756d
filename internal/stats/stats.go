// Package stats holds small statistics helpers shared by packages that do
// not import each other (bench, experiment).
package stats

import (
	"math"
	"slices"
)

// Median of xs, which it sorts in place; the mean of the middle two for an
// even count; NaN for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
