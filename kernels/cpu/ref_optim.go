package cpu

import "math"

// sgdNesterovRef follows torch.optim.SGD(nesterov=True).
func sgdNesterovRef(w, v, g []float32, lr, mom, wd float32) {
	for i := range w {
		gi := g[i] + wd*w[i]
		v[i] = mom*v[i] + gi
		w[i] -= lr * (gi + mom*v[i])
	}
}

// adamWRef follows torch.optim.AdamW.
func adamWRef(w, m, v, g []float32, lr, b1, b2, eps, wd float32, step int) {
	bc1 := 1 - math.Pow(float64(b1), float64(step))
	bc2 := 1 - math.Pow(float64(b2), float64(step))
	stepSize := float32(float64(lr) / bc1)
	sq2 := float32(math.Sqrt(bc2))
	for i := range w {
		w[i] -= lr * wd * w[i]
		m[i] = b1*m[i] + (1-b1)*g[i]
		v[i] = b2*v[i] + (1-b2)*g[i]*g[i]
		w[i] -= stepSize * m[i] / (float32(math.Sqrt(float64(v[i])))/sq2 + eps)
	}
}
