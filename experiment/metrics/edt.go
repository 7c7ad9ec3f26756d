package metrics

import "math"

// squaredDistances returns, for every pixel of an h*w grid, the squared
// Euclidean distance (with row spacing sy, column spacing sx) to the nearest
// pixel where set is true; +Inf everywhere when set is empty. It is exact and
// O(h*w): a column pass computes distances along y, then a row pass takes the
// lower envelope of parabolas (Felzenszwalb & Huttenlocher, 2012).
func squaredDistances(set []bool, h, w int, sy, sx float64) []float64 {
	inf := math.Inf(1)
	g := make([]float64, h*w)
	// Column pass: distance along y to the nearest set pixel in the column.
	for x := range w {
		last := -1 // row of the last set pixel seen going down
		for y := range h {
			if set[y*w+x] {
				last = y
			}
			if last < 0 {
				g[y*w+x] = inf
			} else {
				d := sy * float64(y-last)
				g[y*w+x] = d * d
			}
		}
		last = -1 // now going up
		for y := h - 1; y >= 0; y-- {
			if set[y*w+x] {
				last = y
			}
			if last >= 0 {
				d := sy * float64(last-y)
				g[y*w+x] = min(g[y*w+x], d*d)
			}
		}
	}
	// Row pass: d(x) = min over q of g(q) + (sx*(x-q))^2.
	out := make([]float64, h*w)
	v := make([]int, w)       // sites (columns) of the parabolas in the envelope
	z := make([]float64, w+1) // z[k], z[k+1]: where parabola k is lowest
	s2 := sx * sx
	for y := range h {
		f := g[y*w : (y+1)*w]
		d := out[y*w : (y+1)*w]
		// intersect is where the parabolas rooted at q and r (q > r) cross.
		intersect := func(q, r int) float64 {
			fq, fr := f[q]+s2*float64(q*q), f[r]+s2*float64(r*r)
			return (fq - fr) / (2 * s2 * float64(q-r))
		}
		k := -1
		for q := range w {
			if math.IsInf(f[q], 1) { // no set pixel in this column: no parabola
				continue
			}
			if k < 0 {
				k = 0
				v[0], z[0], z[1] = q, math.Inf(-1), inf
				continue
			}
			s := intersect(q, v[k])
			for s <= z[k] {
				k--
				s = intersect(q, v[k])
			}
			k++
			v[k], z[k], z[k+1] = q, s, inf
		}
		if k < 0 { // the row sees no set pixel at all: set is empty
			for x := range d {
				d[x] = inf
			}
			continue
		}
		k = 0
		for x := range w {
			for z[k+1] < float64(x) {
				k++
			}
			dx := sx * float64(x-v[k])
			d[x] = dx*dx + f[v[k]]
		}
	}
	return out
}
