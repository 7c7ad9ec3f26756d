package nn

import (
	"fmt"
	"math"

	"suture/autograd"
	"suture/tensor"
)

// DiceCE is nnU-Net's default segmentation loss: cross-entropy plus batch
// soft Dice over the foreground classes (smooth 1e-5), each weight 1.
// logits: (N, K, H, W); target: (N, 1, H, W) class indices.
func DiceCE(t *autograd.Tape, logits *autograd.Var, target *tensor.Tensor) (*autograd.Var, error) {
	ce, err := t.CrossEntropy(logits, target)
	if err != nil {
		return nil, err
	}
	p, err := t.Softmax(logits)
	if err != nil {
		return nil, err
	}
	dice, err := t.SoftDice(p, target, 1e-5)
	if err != nil {
		return nil, err
	}
	return t.WeightedSum([]*autograd.Var{ce, dice}, []float32{1, 1})
}

// DeepSupervisionWeights returns nnU-Net's weights for n outputs, highest
// resolution first: 1/2^i, the lowest resolution weighted 0, normalised to sum 1.
func DeepSupervisionWeights(n int) []float32 {
	w := make([]float32, n)
	var s float32
	for i := range w {
		if n > 1 && i == n-1 {
			break
		}
		w[i] = float32(math.Pow(0.5, float64(i)))
		s += w[i]
	}
	for i := range w {
		w[i] /= s
	}
	return w
}

// DeepSupervisedDiceCE sums DiceCE over outputs (highest resolution first)
// against targets of matching size with the given weights; zero-weight
// outputs are skipped entirely.
func DeepSupervisedDiceCE(t *autograd.Tape, outputs []*autograd.Var, targets []*tensor.Tensor, weights []float32) (*autograd.Var, error) {
	if len(outputs) != len(targets) || len(outputs) != len(weights) {
		return nil, fmt.Errorf("deep supervision: %d outputs, %d targets, %d weights", len(outputs), len(targets), len(weights))
	}
	var terms []*autograd.Var
	var ws []float32
	for i, o := range outputs {
		if weights[i] == 0 {
			continue
		}
		l, err := DiceCE(t, o, targets[i])
		if err != nil {
			return nil, fmt.Errorf("output %d: %w", i, err)
		}
		terms = append(terms, l)
		ws = append(ws, weights[i])
	}
	return t.WeightedSum(terms, ws)
}

// CheckLoss returns an error naming the step when a loss is not finite.
func CheckLoss(step int, loss float64) error {
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return fmt.Errorf("step %d: loss is %v (not finite); lower the learning rate or check the data", step, loss)
	}
	return nil
}
