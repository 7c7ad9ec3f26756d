package kerneltest

import (
	"fmt"

	"suture/kernels"
)

// convCases cover batch, channel and spatial sizes 1, 3, 7, 8, 9, 31, 32, 33,
// odd and unequal H and W, strides 1 and 2, padding 0 and 1, kernels 1, 2, 3,
// a non-square kernel/stride/padding, and the 1x1 stitch. The small ones are
// also checked against finite differences.
var convCases = []convGeom{
	{n: 1, ci: 1, h: 1, w: 1, co: 1, kh: 1, kw: 1, sh: 1, sw: 1},
	{n: 2, ci: 3, h: 7, w: 9, co: 8, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1},
	{n: 3, ci: 8, h: 9, w: 8, co: 7, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1},
	{n: 1, ci: 9, h: 8, w: 7, co: 31, kh: 3, kw: 3, sh: 1, sw: 1},
	{n: 2, ci: 32, h: 7, w: 9, co: 33, kh: 1, kw: 1, sh: 1, sw: 1}, // stitch
	{n: 8, ci: 33, h: 3, w: 5, co: 3, kh: 1, kw: 1, sh: 1, sw: 1},  // stitch
	{n: 1, ci: 33, h: 9, w: 9, co: 32, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1},
	{n: 2, ci: 7, h: 31, w: 33, co: 9, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1},
	{n: 1, ci: 31, h: 32, w: 33, co: 3, kh: 2, kw: 2, sh: 2, sw: 2},
	{n: 9, ci: 3, h: 33, w: 32, co: 5, kh: 3, kw: 3, sh: 2, sw: 2},
	{n: 3, ci: 3, h: 8, w: 9, co: 4, kh: 1, kw: 1, sh: 2, sw: 2, ph: 1, pw: 1},
	{n: 2, ci: 4, h: 5, w: 6, co: 3, kh: 2, kw: 2, sh: 1, sw: 1, ph: 1, pw: 1},
	{n: 2, ci: 3, h: 9, w: 7, co: 4, kh: 3, kw: 1, sh: 2, sw: 1, ph: 1},
	{n: 1, ci: 2, h: 3, w: 3, co: 3, kh: 3, kw: 3, sh: 1, sw: 1},               // kernel covers the input
	{n: 1, ci: 3, h: 2, w: 5, co: 2, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1}, // H < kernel, padded
	// Small enough for finite differences.
	{n: 2, ci: 2, h: 5, w: 4, co: 3, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1},
	{n: 1, ci: 2, h: 5, w: 5, co: 2, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1},
	{n: 2, ci: 3, h: 4, w: 3, co: 2, kh: 1, kw: 1, sh: 1, sw: 1}, // stitch
	{n: 1, ci: 2, h: 5, w: 4, co: 3, kh: 3, kw: 1, sh: 2, sw: 1, ph: 1},
	{n: 2, ci: 2, h: 4, w: 5, co: 2, kh: 2, kw: 2, sh: 2, sw: 2},
}

func (g convGeom) params() kernels.ConvParams {
	return kernels.ConvParams{StrideH: g.sh, StrideW: g.sw, PadH: g.ph, PadW: g.pw}
}

func (g convGeom) String() string {
	s := fmt.Sprintf("n%d ci%d co%d %dx%d k%dx%d s%dx%d p%dx%d", g.n, g.ci, g.co, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw)
	if g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 {
		s += " (1x1 stitch)"
	}
	return s
}

// convTerms is the number of products summed into one output element.
func (g convGeom) convTerms() int { return g.ci * g.kh * g.kw }

// transposedTerms is the most products summed into one input gradient.
func (g convGeom) transposedTerms() int {
	return g.co * ((g.kh + g.sh - 1) / g.sh) * ((g.kw + g.sw - 1) / g.sw)
}

// withBias decides per case whether the optional bias (or bias gradient) is
// passed, so both forms are covered.
func withBias(i int) bool { return i%3 != 2 }

func testConv2d(e *env) {
	for i, g := range convCases {
		e.run(g.String(), func() {
			x, w := e.vals(numel(g.xShape()...)), e.vals(numel(g.wShape()...))
			var b []float32
			if withBias(i) {
				b = e.vals(g.co)
			}
			y := e.out(g.yShape()...)
			e.must(e.b.Conv2d(y, e.in(x, g.xShape()...), e.in(w, g.wShape()...), e.inOrNil(b, g.co), g.params()), "Conv2d")
			e.close("y", e.down(y), refConv2d(to64(x), to64(w), to64(b), g), g.convTerms()+1)
		})
	}
	e.run("errors", func() {
		p := kernels.Conv(1, 1)
		x, w, y, b := e.zeros(1, 3, 5, 5), e.zeros(2, 3, 3, 3), e.zeros(1, 2, 5, 5), e.zeros(2)
		e.expectError("nil input", func() error { return e.b.Conv2d(y, nil, w, b, p) })
		e.expectError("nil weight", func() error { return e.b.Conv2d(y, x, nil, b, p) })
		e.expectError("nil output", func() error { return e.b.Conv2d(nil, x, w, b, p) })
		e.expectError("input channels 4, weight expects 3", func() error { return e.b.Conv2d(y, e.zeros(1, 4, 5, 5), w, b, p) })
		e.expectError("rank-3 input", func() error { return e.b.Conv2d(y, e.zeros(3, 5, 5), w, b, p) })
		e.expectError("rank-3 weight", func() error { return e.b.Conv2d(y, x, e.zeros(2, 3, 9), b, p) })
		e.expectError("output of the wrong size", func() error { return e.b.Conv2d(e.zeros(1, 2, 4, 4), x, w, b, p) })
		e.expectError("output with the wrong channels", func() error { return e.b.Conv2d(e.zeros(1, 3, 5, 5), x, w, b, p) })
		e.expectError("bias of length 3 for 2 output channels", func() error { return e.b.Conv2d(y, x, w, e.zeros(3), p) })
		e.expectError("stride 0", func() error { return e.b.Conv2d(y, x, w, b, kernels.Conv(0, 1)) })
		e.expectError("negative padding", func() error { return e.b.Conv2d(y, x, w, b, kernels.Conv(1, -1)) })
		e.expectError("3x3 kernel on a 2x2 input, stride 2, no padding", func() error {
			return e.b.Conv2d(e.zeros(1, 2, 1, 1), e.zeros(1, 3, 2, 2), w, b, kernels.Conv(2, 0))
		})
		if xe, ok := e.tryAlloc(0, 3, 5, 5); ok {
			if ye, ok := e.tryAlloc(0, 2, 5, 5); ok {
				e.expectError("empty batch", func() error { return e.b.Conv2d(ye, xe, w, b, p) })
			}
		}
		if xe, ok := e.tryAlloc(1, 3, 0, 5); ok {
			if ye, ok := e.tryAlloc(1, 2, 2, 7); ok {
				e.expectError("input of height 0 (1x1 kernel, padding 1)", func() error { return e.b.Conv2d(ye, xe, e.zeros(2, 3, 1, 1), b, p) })
			}
		}
	})
}

func testConv2dBackwardData(e *env) {
	for _, g := range convCases {
		e.run(g.String(), func() {
			w, dy, dx0 := e.vals(numel(g.wShape()...)), e.vals(numel(g.yShape()...)), e.vals(numel(g.xShape()...))
			dx := e.acc(dx0, g.xShape()...)
			e.must(e.b.Conv2dBackwardData(dx, e.in(dy, g.yShape()...), e.in(w, g.wShape()...), g.params()), "Conv2dBackwardData")
			got := e.down(dx)
			w64 := to64(w)
			terms := g.transposedTerms() + 1
			e.close("dx", got, plus(dx0, refConv2dBackwardData(to64(dy), w64, g)), terms)
			if fdAffordable(len(dx0), len(dy)*g.convTerms()) {
				x64 := to64(e.vals(len(dx0)))
				num := numericalGrad(x64, func() float64 { return dot(dy, refConv2d(x64, w64, nil, g)) })
				e.closeFD("dx", got, plus(dx0, num), terms)
			}
		})
	}
	e.run("errors", func() {
		p := kernels.Conv(1, 1)
		dx, dy, w := e.zeros(1, 3, 5, 5), e.zeros(1, 2, 5, 5), e.zeros(2, 3, 3, 3)
		e.expectError("nil dy", func() error { return e.b.Conv2dBackwardData(dx, nil, w, p) })
		e.expectError("nil dx", func() error { return e.b.Conv2dBackwardData(nil, dy, w, p) })
		e.expectError("nil weight", func() error { return e.b.Conv2dBackwardData(dx, dy, nil, p) })
		e.expectError("dy of the wrong size", func() error { return e.b.Conv2dBackwardData(dx, e.zeros(1, 2, 3, 3), w, p) })
		e.expectError("dx channels 4, weight expects 3", func() error { return e.b.Conv2dBackwardData(e.zeros(1, 4, 5, 5), dy, w, p) })
		e.expectError("rank-2 dy", func() error { return e.b.Conv2dBackwardData(dx, e.zeros(2, 25), w, p) })
		if dxe, ok := e.tryAlloc(0, 3, 5, 5); ok {
			if dye, ok := e.tryAlloc(0, 2, 5, 5); ok {
				e.expectError("empty batch", func() error { return e.b.Conv2dBackwardData(dxe, dye, w, p) })
			}
		}
	})
}

func testConv2dBackwardFilter(e *env) {
	for i, g := range convCases {
		e.run(g.String(), func() {
			x, dy := e.vals(numel(g.xShape()...)), e.vals(numel(g.yShape()...))
			dw0 := e.vals(numel(g.wShape()...))
			dw := e.acc(dw0, g.wShape()...)
			var db0 []float32
			if withBias(i) {
				db0 = e.vals(g.co)
			}
			db := e.accOrNil(db0, g.co)
			e.must(e.b.Conv2dBackwardFilter(dw, db, e.in(dy, g.yShape()...), e.in(x, g.xShape()...), g.params()), "Conv2dBackwardFilter")
			x64 := to64(x)
			wantW, wantB := refConv2dBackwardFilter(to64(dy), x64, g)
			gotW := e.down(dw)
			terms := g.n*g.ho()*g.wo() + 1 // dw and db sum over (N, Ho, Wo), plus the prefill
			e.close("dw", gotW, plus(dw0, wantW), terms)
			var gotB []float32
			if db != nil {
				gotB = e.down(db)
				e.close("db", gotB, plus(db0, wantB), terms)
			}
			if fdAffordable(len(dw0)+g.co, len(dy)*g.convTerms()) {
				w64, b64 := to64(e.vals(len(dw0))), to64(e.vals(g.co))
				loss := func() float64 { return dot(dy, refConv2d(x64, w64, b64, g)) }
				e.closeFD("dw", gotW, plus(dw0, numericalGrad(w64, loss)), terms)
				if db != nil {
					e.closeFD("db", gotB, plus(db0, numericalGrad(b64, loss)), terms)
				}
			}
		})
	}
	e.run("errors", func() {
		p := kernels.Conv(1, 1)
		dw, db, dy, x := e.zeros(2, 3, 3, 3), e.zeros(2), e.zeros(1, 2, 5, 5), e.zeros(1, 3, 5, 5)
		e.expectError("nil input", func() error { return e.b.Conv2dBackwardFilter(dw, db, dy, nil, p) })
		e.expectError("nil dy", func() error { return e.b.Conv2dBackwardFilter(dw, db, nil, x, p) })
		e.expectError("nil dw", func() error { return e.b.Conv2dBackwardFilter(nil, db, dy, x, p) })
		e.expectError("db of length 3 for 2 output channels", func() error { return e.b.Conv2dBackwardFilter(dw, e.zeros(3), dy, x, p) })
		e.expectError("dy of the wrong size", func() error { return e.b.Conv2dBackwardFilter(dw, db, e.zeros(1, 2, 4, 5), x, p) })
		e.expectError("dw channels 4, input has 3", func() error { return e.b.Conv2dBackwardFilter(e.zeros(2, 4, 3, 3), db, dy, x, p) })
		if xe, ok := e.tryAlloc(0, 3, 5, 5); ok {
			if dye, ok := e.tryAlloc(0, 2, 5, 5); ok {
				e.expectError("empty batch", func() error { return e.b.Conv2dBackwardFilter(dw, db, dye, xe, p) })
			}
		}
	})
}
