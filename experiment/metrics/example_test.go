package metrics_test

import (
	"fmt"
	"log"

	"suture/experiment/metrics"
)

// Score predicted masks against references: Dice = 2TP / (2TP + FP + FN),
// HD95 the 95th percentile of boundary distances (in pixels unless a
// Spacing says otherwise). Masks are row-major []uint8 of 0 and 1.
func ExampleEvaluate() {
	const h, w = 4, 4
	ref := []uint8{
		0, 0, 0, 0,
		0, 1, 1, 0,
		0, 1, 1, 0,
		0, 0, 0, 0,
	}
	pred := []uint8{ // one pixel missed, one too many
		0, 0, 0, 0,
		0, 1, 1, 1,
		0, 1, 0, 0,
		0, 0, 0, 0,
	}
	empty := make([]uint8, h*w)

	var scores []metrics.Score
	for _, c := range []struct {
		name string
		pred []uint8
	}{{"same", ref}, {"off", pred}, {"empty", empty}} {
		s, err := metrics.Evaluate(c.name, c.pred, ref, h, w, metrics.PixelSpacing)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-5s Dice %.3f HD95 %.3f\n", s.Name, s.Dice, s.HD95)
		scores = append(scores, s)
	}
	sum := metrics.Summarize(scores) // undefined scores are counted, not averaged
	fmt.Printf("mean Dice %.3f over %d, HD95 undefined for %d\n", sum.DiceMean, sum.N, sum.HD95NaN)
	// Output:
	// same  Dice 1.000 HD95 0.000
	// off   Dice 0.750 HD95 1.000
	// empty Dice 0.000 HD95 NaN
	// mean Dice 0.583 over 3, HD95 undefined for 1
}
