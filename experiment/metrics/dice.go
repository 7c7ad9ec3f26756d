package metrics

import "math"

// Dice returns 2TP/(2TP+FP+FN) for the foreground of pred against ref, both
// h*w masks; NaN when both are empty.
func Dice(pred, ref []uint8, h, w int) (float64, error) {
	if err := checkMasks("dice", pred, ref, h, w); err != nil {
		return math.NaN(), err
	}
	var tp, fp, fn int
	for i, p := range pred {
		r := ref[i]
		switch {
		case p == 1 && r == 1:
			tp++
		case p == 1:
			fp++
		case r == 1:
			fn++
		}
	}
	if tp+fp+fn == 0 {
		return math.NaN(), nil
	}
	return float64(2*tp) / float64(2*tp+fp+fn), nil
}
