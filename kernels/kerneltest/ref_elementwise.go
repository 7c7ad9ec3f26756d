package kerneltest

// Float64 references of the element-wise and layout ops.

func refLeakyReLU(x []float64, slope float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		if v > 0 {
			y[i] = v
		} else {
			y[i] = slope * v
		}
	}
	return y
}

// refLeakyReLUBackward returns dx = dy * (1 if x > 0 else slope).
func refLeakyReLUBackward(dy, x []float64, slope float64) []float64 {
	dx := make([]float64, len(x))
	for i, v := range x {
		if v > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = slope * dy[i]
		}
	}
	return dx
}

// refConcat joins parts xs[p]: (n, cs[p], s) along the channel dimension.
func refConcat(xs [][]float64, cs []int, n, s int) []float64 {
	var y []float64
	for i := 0; i < n; i++ {
		for p, x := range xs {
			y = append(y, x[i*cs[p]*s:(i+1)*cs[p]*s]...)
		}
	}
	return y
}

// refConcatBackward splits dy: (n, sum cs, s) into the parts' gradients.
func refConcatBackward(dy []float64, cs []int, n, s int) [][]float64 {
	dxs := make([][]float64, len(cs))
	off := 0
	for i := 0; i < n; i++ {
		for p, c := range cs {
			dxs[p] = append(dxs[p], dy[off:off+c*s]...)
			off += c * s
		}
	}
	return dxs
}

// refAxpy returns a*x + y.
func refAxpy(a float64, x, y []float64) []float64 {
	z := make([]float64, len(x))
	for i := range x {
		z[i] = a*x[i] + y[i]
	}
	return z
}

func refScale(x []float64, s float64) []float64 { return refAxpy(s, x, make([]float64, len(x))) }

func refAdd(a, b []float64) []float64 { return refAxpy(1, a, b) }
