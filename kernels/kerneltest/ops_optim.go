package kerneltest

import "fmt"

// optimSizes are flat parameter-buffer lengths around the vector-width and
// threading cutoffs.
var optimSizes = []int{1, 7, 8, 9, 31, 33, 100003}

func testSGDNesterov(e *env) {
	type hyper struct{ lr, mom, wd float32 }
	hs := []hyper{{0.01, 0.99, 3e-5}, {0.1, 0.9, 0}, {1e-3, 0, 0.1}}
	for i, n := range optimSizes {
		h := hs[i%len(hs)]
		e.run(fmt.Sprintf("n%d %+v", n, h), func() {
			w0, v0, g := e.vals(n), e.vals(n), e.vals(n)
			w, v := e.acc(w0, n), e.acc(v0, n)
			e.must(e.b.SGDNesterov(w, v, e.in(g, n), h.lr, h.mom, h.wd), "SGDNesterov")
			ww, wv := refSGDNesterov(to64(w0), to64(v0), to64(g), float64(h.lr), float64(h.mom), float64(h.wd))
			e.close("w", e.down(w), ww, 4)
			e.close("v", e.down(v), wv, 3)
		})
	}
	e.run("errors", func() {
		a := e.zeros(5)
		e.expectError("nil w", func() error { return e.b.SGDNesterov(nil, a, a, 0.1, 0.9, 0) })
		e.expectError("nil g", func() error { return e.b.SGDNesterov(a, e.zeros(5), nil, 0.1, 0.9, 0) })
		e.expectError("v of length 4 for w of 5", func() error { return e.b.SGDNesterov(a, e.zeros(4), e.zeros(5), 0.1, 0.9, 0) })
	})
}

func testAdamW(e *env) {
	type hyper struct {
		lr, b1, b2, eps, wd float32
		step                int
	}
	hs := []hyper{{1e-3, 0.9, 0.999, 1e-8, 0.01, 1}, {3e-4, 0.9, 0.999, 1e-8, 0, 7}, {1e-2, 0.8, 0.99, 1e-6, 0.05, 1000}}
	for i, n := range optimSizes {
		h := hs[i%len(hs)]
		e.run(fmt.Sprintf("n%d %+v", n, h), func() {
			w0, m0, v0, g := e.vals(n), e.vals(n), e.uniform(n, 1e-4, 1), e.vals(n)
			w, m, v := e.acc(w0, n), e.acc(m0, n), e.acc(v0, n)
			e.must(e.b.AdamW(w, m, v, e.in(g, n), h.lr, h.b1, h.b2, h.eps, h.wd, h.step), "AdamW")
			ww, wm, wv := refAdamW(to64(w0), to64(m0), to64(v0), to64(g), float64(h.lr), float64(h.b1), float64(h.b2), float64(h.eps), float64(h.wd), h.step)
			e.close("w", e.down(w), ww, 4)
			e.close("m", e.down(m), wm, 2)
			e.close("v", e.down(v), wv, 2)
		})
	}
	e.run("errors", func() {
		a := e.zeros(5)
		e.expectError("step 0", func() error { return e.b.AdamW(a, e.zeros(5), e.zeros(5), e.zeros(5), 1e-3, 0.9, 0.999, 1e-8, 0, 0) })
		e.expectError("nil m", func() error { return e.b.AdamW(a, nil, e.zeros(5), e.zeros(5), 1e-3, 0.9, 0.999, 1e-8, 0, 1) })
		e.expectError("g of length 6 for w of 5", func() error {
			return e.b.AdamW(a, e.zeros(5), e.zeros(5), e.zeros(6), 1e-3, 0.9, 0.999, 1e-8, 0, 1)
		})
	})
}
