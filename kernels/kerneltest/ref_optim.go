package kerneltest

import "math"

// Float64 optimizer references (PyTorch semantics); they return new state.

// refSGDNesterov: g' = g + wd*w; v = mom*v + g'; w -= lr*(g' + mom*v).
func refSGDNesterov(w, v, g []float64, lr, mom, wd float64) (w2, v2 []float64) {
	w2, v2 = make([]float64, len(w)), make([]float64, len(w))
	for i := range w {
		gi := g[i] + wd*w[i]
		v2[i] = mom*v[i] + gi
		w2[i] = w[i] - lr*(gi+mom*v2[i])
	}
	return w2, v2
}

// refAdamW: w -= lr*wd*w; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
// w -= lr * m/(1-b1^step) / (sqrt(v/(1-b2^step)) + eps).
func refAdamW(w, m, v, g []float64, lr, b1, b2, eps, wd float64, step int) (w2, m2, v2 []float64) {
	w2, m2, v2 = make([]float64, len(w)), make([]float64, len(w)), make([]float64, len(w))
	c1 := 1 - math.Pow(b1, float64(step))
	c2 := 1 - math.Pow(b2, float64(step))
	for i := range w {
		wi := w[i] - lr*wd*w[i]
		m2[i] = b1*m[i] + (1-b1)*g[i]
		v2[i] = b2*v[i] + (1-b2)*g[i]*g[i]
		w2[i] = wi - lr*(m2[i]/c1)/(math.Sqrt(v2[i]/c2)+eps)
	}
	return w2, m2, v2
}
