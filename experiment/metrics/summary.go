package metrics

import (
	"fmt"
	"io"
	"math"
)

// Score holds the scores of one test sample.
type Score struct {
	Name string
	Dice float64 // NaN when prediction and reference are both empty
	HD95 float64 // NaN when either is empty
}

// Evaluate scores one prediction against its reference (h*w masks).
func Evaluate(name string, pred, ref []uint8, h, w int, sp Spacing) (Score, error) {
	d, err := Dice(pred, ref, h, w)
	if err != nil {
		return Score{}, err
	}
	hd, err := HD95(pred, ref, h, w, sp)
	if err != nil {
		return Score{}, err
	}
	return Score{Name: name, Dice: d, HD95: hd}, nil
}

// Summary is the mean of each metric over the samples where it is defined.
type Summary struct {
	N        int     // samples
	DiceMean float64 // mean over non-NaN Dice values; NaN if there are none
	DiceNaN  int     // samples with NaN Dice
	HD95Mean float64 // mean over non-NaN HD95 values; NaN if there are none
	HD95NaN  int     // samples with NaN HD95
}

// WriteSummary writes s as one line: n, mean Dice and HD95,
// and the samples where they are undefined, if any.
func WriteSummary(w io.Writer, s Summary) {
	fmt.Fprintf(w, "n %d  Dice %.4f  HD95 %.3f px", s.N, s.DiceMean, s.HD95Mean)
	if s.DiceNaN+s.HD95NaN > 0 {
		fmt.Fprintf(w, "  (undefined: Dice %d, HD95 %d)", s.DiceNaN, s.HD95NaN)
	}
	fmt.Fprintln(w)
}

// Summarize averages Dice and HD95 over samples, skipping and counting NaNs.
func Summarize(samples []Score) Summary {
	dice := make([]float64, len(samples))
	hd := make([]float64, len(samples))
	for i, s := range samples {
		dice[i], hd[i] = s.Dice, s.HD95
	}
	s := Summary{N: len(samples)}
	s.DiceMean, s.DiceNaN = MeanSkipNaN(dice)
	s.HD95Mean, s.HD95NaN = MeanSkipNaN(hd)
	return s
}

// MeanSkipNaN returns the mean of the non-NaN values of xs (NaN if there are
// none) and the number of NaNs.
func MeanSkipNaN(xs []float64) (mean float64, nans int) {
	var sum float64
	for _, x := range xs {
		if math.IsNaN(x) {
			nans++
			continue
		}
		sum += x
	}
	if nans == len(xs) {
		return math.NaN(), nans
	}
	return sum / float64(len(xs)-nans), nans
}
