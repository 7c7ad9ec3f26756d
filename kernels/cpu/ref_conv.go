package cpu

import "suture/kernels"

// Plain convolution references. Shapes:
// x: (N, Ci, H, W), w: (Co, Ci, KH, KW), y: (N, Co, Ho, Wo), b: (Co) or nil.
// Forward overwrites y; backward accumulates into dx, dw, db.

type convDims struct {
	n, ci, h, w    int // input
	co, kh, kw     int // weight
	ho, wo         int // output
	sh, sw, ph, pw int // stride, padding
}

func makeConvDims(xs, ws []int, p kernels.ConvParams) convDims {
	return convDims{
		n: xs[0], ci: xs[1], h: xs[2], w: xs[3],
		co: ws[0], kh: ws[2], kw: ws[3],
		ho: kernels.ConvOutSize(xs[2], ws[2], p.StrideH, p.PadH),
		wo: kernels.ConvOutSize(xs[3], ws[3], p.StrideW, p.PadW),
		sh: p.StrideH, sw: p.StrideW, ph: p.PadH, pw: p.PadW,
	}
}

// conv2dRef: y = conv(x, w) + b.
func conv2dRef(y, x, w, b []float32, d convDims) {
	for n := 0; n < d.n; n++ {
		for co := 0; co < d.co; co++ {
			for oh := 0; oh < d.ho; oh++ {
				for ow := 0; ow < d.wo; ow++ {
					var acc float32
					if b != nil {
						acc = b[co]
					}
					for ci := 0; ci < d.ci; ci++ {
						for kh := 0; kh < d.kh; kh++ {
							ih := oh*d.sh - d.ph + kh
							if ih < 0 || ih >= d.h {
								continue
							}
							for kw := 0; kw < d.kw; kw++ {
								iw := ow*d.sw - d.pw + kw
								if iw < 0 || iw >= d.w {
									continue
								}
								acc += x[((n*d.ci+ci)*d.h+ih)*d.w+iw] * w[((co*d.ci+ci)*d.kh+kh)*d.kw+kw]
							}
						}
					}
					y[((n*d.co+co)*d.ho+oh)*d.wo+ow] = acc
				}
			}
		}
	}
}

// conv2dBackwardDataRef: dx += conv^T(dy, w).
func conv2dBackwardDataRef(dx, dy, w []float32, d convDims) {
	for n := 0; n < d.n; n++ {
		for co := 0; co < d.co; co++ {
			for oh := 0; oh < d.ho; oh++ {
				for ow := 0; ow < d.wo; ow++ {
					g := dy[((n*d.co+co)*d.ho+oh)*d.wo+ow]
					for ci := 0; ci < d.ci; ci++ {
						for kh := 0; kh < d.kh; kh++ {
							ih := oh*d.sh - d.ph + kh
							if ih < 0 || ih >= d.h {
								continue
							}
							for kw := 0; kw < d.kw; kw++ {
								iw := ow*d.sw - d.pw + kw
								if iw < 0 || iw >= d.w {
									continue
								}
								dx[((n*d.ci+ci)*d.h+ih)*d.w+iw] += g * w[((co*d.ci+ci)*d.kh+kh)*d.kw+kw]
							}
						}
					}
				}
			}
		}
	}
}

// conv2dBackwardFilterRef: dw += sum over (n, oh, ow) of dy * x; db += sum of dy.
func conv2dBackwardFilterRef(dw, db, dy, x []float32, d convDims) {
	for co := 0; co < d.co; co++ {
		for ci := 0; ci < d.ci; ci++ {
			for kh := 0; kh < d.kh; kh++ {
				for kw := 0; kw < d.kw; kw++ {
					var acc float32
					for n := 0; n < d.n; n++ {
						for oh := 0; oh < d.ho; oh++ {
							ih := oh*d.sh - d.ph + kh
							if ih < 0 || ih >= d.h {
								continue
							}
							for ow := 0; ow < d.wo; ow++ {
								iw := ow*d.sw - d.pw + kw
								if iw < 0 || iw >= d.w {
									continue
								}
								acc += dy[((n*d.co+co)*d.ho+oh)*d.wo+ow] * x[((n*d.ci+ci)*d.h+ih)*d.w+iw]
							}
						}
					}
					dw[((co*d.ci+ci)*d.kh+kh)*d.kw+kw] += acc
				}
			}
		}
	}
	if db != nil {
		biasGradRef(db, dy, d.n, d.co, d.ho*d.wo)
	}
}

// Conv-transpose with kernel == stride. x: (N, Ci, H, W), w: (Ci, Co, KH, KW),
// y: (N, Co, H*KH, W*KW).
type convTDims struct{ n, ci, h, w, co, kh, kw int }

func makeConvTDims(xs, ws []int) convTDims {
	return convTDims{n: xs[0], ci: xs[1], h: xs[2], w: xs[3], co: ws[1], kh: ws[2], kw: ws[3]}
}

// yIndex is the flat index of y[n, co, h*KH+i, w*KW+j].
func (d convTDims) yIndex(n, co, h, w, i, j int) int {
	return ((n*d.co+co)*d.h*d.kh+h*d.kh+i)*d.w*d.kw + w*d.kw + j
}

func convTranspose2dRef(y, x, w, b []float32, d convTDims) {
	for n := 0; n < d.n; n++ {
		for co := 0; co < d.co; co++ {
			for h := 0; h < d.h; h++ {
				for ww := 0; ww < d.w; ww++ {
					for i := 0; i < d.kh; i++ {
						for j := 0; j < d.kw; j++ {
							var acc float32
							if b != nil {
								acc = b[co]
							}
							for ci := 0; ci < d.ci; ci++ {
								acc += x[((n*d.ci+ci)*d.h+h)*d.w+ww] * w[((ci*d.co+co)*d.kh+i)*d.kw+j]
							}
							y[d.yIndex(n, co, h, ww, i, j)] = acc
						}
					}
				}
			}
		}
	}
}

func convTranspose2dBackwardDataRef(dx, dy, w []float32, d convTDims) {
	for n := 0; n < d.n; n++ {
		for ci := 0; ci < d.ci; ci++ {
			for h := 0; h < d.h; h++ {
				for ww := 0; ww < d.w; ww++ {
					var acc float32
					for co := 0; co < d.co; co++ {
						for i := 0; i < d.kh; i++ {
							for j := 0; j < d.kw; j++ {
								acc += dy[d.yIndex(n, co, h, ww, i, j)] * w[((ci*d.co+co)*d.kh+i)*d.kw+j]
							}
						}
					}
					dx[((n*d.ci+ci)*d.h+h)*d.w+ww] += acc
				}
			}
		}
	}
}

func convTranspose2dBackwardFilterRef(dw, db, dy, x []float32, d convTDims) {
	for ci := 0; ci < d.ci; ci++ {
		for co := 0; co < d.co; co++ {
			for i := 0; i < d.kh; i++ {
				for j := 0; j < d.kw; j++ {
					var acc float32
					for n := 0; n < d.n; n++ {
						for h := 0; h < d.h; h++ {
							for ww := 0; ww < d.w; ww++ {
								acc += dy[d.yIndex(n, co, h, ww, i, j)] * x[((n*d.ci+ci)*d.h+h)*d.w+ww]
							}
						}
					}
					dw[((ci*d.co+co)*d.kh+i)*d.kw+j] += acc
				}
			}
		}
	}
	if db != nil {
		biasGradRef(db, dy, d.n, d.co, d.h*d.kh*d.w*d.kw)
	}
}

// biasAddRef: y[n, c, s] += b[c] for y viewed as (N, C, S).
func biasAddRef(y, b []float32, n, c, s int) {
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			row := y[(i*c+j)*s : (i*c+j+1)*s]
			for k := range row {
				row[k] += b[j]
			}
		}
	}
}

// biasGradRef: db[c] += sum over (n, s) of dy[n, c, s].
func biasGradRef(db, dy []float32, n, c, s int) {
	for j := 0; j < c; j++ {
		var acc float64
		for i := 0; i < n; i++ {
			for _, v := range dy[(i*c+j)*s : (i*c+j+1)*s] {
				acc += float64(v)
			}
		}
		db[j] += float32(acc)
	}
}
