package cpu

// GEMM-based convolutions. Per sample n, with K = Ci*KH*KW and P = Ho*Wo:
//   col (K, P) = im2col(x[n]); y[n] (Co, P) = w (Co, K) x col + b
//   dcol (K, P) = w^T x dy[n];  dx[n] += col2im(dcol)
//   dw (Co, K) += dy[n] (Co, P) x col^T
// A 1x1, stride-1, unpadded conv (the stitch) uses x[n] as col directly.

func (d convDims) isPointwise() bool {
	return d.kh == 1 && d.kw == 1 && d.sh == 1 && d.sw == 1 && d.ph == 0 && d.pw == 0
}

// im2col writes col (Ci*KH*KW, Ho*Wo) for one sample x (Ci, H, W).
func im2col(col, x []float32, d convDims) {
	p := d.ho * d.wo
	for ci := 0; ci < d.ci; ci++ {
		for kh := 0; kh < d.kh; kh++ {
			for kw := 0; kw < d.kw; kw++ {
				row := col[((ci*d.kh+kh)*d.kw+kw)*p:][:p]
				for oh := 0; oh < d.ho; oh++ {
					ih := oh*d.sh - d.ph + kh
					out := row[oh*d.wo : (oh+1)*d.wo]
					if ih < 0 || ih >= d.h {
						clear(out)
						continue
					}
					src := x[(ci*d.h+ih)*d.w : (ci*d.h+ih+1)*d.w]
					for ow := range out {
						iw := ow*d.sw - d.pw + kw
						if iw < 0 || iw >= d.w {
							out[ow] = 0
						} else {
							out[ow] = src[iw]
						}
					}
				}
			}
		}
	}
}

// col2im accumulates col (Ci*KH*KW, Ho*Wo) into dx (Ci, H, W).
func col2im(dx, col []float32, d convDims) {
	p := d.ho * d.wo
	for ci := 0; ci < d.ci; ci++ {
		for kh := 0; kh < d.kh; kh++ {
			for kw := 0; kw < d.kw; kw++ {
				row := col[((ci*d.kh+kh)*d.kw+kw)*p:][:p]
				for oh := 0; oh < d.ho; oh++ {
					ih := oh*d.sh - d.ph + kh
					if ih < 0 || ih >= d.h {
						continue
					}
					dst := dx[(ci*d.h+ih)*d.w : (ci*d.h+ih+1)*d.w]
					for ow, v := range row[oh*d.wo : (oh+1)*d.wo] {
						iw := ow*d.sw - d.pw + kw
						if iw >= 0 && iw < d.w {
							dst[iw] += v
						}
					}
				}
			}
		}
	}
}

// single is a one-thread view of b for GEMMs issued inside a parallel loop.
func (b *Backend) single() *Backend { return &Backend{name: b.name, fast: true, threads: 1, ws: b.ws} }

func (b *Backend) conv2dFast(y, x, w, bias []float32, d convDims) {
	k, p := d.ci*d.kh*d.kw, d.ho*d.wo
	one := b.single()
	cols := make([][]float32, b.Threads())
	b.forEach(d.n, func(n, wk int) {
		xn := x[n*d.ci*d.h*d.w:][:d.ci*d.h*d.w]
		yn := y[n*d.co*p:][:d.co*p]
		col := xn
		if !d.isPointwise() {
			if cols[wk] == nil {
				cols[wk] = make([]float32, k*p)
			}
			col = cols[wk]
			im2col(col, xn, d)
		}
		one.sgemm(false, false, d.co, p, k, 1, w, k, col, p, 0, yn, p)
		if bias != nil {
			biasAddRef(yn, bias, 1, d.co, p)
		}
	})
}

func (b *Backend) conv2dBackwardDataFast(dx, dy, w []float32, d convDims) {
	k, p := d.ci*d.kh*d.kw, d.ho*d.wo
	one := b.single()
	cols := make([][]float32, b.Threads())
	b.forEach(d.n, func(n, wk int) {
		dxn := dx[n*d.ci*d.h*d.w:][:d.ci*d.h*d.w]
		dyn := dy[n*d.co*p:][:d.co*p]
		if d.isPointwise() {
			one.sgemm(true, false, k, p, d.co, 1, w, k, dyn, p, 1, dxn, p)
			return
		}
		if cols[wk] == nil {
			cols[wk] = make([]float32, k*p)
		}
		one.sgemm(true, false, k, p, d.co, 1, w, k, dyn, p, 0, cols[wk], p)
		col2im(dxn, cols[wk], d)
	})
}

func (b *Backend) conv2dBackwardFilterFast(dw, db, dy, x []float32, d convDims) {
	k, p := d.ci*d.kh*d.kw, d.ho*d.wo
	t := min(b.Threads(), d.n)
	one := b.single()
	parts := make([][]float32, t) // per-worker dw partial sums, reduced in order
	cols := make([][]float32, t)
	b.forEach(d.n, func(n, wk int) {
		if parts[wk] == nil {
			parts[wk] = make([]float32, d.co*k)
		}
		xn := x[n*d.ci*d.h*d.w:][:d.ci*d.h*d.w]
		dyn := dy[n*d.co*p:][:d.co*p]
		col := xn
		if !d.isPointwise() {
			if cols[wk] == nil {
				cols[wk] = make([]float32, k*p)
			}
			col = cols[wk]
			im2col(col, xn, d)
		}
		one.sgemm(false, true, d.co, k, p, 1, dyn, p, col, p, 1, parts[wk], k)
	})
	for _, part := range parts {
		for i, v := range part {
			dw[i] += v
		}
	}
	if db != nil {
		biasGradRef(db, dy, d.n, d.co, p)
	}
}

// Conv-transpose with kernel == stride as one GEMM per sample:
// z (Co*KH*KW, H*W) = w^T (Co*KH*KW, Ci) x x[n] (Ci, H*W), then scatter.
func (b *Backend) convTranspose2dFast(y, x, w, bias []float32, d convTDims) {
	hw, ck := d.h*d.w, d.co*d.kh*d.kw
	one := b.single()
	zs := make([][]float32, b.Threads())
	b.forEach(d.n, func(n, wk int) {
		if zs[wk] == nil {
			zs[wk] = make([]float32, ck*hw)
		}
		z := zs[wk]
		one.sgemm(true, false, ck, hw, d.ci, 1, w, ck, x[n*d.ci*hw:][:d.ci*hw], hw, 0, z, hw)
		for co := 0; co < d.co; co++ {
			var bv float32
			if bias != nil {
				bv = bias[co]
			}
			for i := 0; i < d.kh; i++ {
				for j := 0; j < d.kw; j++ {
					row := z[((co*d.kh+i)*d.kw+j)*hw:][:hw]
					for h := 0; h < d.h; h++ {
						for ww := 0; ww < d.w; ww++ {
							y[d.yIndex(n, co, h, ww, i, j)] = row[h*d.w+ww] + bv
						}
					}
				}
			}
		}
	})
}

// gatherConvT packs dy[n] into z (Co*KH*KW, H*W), the inverse of the scatter.
func gatherConvT(z, dy []float32, n int, d convTDims) {
	hw := d.h * d.w
	for co := 0; co < d.co; co++ {
		for i := 0; i < d.kh; i++ {
			for j := 0; j < d.kw; j++ {
				row := z[((co*d.kh+i)*d.kw+j)*hw:][:hw]
				for h := 0; h < d.h; h++ {
					for ww := 0; ww < d.w; ww++ {
						row[h*d.w+ww] = dy[d.yIndex(n, co, h, ww, i, j)]
					}
				}
			}
		}
	}
}

func (b *Backend) convTranspose2dBackwardDataFast(dx, dy, w []float32, d convTDims) {
	hw, ck := d.h*d.w, d.co*d.kh*d.kw
	one := b.single()
	zs := make([][]float32, b.Threads())
	b.forEach(d.n, func(n, wk int) {
		if zs[wk] == nil {
			zs[wk] = make([]float32, ck*hw)
		}
		gatherConvT(zs[wk], dy, n, d)
		// dx[n] (Ci, HW) += w (Ci, CK) x z (CK, HW)
		one.sgemm(false, false, d.ci, hw, ck, 1, w, ck, zs[wk], hw, 1, dx[n*d.ci*hw:][:d.ci*hw], hw)
	})
}

func (b *Backend) convTranspose2dBackwardFilterFast(dw, db, dy, x []float32, d convTDims) {
	hw, ck := d.h*d.w, d.co*d.kh*d.kw
	t := min(b.Threads(), d.n)
	one := b.single()
	parts := make([][]float32, t)
	zs := make([][]float32, t)
	b.forEach(d.n, func(n, wk int) {
		if zs[wk] == nil {
			zs[wk] = make([]float32, ck*hw)
			parts[wk] = make([]float32, d.ci*ck)
		}
		gatherConvT(zs[wk], dy, n, d)
		// dw (Ci, CK) += x[n] (Ci, HW) x z^T (HW, CK)
		one.sgemm(false, true, d.ci, ck, hw, 1, x[n*d.ci*hw:][:d.ci*hw], hw, zs[wk], hw, 1, parts[wk], ck)
	})
	for _, part := range parts {
		for i, v := range part {
			dw[i] += v
		}
	}
	if db != nil {
		biasGradRef(db, dy, d.n, d.co, hw*d.kh*d.kw)
	}
}

func (b *Backend) instanceNormFast(y, mean, rstd, x, gamma, beta []float32, n, c, s int, eps float32) {
	b.forEach(n, func(i, _ int) {
		off := i * c * s
		instanceNormRef(y[off:off+c*s], mean[i*c:(i+1)*c], rstd[i*c:(i+1)*c], x[off:off+c*s], gamma, beta, 1, c, s, eps)
	})
}

func (b *Backend) instanceNormBackwardFast(dx, dgamma, dbeta, dy, x, mean, rstd, gamma []float32, n, c, s int) {
	// dgamma/dbeta are shared across samples: each worker sums its own, then
	// they are added in worker order so results do not depend on timing.
	t := min(b.Threads(), n)
	dg := make([][]float32, t)
	dbt := make([][]float32, t)
	b.forEach(n, func(i, wk int) {
		if dg[wk] == nil {
			dg[wk], dbt[wk] = make([]float32, c), make([]float32, c)
		}
		off := i * c * s
		var dxi []float32
		if dx != nil {
			dxi = dx[off : off+c*s]
		}
		var g, bt []float32
		if dgamma != nil {
			g = dg[wk]
		}
		if dbeta != nil {
			bt = dbt[wk]
		}
		instanceNormBackwardRef(dxi, g, bt, dy[off:off+c*s], x[off:off+c*s], mean[i*c:(i+1)*c], rstd[i*c:(i+1)*c], gamma, 1, c, s)
	})
	for wk := range dg {
		if dg[wk] == nil {
			continue
		}
		for j := 0; j < c; j++ {
			if dgamma != nil {
				dgamma[j] += dg[wk][j]
			}
			if dbeta != nil {
				dbeta[j] += dbt[wk][j]
			}
		}
	}
}

func (b *Backend) mseFast(a, bb []float32) float64 {
	return mseRef(a, bb)
}
