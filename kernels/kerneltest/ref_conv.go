package kerneltest

// Float64 convolution references. They return the op's contribution; the
// tests add the pre-filled gradient themselves.

// convGeom is the geometry of a 2-D convolution:
// x: (n, ci, h, w), w: (co, ci, kh, kw), y: (n, co, ho, wo).
type convGeom struct {
	n, ci, h, w    int
	co, kh, kw     int
	sh, sw, ph, pw int
}

func (g convGeom) ho() int { return (g.h+2*g.ph-g.kh)/g.sh + 1 }
func (g convGeom) wo() int { return (g.w+2*g.pw-g.kw)/g.sw + 1 }

func (g convGeom) xShape() []int { return []int{g.n, g.ci, g.h, g.w} }
func (g convGeom) wShape() []int { return []int{g.co, g.ci, g.kh, g.kw} }
func (g convGeom) yShape() []int { return []int{g.n, g.co, g.ho(), g.wo()} }

// taps calls f(xi, wi, yi) for every (input, weight, output) index triple
// that the convolution multiplies together: y[yi] += x[xi] * w[wi].
func (g convGeom) taps(f func(xi, wi, yi int)) {
	ho, wo := g.ho(), g.wo()
	for n := 0; n < g.n; n++ {
		for co := 0; co < g.co; co++ {
			for oh := 0; oh < ho; oh++ {
				for ow := 0; ow < wo; ow++ {
					yi := ((n*g.co+co)*ho+oh)*wo + ow
					for ci := 0; ci < g.ci; ci++ {
						for i := 0; i < g.kh; i++ {
							ih := oh*g.sh - g.ph + i
							if ih < 0 || ih >= g.h {
								continue
							}
							for j := 0; j < g.kw; j++ {
								iw := ow*g.sw - g.pw + j
								if iw < 0 || iw >= g.w {
									continue
								}
								f(((n*g.ci+ci)*g.h+ih)*g.w+iw, ((co*g.ci+ci)*g.kh+i)*g.kw+j, yi)
							}
						}
					}
				}
			}
		}
	}
}

// refConv2d returns y = conv(x, w) + b; b may be nil.
func refConv2d(x, w, b []float64, g convGeom) []float64 {
	y := make([]float64, numel(g.yShape()...))
	g.taps(func(xi, wi, yi int) { y[yi] += x[xi] * w[wi] })
	if b != nil {
		addChannel(y, b, g.n, g.co, g.ho()*g.wo())
	}
	return y
}

// refConv2dBackwardData returns dL/dx for upstream gradient dy.
func refConv2dBackwardData(dy, w []float64, g convGeom) []float64 {
	dx := make([]float64, numel(g.xShape()...))
	g.taps(func(xi, wi, yi int) { dx[xi] += dy[yi] * w[wi] })
	return dx
}

// refConv2dBackwardFilter returns dL/dw and dL/db for upstream gradient dy.
func refConv2dBackwardFilter(dy, x []float64, g convGeom) (dw, db []float64) {
	dw = make([]float64, numel(g.wShape()...))
	g.taps(func(xi, wi, yi int) { dw[wi] += dy[yi] * x[xi] })
	return dw, sumChannel(dy, g.n, g.co, g.ho()*g.wo())
}

// convTGeom is the geometry of a conv-transpose with kernel == stride:
// x: (n, ci, h, w), w: (ci, co, kh, kw), y: (n, co, h*kh, w*kw).
type convTGeom struct{ n, ci, co, h, w, kh, kw int }

func (g convTGeom) xShape() []int { return []int{g.n, g.ci, g.h, g.w} }
func (g convTGeom) wShape() []int { return []int{g.ci, g.co, g.kh, g.kw} }
func (g convTGeom) yShape() []int { return []int{g.n, g.co, g.h * g.kh, g.w * g.kw} }

// taps calls f(xi, wi, yi) for every product y[yi] += x[xi] * w[wi]:
// y[n, co, h*kh+i, w*kw+j] += x[n, ci, h, w] * w[ci, co, i, j].
func (g convTGeom) taps(f func(xi, wi, yi int)) {
	ho, wo := g.h*g.kh, g.w*g.kw
	for n := 0; n < g.n; n++ {
		for ci := 0; ci < g.ci; ci++ {
			for h := 0; h < g.h; h++ {
				for w := 0; w < g.w; w++ {
					xi := ((n*g.ci+ci)*g.h+h)*g.w + w
					for co := 0; co < g.co; co++ {
						for i := 0; i < g.kh; i++ {
							for j := 0; j < g.kw; j++ {
								yi := ((n*g.co+co)*ho+h*g.kh+i)*wo + w*g.kw + j
								f(xi, ((ci*g.co+co)*g.kh+i)*g.kw+j, yi)
							}
						}
					}
				}
			}
		}
	}
}

func refConvTranspose2d(x, w, b []float64, g convTGeom) []float64 {
	y := make([]float64, numel(g.yShape()...))
	g.taps(func(xi, wi, yi int) { y[yi] += x[xi] * w[wi] })
	if b != nil {
		addChannel(y, b, g.n, g.co, g.h*g.kh*g.w*g.kw)
	}
	return y
}

func refConvTranspose2dBackwardData(dy, w []float64, g convTGeom) []float64 {
	dx := make([]float64, numel(g.xShape()...))
	g.taps(func(xi, wi, yi int) { dx[xi] += dy[yi] * w[wi] })
	return dx
}

func refConvTranspose2dBackwardFilter(dy, x []float64, g convTGeom) (dw, db []float64) {
	dw = make([]float64, numel(g.wShape()...))
	g.taps(func(xi, wi, yi int) { dw[wi] += dy[yi] * x[xi] })
	return dw, sumChannel(dy, g.n, g.co, g.h*g.kh*g.w*g.kw)
}

// addChannel adds b[c] to every element of channel c of y: (n, c, s).
func addChannel(y, b []float64, n, c, s int) {
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			for k := 0; k < s; k++ {
				y[(i*c+j)*s+k] += b[j]
			}
		}
	}
}

// sumChannel returns the sum over (n, s) of each channel of dy: (n, c, s).
func sumChannel(dy []float64, n, c, s int) []float64 {
	db := make([]float64, c)
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			for k := 0; k < s; k++ {
				db[j] += dy[(i*c+j)*s+k]
			}
		}
	}
	return db
}
