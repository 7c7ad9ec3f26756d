package kerneltest

import "fmt"

// convTCases: conv-transpose with kernel == stride (2x2, the U-Net's
// up-sampling, and one non-square kernel), sizes around the cutoffs; the
// last ones are small enough for finite differences.
var convTCases = []convTGeom{
	{n: 1, ci: 1, co: 1, h: 1, w: 1, kh: 2, kw: 2},
	{n: 2, ci: 3, co: 8, h: 7, w: 9, kh: 2, kw: 2},
	{n: 3, ci: 33, co: 9, h: 8, w: 7, kh: 2, kw: 2},
	{n: 1, ci: 8, co: 32, h: 3, w: 5, kh: 2, kw: 2},
	{n: 9, ci: 7, co: 31, h: 4, w: 3, kh: 2, kw: 2},
	{n: 1, ci: 32, co: 33, h: 1, w: 1, kh: 2, kw: 2},
	{n: 2, ci: 4, co: 3, h: 5, w: 3, kh: 3, kw: 2}, // non-square kernel
	{n: 2, ci: 2, co: 3, h: 3, w: 2, kh: 2, kw: 2},
	{n: 1, ci: 2, co: 3, h: 2, w: 3, kh: 3, kw: 2},
}

func (g convTGeom) String() string {
	return fmt.Sprintf("n%d ci%d co%d %dx%d k%dx%d", g.n, g.ci, g.co, g.h, g.w, g.kh, g.kw)
}

func testConvTranspose2d(e *env) {
	for i, g := range convTCases {
		e.run(g.String(), func() {
			x, w := e.vals(numel(g.xShape()...)), e.vals(numel(g.wShape()...))
			var b []float32
			if withBias(i) {
				b = e.vals(g.co)
			}
			y := e.out(g.yShape()...)
			e.must(e.b.ConvTranspose2d(y, e.in(x, g.xShape()...), e.in(w, g.wShape()...), e.inOrNil(b, g.co)), "ConvTranspose2d")
			e.close("y", e.down(y), refConvTranspose2d(to64(x), to64(w), to64(b), g), g.ci+1)
		})
	}
	e.run("errors", func() {
		x, w, y, b := e.zeros(1, 3, 4, 5), e.zeros(3, 2, 2, 2), e.zeros(1, 2, 8, 10), e.zeros(2)
		e.expectError("nil input", func() error { return e.b.ConvTranspose2d(y, nil, w, b) })
		e.expectError("nil weight", func() error { return e.b.ConvTranspose2d(y, x, nil, b) })
		e.expectError("nil output", func() error { return e.b.ConvTranspose2d(nil, x, w, b) })
		e.expectError("input channels 4, weight expects 3", func() error { return e.b.ConvTranspose2d(y, e.zeros(1, 4, 4, 5), w, b) })
		e.expectError("output of the wrong size", func() error { return e.b.ConvTranspose2d(e.zeros(1, 2, 8, 8), x, w, b) })
		e.expectError("rank-3 input", func() error { return e.b.ConvTranspose2d(y, e.zeros(3, 4, 5), w, b) })
		e.expectError("bias of length 3 for 2 output channels", func() error { return e.b.ConvTranspose2d(y, x, w, e.zeros(3)) })
		if xe, ok := e.tryAlloc(0, 3, 4, 5); ok {
			if ye, ok := e.tryAlloc(0, 2, 8, 10); ok {
				e.expectError("empty batch", func() error { return e.b.ConvTranspose2d(ye, xe, w, b) })
			}
		}
	})
}

func testConvTranspose2dBackwardData(e *env) {
	for _, g := range convTCases {
		e.run(g.String(), func() {
			w, dy, dx0 := e.vals(numel(g.wShape()...)), e.vals(numel(g.yShape()...)), e.vals(numel(g.xShape()...))
			dx := e.acc(dx0, g.xShape()...)
			e.must(e.b.ConvTranspose2dBackwardData(dx, e.in(dy, g.yShape()...), e.in(w, g.wShape()...)), "ConvTranspose2dBackwardData")
			got := e.down(dx)
			w64 := to64(w)
			terms := g.co*g.kh*g.kw + 1
			e.close("dx", got, plus(dx0, refConvTranspose2dBackwardData(to64(dy), w64, g)), terms)
			if fdAffordable(len(dx0), len(dy)*g.ci) {
				x64 := to64(e.vals(len(dx0)))
				num := numericalGrad(x64, func() float64 { return dot(dy, refConvTranspose2d(x64, w64, nil, g)) })
				e.closeFD("dx", got, plus(dx0, num), terms)
			}
		})
	}
	e.run("errors", func() {
		dx, w, dy := e.zeros(1, 3, 4, 5), e.zeros(3, 2, 2, 2), e.zeros(1, 2, 8, 10)
		e.expectError("nil dy", func() error { return e.b.ConvTranspose2dBackwardData(dx, nil, w) })
		e.expectError("nil dx", func() error { return e.b.ConvTranspose2dBackwardData(nil, dy, w) })
		e.expectError("dy of the wrong size", func() error { return e.b.ConvTranspose2dBackwardData(dx, e.zeros(1, 2, 8, 9), w) })
		e.expectError("dx channels 2, weight expects 3", func() error { return e.b.ConvTranspose2dBackwardData(e.zeros(1, 2, 4, 5), dy, w) })
		if dxe, ok := e.tryAlloc(0, 3, 4, 5); ok {
			if dye, ok := e.tryAlloc(0, 2, 8, 10); ok {
				e.expectError("empty batch", func() error { return e.b.ConvTranspose2dBackwardData(dxe, dye, w) })
			}
		}
	})
}

func testConvTranspose2dBackwardFilter(e *env) {
	for i, g := range convTCases {
		e.run(g.String(), func() {
			x, dy := e.vals(numel(g.xShape()...)), e.vals(numel(g.yShape()...))
			dw0 := e.vals(numel(g.wShape()...))
			dw := e.acc(dw0, g.wShape()...)
			var db0 []float32
			if withBias(i) {
				db0 = e.vals(g.co)
			}
			db := e.accOrNil(db0, g.co)
			e.must(e.b.ConvTranspose2dBackwardFilter(dw, db, e.in(dy, g.yShape()...), e.in(x, g.xShape()...)), "ConvTranspose2dBackwardFilter")
			x64 := to64(x)
			wantW, wantB := refConvTranspose2dBackwardFilter(to64(dy), x64, g)
			gotW := e.down(dw)
			termsW, termsB := g.n*g.h*g.w+1, g.n*g.h*g.kh*g.w*g.kw+1
			e.close("dw", gotW, plus(dw0, wantW), termsW)
			var gotB []float32
			if db != nil {
				gotB = e.down(db)
				e.close("db", gotB, plus(db0, wantB), termsB)
			}
			if fdAffordable(len(dw0)+g.co, len(dy)*g.ci) {
				w64, b64 := to64(e.vals(len(dw0))), to64(e.vals(g.co))
				loss := func() float64 { return dot(dy, refConvTranspose2d(x64, w64, b64, g)) }
				e.closeFD("dw", gotW, plus(dw0, numericalGrad(w64, loss)), termsW)
				if db != nil {
					e.closeFD("db", gotB, plus(db0, numericalGrad(b64, loss)), termsB)
				}
			}
		})
	}
	e.run("errors", func() {
		dw, db, x, dy := e.zeros(3, 2, 2, 2), e.zeros(2), e.zeros(1, 3, 4, 5), e.zeros(1, 2, 8, 10)
		e.expectError("nil input", func() error { return e.b.ConvTranspose2dBackwardFilter(dw, db, dy, nil) })
		e.expectError("nil dy", func() error { return e.b.ConvTranspose2dBackwardFilter(dw, db, nil, x) })
		e.expectError("nil dw", func() error { return e.b.ConvTranspose2dBackwardFilter(nil, db, dy, x) })
		e.expectError("db of length 3 for 2 output channels", func() error { return e.b.ConvTranspose2dBackwardFilter(dw, e.zeros(3), dy, x) })
		e.expectError("dy of the wrong size", func() error { return e.b.ConvTranspose2dBackwardFilter(dw, db, e.zeros(1, 2, 7, 10), x) })
		if xe, ok := e.tryAlloc(0, 3, 4, 5); ok {
			if dye, ok := e.tryAlloc(0, 2, 8, 10); ok {
				e.expectError("empty batch", func() error { return e.b.ConvTranspose2dBackwardFilter(dw, db, dye, xe) })
			}
		}
	})
}
