package metrics

import (
	"fmt"
	"math"
)

// checkMasks validates a prediction/reference pair of h*w masks.
func checkMasks(op string, pred, ref []uint8, h, w int) error {
	if h < 1 || w < 1 || h > math.MaxInt32 || w > math.MaxInt32 || h > math.MaxInt/w {
		return fmt.Errorf("%s: bad mask size %dx%d", op, h, w)
	}
	if len(pred) != h*w || len(ref) != h*w {
		return fmt.Errorf("%s: masks of %d (pred) and %d (ref) pixels, want %dx%d = %d", op, len(pred), len(ref), h, w, h*w)
	}
	for _, m := range []struct {
		name string
		px   []uint8
	}{{"pred", pred}, {"ref", ref}} {
		for i, v := range m.px {
			if v > 1 {
				return fmt.Errorf("%s: %s mask has value %d at (y=%d, x=%d); masks hold 0 or 1", op, m.name, v, i/w, i%w)
			}
		}
	}
	return nil
}

// isEmpty reports whether a mask has no foreground.
func isEmpty(mask []uint8) bool {
	for _, v := range mask {
		if v != 0 {
			return false
		}
	}
	return true
}
