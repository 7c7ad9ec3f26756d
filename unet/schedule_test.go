package unet

import (
	"math"
	"testing"
)

// TestFineTuneSchedule checks LRAt and LastLR on a case worked by hand
// (docs/evaluation.md): the original run has 25 epochs from 1e-2, the
// fine-tuning 8 epochs from 1e-3 with a 2-epoch warm-up.
func TestFineTuneSchedule(t *testing.T) {
	orig := TrainOptions{Epochs: 25, LR: 1e-2}
	// The values below are python3 -c "print(1e-2*(1/25)**0.9, 1e-3*(7/8)**0.9,
	// 1e-3*(6/8)**0.9, 1e-3*(1/8)**0.9)" to 7 digits.
	last := orig.LastLR()
	ft := TrainOptions{Epochs: 8, LR: 1e-3, WarmupEpochs: 2, WarmupFrom: last}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"original's last rate", float64(last), 5.518919e-4},
		// Epoch 0: exactly where the original run ended.
		{"epoch 0", float64(ft.LRAt(0)), 5.518919e-4},
		// Epoch 1: halfway: 0.5*5.518919e-4 + 0.5*1e-3*(7/8)^0.9 (= 8.867624e-4).
		{"epoch 1", float64(ft.LRAt(1)), 0.5*5.518919e-4 + 0.5*8.867624e-4},
		// Epoch 2 on: the plain poly schedule, 1e-3*(6/8)^0.9 and 1e-3*(1/8)^0.9.
		{"epoch 2", float64(ft.LRAt(2)), 7.718895e-4},
		{"epoch 7", float64(ft.LRAt(7)), 1.538931e-4},
		// Without a warm-up LRAt is the poly schedule.
		{"no warm-up, epoch 0", float64(orig.LRAt(0)), 1e-2},
	} {
		if math.Abs(c.got-c.want) > 2e-6*c.want {
			t.Errorf("%s: %.6g, want %.6g", c.name, c.got, c.want)
		}
	}
}
