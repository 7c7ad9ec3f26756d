package metrics

import (
	"fmt"
	"math"
	"slices"
)

// Spacing is the physical size of a pixel: Y between rows, X between columns.
type Spacing struct{ Y, X float64 }

// PixelSpacing measures distances in pixels.
var PixelSpacing = Spacing{Y: 1, X: 1}

func (s Spacing) valid() bool {
	ok := func(v float64) bool { return v > 0 && !math.IsInf(v, 1) }
	return ok(s.Y) && ok(s.X)
}

// HD95 returns the 95th percentile of the pooled boundary-to-boundary
// distances between pred and ref (h*w masks), in units of sp; NaN when either
// mask is empty. See the package documentation for the exact definition.
func HD95(pred, ref []uint8, h, w int, sp Spacing) (float64, error) {
	if err := checkMasks("hd95", pred, ref, h, w); err != nil {
		return math.NaN(), err
	}
	if !sp.valid() {
		return math.NaN(), fmt.Errorf("hd95: spacing (%v, %v) must be positive and finite", sp.Y, sp.X)
	}
	if isEmpty(pred) || isEmpty(ref) {
		return math.NaN(), nil
	}
	bp, br := boundary(pred, h, w), boundary(ref, h, w)
	toRef := squaredDistances(br, h, w, sp.Y, sp.X)
	toPred := squaredDistances(bp, h, w, sp.Y, sp.X)
	var dists []float64
	for i := range bp {
		if bp[i] {
			dists = append(dists, math.Sqrt(toRef[i]))
		}
		if br[i] {
			dists = append(dists, math.Sqrt(toPred[i]))
		}
	}
	return percentile(dists, 95), nil
}

// boundary marks the foreground pixels with a 4-neighbour that is background
// or outside the image: the mask minus its erosion by the 4-connected cross,
// with the outside counted as background.
func boundary(mask []uint8, h, w int) []bool {
	b := make([]bool, h*w)
	for y := range h {
		for x := range w {
			i := y*w + x
			if mask[i] == 0 {
				continue
			}
			b[i] = y == 0 || y == h-1 || x == 0 || x == w-1 ||
				mask[i-w] == 0 || mask[i+w] == 0 || mask[i-1] == 0 || mask[i+1] == 0
		}
	}
	return b
}

// percentile returns the q-th percentile (0..100) of xs with linear
// interpolation between order statistics (numpy's default "linear" method):
// position q/100*(n-1) in the sorted values. xs is sorted in place; NaN for
// an empty slice.
func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	pos := q / 100 * float64(len(xs)-1)
	lo := int(math.Floor(pos))
	if lo >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	frac := pos - float64(lo)
	return xs[lo] + frac*(xs[lo+1]-xs[lo])
}
