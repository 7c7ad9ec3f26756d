package cpu

// Element-wise and layout references.

func leakyReLURef(y, x []float32, slope float32) {
	for i, v := range x {
		if v > 0 {
			y[i] = v
		} else {
			y[i] = slope * v
		}
	}
}

// leakyReLUBackwardRef uses the forward output y (same sign as the input).
func leakyReLUBackwardRef(dx, dy, y []float32, slope float32) {
	for i, v := range y {
		if v > 0 {
			dx[i] += dy[i]
		} else {
			dx[i] += slope * dy[i]
		}
	}
}

// concatRef: y (N, C, S) gets parts xs[i] (N, Ci, S) in order along C.
func concatRef(y []float32, xs [][]float32, cs []int, n, s int) {
	c := 0
	for _, ci := range cs {
		c += ci
	}
	for i := 0; i < n; i++ {
		off := 0
		for p, x := range xs {
			copy(y[(i*c+off)*s:(i*c+off+cs[p])*s], x[i*cs[p]*s:(i+1)*cs[p]*s])
			off += cs[p]
		}
	}
}

// concatBackwardRef: dxs[p] += its channel slice of dy.
func concatBackwardRef(dxs [][]float32, dy []float32, cs []int, n, s int) {
	c := 0
	for _, ci := range cs {
		c += ci
	}
	for i := 0; i < n; i++ {
		off := 0
		for p, dx := range dxs {
			src := dy[(i*c+off)*s : (i*c+off+cs[p])*s]
			dst := dx[i*cs[p]*s : (i+1)*cs[p]*s]
			for k, v := range src {
				dst[k] += v
			}
			off += cs[p]
		}
	}
}

func addRef(y, a, b []float32) {
	for i := range y {
		y[i] = a[i] + b[i]
	}
}

func scaleRef(y, x []float32, s float32) {
	for i, v := range x {
		y[i] = s * v
	}
}

func axpyRef(y, x []float32, a float32) {
	for i, v := range x {
		y[i] += a * v
	}
}

func fillRef(y []float32, v float32) {
	for i := range y {
		y[i] = v
	}
}

func sumRef(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s
}

func sumSquaresRef(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}
