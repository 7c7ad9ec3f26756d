package imageset

import (
	"math"

	"suture/tensor"
)

// valueNoise is smooth noise in [-1, 1]: random values on a (g+1) x (g+1)
// lattice spread over the image, interpolated with smoothstep weights.
type valueNoise struct {
	g    int
	grid []float64 // (g+1) x (g+1), row-major
}

func newValueNoise(r *tensor.RNG, g int) *valueNoise {
	n := &valueNoise{g: g, grid: make([]float64, (g+1)*(g+1))}
	for i := range n.grid {
		n.grid[i] = uniform(r, -1, 1)
	}
	return n
}

// latticeAxis locates each pixel centre of one image axis on a lattice of g
// cells: the cell index and the smoothstep weight of the cell's far end.
type latticeAxis struct {
	cell   []int
	weight []float64
}

func newLatticeAxis(size, g int) latticeAxis {
	a := latticeAxis{cell: make([]int, size), weight: make([]float64, size)}
	for i := range size {
		s := mul((float64(i)+0.5)/float64(size), float64(g))
		c := min(int(math.Floor(s)), g-1)
		f := s - float64(c)
		a.cell[i], a.weight[i] = c, mul(mul(f, f), 3-mul(2, f))
	}
	return a
}

// fill writes the noise of a size x size image into dst, scaled by amp and
// added to what is there: interpolation along y for the lattice columns of a
// row, then along x, so a pixel costs one interpolation.
func (n *valueNoise) fill(dst []float64, amp float64, ax latticeAxis) {
	size := len(ax.cell)
	w := n.g + 1
	col := make([]float64, w)
	for y := range size {
		cy, fy := ax.cell[y], ax.weight[y]
		top, bot := n.grid[cy*w:(cy+1)*w], n.grid[(cy+1)*w:(cy+2)*w]
		for j := range w {
			col[j] = top[j] + mul(fy, bot[j]-top[j])
		}
		row := dst[y*size : (y+1)*size]
		for x := range size {
			cx, fx := ax.cell[x], ax.weight[x]
			row[x] += mul(amp, col[cx]+mul(fx, col[cx+1]-col[cx]))
		}
	}
}

// kthSmallest returns the k-th smallest value (0-based) of v, reordering v;
// quickselect with a median-of-three pivot, so it is fast and deterministic.
func kthSmallest(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		pivot := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < pivot {
				i++
			}
			for v[j] > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}
