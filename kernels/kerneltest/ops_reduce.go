package kerneltest

import (
	"math"

	"suture/tensor"
)

// sumTol is the error allowed for Sum and SumSquares relative to the sum of
// the magnitudes of the terms: the contract asks for float64 accumulation,
// and a single dropped term (magnitude >= 0.05 here) is far larger.
const sumTol = 1e-7

func testSum(e *env) {
	testReduction(e, e.b.Sum, func(v float64) float64 { return v })
}

func testSumSquares(e *env) {
	testReduction(e, e.b.SumSquares, func(v float64) float64 { return v * v })
}

// testReduction checks a sum of f over all elements.
func testReduction(e *env, op func(x *tensor.Tensor) (float64, error), f func(float64) float64) {
	for _, s := range elemShapes {
		e.run(shapeLabel(s), func() {
			x := e.vals(numel(s...))
			got, err := op(e.in(x, s...))
			e.must(err, e.op)
			e.count.compared++
			var want, mag float64
			for _, v := range x {
				want += f(float64(v))
				mag += math.Abs(f(float64(v)))
			}
			if math.IsNaN(got) || math.Abs(got-want) > sumTol*mag {
				e.fail("got %.12g, want %.12g (difference %.3g, allowed %.3g)", got, want, got-want, sumTol*mag)
			}
		})
	}
	e.run("errors", func() {
		e.expectError("nil tensor", func() error { _, err := op(nil); return err })
	})
}
