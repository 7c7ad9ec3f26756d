package nn

import (
	"math"

	"suture/tensor"
)

// KaimingNormal fills w with N(0, std^2), std = gain/sqrt(fanIn),
// gain = sqrt(2/(1+a^2)) (PyTorch's kaiming_normal_, fan_in mode; nnU-Net
// uses a = 0.01). fanIn is dim 1 times the kernel area, as PyTorch computes
// it for both conv (Co, Ci, k, k) and conv-transpose (Ci, Co, k, k) weights.
func KaimingNormal(w *tensor.Tensor, a float64, g *tensor.RNG) {
	fanIn := 1
	if len(w.Shape) >= 2 {
		fanIn = w.Shape[1]
		for _, d := range w.Shape[2:] {
			fanIn *= d
		}
	}
	gain := math.Sqrt(2 / (1 + a*a))
	g.Normal(w, 0, gain/math.Sqrt(float64(fanIn)))
}
