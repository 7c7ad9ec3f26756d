package kerneltest

// Finite-difference gradients of the float64 reference forwards. A backward
// op is checked against dL/dinput of L = sum(r * f(inputs)) for a random r
// that the backend receives as its upstream gradient.

// fdStep is the central-difference step. Inputs have magnitude >= 0.05, so
// no step crosses the kink of leaky ReLU.
const fdStep = 1e-5

// fdMaxInputs and fdMaxWork bound the finite-difference check of one case:
// the values it perturbs, and those times the multiply-adds of one reference
// forward pass (each value costs two). Larger cases are covered by the
// analytic reference only.
const (
	fdMaxInputs = 400
	fdMaxWork   = 4_000_000
)

// fdAffordable reports whether a case with this many perturbed values and
// this much forward work gets a finite-difference check.
func fdAffordable(inputs, forwardWork int) bool {
	return inputs <= fdMaxInputs && inputs*forwardWork <= fdMaxWork
}

// numericalGrad returns dL/dv by central differences, where loss computes L
// from the current contents of v; v is perturbed in place and restored.
func numericalGrad(v []float64, loss func() float64) []float64 {
	g := make([]float64, len(v))
	for i, old := range v {
		v[i] = old + fdStep
		lp := loss()
		v[i] = old - fdStep
		lm := loss()
		v[i] = old
		g[i] = (lp - lm) / (2 * fdStep)
	}
	return g
}

// dot returns sum r[i]*y[i], the scalar loss whose gradient with respect to y is r.
func dot(r []float32, y []float64) float64 {
	var s float64
	for i, v := range y {
		s += float64(r[i]) * v
	}
	return s
}
