package kerneltest

import (
	"math"

	"suture/tensor"
)

// Tolerances. A float32 sum of k random terms typically carries a rounding
// error of about sqrt(k) * 2^-24 times the result's size, in any order of
// summation (sequential, FMA, blocked, tree), so atol and rtol grow with
// sqrt(k). perTerm = 4e-6 is about 67 times 2^-24: room for unlucky
// elements, while a misplaced term of typical size still fails.
const (
	perTerm = 4e-6
	// fdSlack widens the tolerance when the reference is a finite-difference
	// gradient, whose own error adds to the backend's.
	fdSlack = 4
)

// minScale is the smallest magnitude of the values the suite draws.
const minScale = 0.05

// tolerance returns atol and rtol for results that are sums of terms float32
// products. atol scales with the RMS of want, so elements that cancel to
// near zero are judged against the size of the numbers around them, but not
// below minScale, so a tensor of one such element is judged against the
// size of what was summed into it.
func tolerance(want []float64, terms int) (atol, rtol float64) {
	s := perTerm * math.Sqrt(float64(max(terms, 1)))
	return s * max(rms(want), minScale), s
}

func rms(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var q float64
	for _, x := range v {
		q += x * x
	}
	return math.Sqrt(q / float64(len(v)))
}

// close compares a backend result with the float64 reference.
func (e *env) close(name string, got []float32, want []float64, terms int) {
	e.r.Helper()
	e.count.compared++
	atol, rtol := tolerance(want, terms)
	if err := tensor.CloseError(name, got, want, atol, rtol); err != nil {
		e.fail("%v", err)
	}
}

// closeFD compares a backend gradient with a finite-difference gradient.
func (e *env) closeFD(name string, got []float32, want []float64, terms int) {
	e.r.Helper()
	e.count.fd++
	atol, rtol := tolerance(want, terms)
	atol, rtol = fdSlack*atol+1e-7, fdSlack*rtol
	if err := tensor.CloseError(name+" vs finite differences", got, want, atol, rtol); err != nil {
		e.fail("%v", err)
	}
}

// closeScalar compares a scalar result (a loss, a sum) with the reference;
// scale is the size of the numbers it was summed from.
func (e *env) closeScalar(name string, got, want, scale float64, terms int) {
	e.r.Helper()
	e.count.compared++
	s := perTerm * math.Sqrt(float64(max(terms, 1)))
	if math.IsNaN(got) || math.Abs(got-want) > s*scale+s*math.Abs(want)+1e-12 {
		e.fail("%s: got %.9g, want %.9g (difference %.3g)", name, got, want, got-want)
	}
}
