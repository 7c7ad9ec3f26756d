package launch

import (
	"fmt"
	"math"

	"suture/kernels"
	"suture/tensor"
)

// SGDNesterov implements kernels.Backend.
func (b *Backend) SGDNesterov(w, v, g *tensor.Tensor, lr, momentum, weightDecay float32) error {
	const op = "sgd"
	if err := kernels.CheckOptimizer(op, w, v, g); err != nil {
		return err
	}
	n := w.Numel()
	return b.elementwise(op, kSGDNesterov, n, []operand{in("weights", w), in("velocity", v), in("gradient", g)},
		func(a *Args) { a.Float(lr).Float(momentum).Float(weightDecay).Int(n) })
}

// AdamW implements kernels.Backend. The bias corrections are computed here
// in float64, as the CPU reference does.
func (b *Backend) AdamW(w, m, v, g *tensor.Tensor, lr, beta1, beta2, eps, weightDecay float32, step int) error {
	const op = "adamw"
	if err := kernels.CheckOptimizer(op, w, m, v, g); err != nil {
		return err
	}
	if step < 1 {
		return fmt.Errorf("%s: step %d, want >= 1", op, step)
	}
	bc1 := 1 - math.Pow(float64(beta1), float64(step))
	bc2 := 1 - math.Pow(float64(beta2), float64(step))
	stepSize := float32(float64(lr) / bc1)
	sqrtBC2 := float32(math.Sqrt(bc2))
	n := w.Numel()
	return b.elementwise(op, kAdamW, n,
		[]operand{in("weights", w), in("first moment", m), in("second moment", v), in("gradient", g)},
		func(a *Args) {
			a.Float(lr).Float(beta1).Float(beta2).Float(eps).Float(weightDecay).Float(stepSize).Float(sqrtBC2).Int(n)
		})
}
