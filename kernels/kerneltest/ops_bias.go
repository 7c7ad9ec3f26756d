package kerneltest

// biasShapes are (N, C, H, W) with channel counts and plane sizes around the cutoffs.
var biasShapes = [][]int{
	{1, 1, 1, 1}, {2, 3, 7, 9}, {3, 33, 1, 1}, {8, 32, 3, 5}, {1, 9, 31, 33}, {9, 8, 2, 2}, {2, 7, 1, 5},
}

func testBiasAdd(e *env) {
	for _, s := range biasShapes {
		e.run(shapeLabel(s), func() {
			n, c, hw := s[0], s[1], s[2]*s[3]
			y0, b := e.vals(numel(s...)), e.vals(c)
			y := e.acc(y0, s...)
			e.must(e.b.BiasAdd(y, e.in(b, c)), "BiasAdd")
			want := to64(y0)
			addChannel(want, to64(b), n, c, hw)
			e.close("y", e.down(y), want, 2)
		})
	}
	e.run("errors", func() {
		y, b := e.zeros(2, 3, 4, 5), e.zeros(3)
		e.expectError("nil bias", func() error { return e.b.BiasAdd(y, nil) })
		e.expectError("nil tensor", func() error { return e.b.BiasAdd(nil, b) })
		e.expectError("bias of length 4 for 3 channels", func() error { return e.b.BiasAdd(y, e.zeros(4)) })
		e.expectError("rank-2 bias", func() error { return e.b.BiasAdd(y, e.zeros(1, 3)) })
		e.expectError("rank-1 tensor", func() error { return e.b.BiasAdd(e.zeros(3), b) })
	})
}

func testBiasGrad(e *env) {
	for _, s := range biasShapes {
		e.run(shapeLabel(s), func() {
			n, c, hw := s[0], s[1], s[2]*s[3]
			dy, db0 := e.vals(numel(s...)), e.vals(c)
			db := e.acc(db0, c)
			e.must(e.b.BiasGrad(db, e.in(dy, s...)), "BiasGrad")
			got := e.down(db)
			terms := n*hw + 1
			e.close("db", got, plus(db0, sumChannel(to64(dy), n, c, hw)), terms)
			if !fdAffordable(c, len(dy)) {
				return
			}
			// L = sum(dy * (y0 + b)) with b broadcast over (N, H, W).
			y0, b64 := to64(e.vals(len(dy))), to64(e.vals(c))
			num := numericalGrad(b64, func() float64 {
				y := append([]float64(nil), y0...)
				addChannel(y, b64, n, c, hw)
				return dot(dy, y)
			})
			e.closeFD("db", got, plus(db0, num), terms)
		})
	}
	e.run("errors", func() {
		dy, db := e.zeros(2, 3, 4, 5), e.zeros(3)
		e.expectError("nil db", func() error { return e.b.BiasGrad(nil, dy) })
		e.expectError("nil dy", func() error { return e.b.BiasGrad(db, nil) })
		e.expectError("db of length 2 for 3 channels", func() error { return e.b.BiasGrad(e.zeros(2), dy) })
		e.expectError("rank-1 dy", func() error { return e.b.BiasGrad(db, e.zeros(3)) })
	})
}
