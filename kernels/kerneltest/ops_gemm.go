package kerneltest

import "fmt"

// gemmSizes are (M, N, K) around the usual register-tile and cache-block
// cutoffs, each dimension differing from the others so swapped indices show.
var gemmSizes = [][3]int{
	{1, 1, 1}, {1, 9, 7}, {7, 8, 9}, {8, 1, 33}, {31, 33, 32}, {63, 65, 64},
	{65, 64, 63}, {128, 3, 129}, {33, 130, 17}, {17, 20, 257}, {97, 130, 300},
}

// testGemm checks the four transpose combinations, beta == 0 on a NaN-filled
// c (which must not propagate), and beta != 0.
func testGemm(e *env) {
	for _, s := range gemmSizes {
		m, n, k := s[0], s[1], s[2]
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			ta, tb := tr[0], tr[1]
			e.run(fmt.Sprintf("%s m%d n%d k%d", transName(ta, tb), m, n, k), func() {
				aShape, bShape := []int{m, k}, []int{k, n}
				if ta {
					aShape = []int{k, m}
				}
				if tb {
					bShape = []int{n, k}
				}
				a, b := e.vals(m*k), e.vals(k*n)
				at, bt := e.in(a, aShape...), e.in(b, bShape...)
				for _, ab := range [][2]float32{{1, 0}, {-0.75, 0}, {-0.75, 0.5}, {1, 1}} {
					alpha, beta := ab[0], ab[1]
					var c0 []float32
					c := e.out(m, n)
					if beta != 0 {
						c0 = e.vals(m * n)
						e.upload(c, c0)
					}
					e.must(e.b.Gemm(c, at, bt, ta, tb, alpha, beta), "Gemm")
					want := refGemm(to64(a), to64(b), to64(c0), ta, tb, m, n, k, float64(alpha), float64(beta))
					e.close(fmt.Sprintf("c (alpha %g, beta %g)", alpha, beta), e.down(c), want, k+1)
				}
			})
		}
	}
	e.run("errors", func() {
		a, b, c := e.zeros(3, 4), e.zeros(4, 5), e.zeros(3, 5)
		e.expectError("nil c", func() error { return e.b.Gemm(nil, a, b, false, false, 1, 0) })
		e.expectError("nil a", func() error { return e.b.Gemm(c, nil, b, false, false, 1, 0) })
		e.expectError("nil b", func() error { return e.b.Gemm(c, a, nil, false, false, 1, 0) })
		e.expectError("inner dimensions 4 and 5", func() error { return e.b.Gemm(c, a, e.zeros(5, 5), false, false, 1, 0) })
		e.expectError("transA makes inner dimensions differ", func() error { return e.b.Gemm(c, a, b, true, false, 1, 0) })
		e.expectError("c of the wrong shape", func() error { return e.b.Gemm(e.zeros(5, 3), a, b, false, false, 1, 0) })
		e.expectError("rank-3 a", func() error { return e.b.Gemm(c, e.zeros(1, 3, 4), b, false, false, 1, 0) })
		e.expectError("rank-1 c", func() error { return e.b.Gemm(e.zeros(15), a, b, false, false, 1, 0) })
	})
}

func transName(ta, tb bool) string {
	n := []byte("nn")
	if ta {
		n[0] = 't'
	}
	if tb {
		n[1] = 't'
	}
	return string(n)
}

func shapeLabel(shape []int) string {
	s := ""
	for i, d := range shape {
		if i > 0 {
			s += "x"
		}
		s += fmt.Sprint(d)
	}
	return s
}
