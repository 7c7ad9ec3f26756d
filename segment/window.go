package segment

import (
	"fmt"
	"math"

	"suture/tensor"
)

// ScoreFunc runs a network on a batch of tiles x (N, C, PH, PW), host
// memory, normalised, and returns its scores (N, K, PH, PW) in host memory:
// logits for a U-Net, probabilities for a stitched network (whose output
// averages two softmaxes). The sliding window averages these scores.
type ScoreFunc func(x *tensor.Tensor) (*tensor.Tensor, error)

// WindowOptions configure SlidingWindow as nnU-Net's predictor is
// configured by default.
type WindowOptions struct {
	Patch [2]int // tile (H, W)
	// Step is the step between tiles as a fraction of the tile (nnU-Net: 0.5).
	Step float64
	// Gaussian weights each tile's scores by Gaussian importance (sigma =
	// tile/8, centre weight 10) instead of uniformly.
	Gaussian bool
	// MirrorAxes lists the axes (0: H, 1: W) test-time mirroring flips; each
	// non-empty combination of them adds a flipped pass whose scores are
	// flipped back, and the passes are averaged. Empty: no mirroring.
	MirrorAxes []int
	// Progress, when set, is called after every tile with the number of
	// tiles done and their total.
	Progress func(done, total int)
}

// Bounds of the sliding window, checked before anything is allocated.
const (
	// MinStep and MaxStep bound WindowOptions.Step. nnU-Net accepts any step
	// in (0, 1]; below 0.05 every pixel would be predicted over 400 times
	// and the tile count explodes (a step of 1e-9 asks for billions).
	MinStep, MaxStep = 0.05, 1.0
	// MaxTiles bounds the tiles of one image (mirrors not counted).
	MaxTiles = 1 << 20
)

// CheckStep says why step is not a usable sliding-window step.
func CheckStep(step float64) error {
	if !(step >= MinStep && step <= MaxStep) {
		return fmt.Errorf("sliding-window step %g is outside [%g, %g] (nnU-Net's default is 0.5)", step, MinStep, MaxStep)
	}
	return nil
}

// numSteps is len(Steps(n, tile, step)) without building the slice, as a
// float64 so that an absurd step cannot overflow.
func numSteps(n, tile int, step float64) float64 {
	if n <= tile {
		return 1
	}
	num := math.Ceil(float64(n-tile)/(float64(tile)*step)) + 1
	return math.Min(num, float64(n-tile+1))
}

// Steps returns nnU-Net's tile offsets along one axis of an image of size
// n >= tile: ceil((n - tile) / (tile*step)) + 1 tiles spread evenly from 0 to
// n - tile, each offset rounded half to even (numpy's round). A step under
// one pixel gives one tile per offset (n - tile + 1), not duplicates.
func Steps(n, tile int, step float64) []int {
	if n <= tile {
		return []int{0}
	}
	num := int(numSteps(n, tile, step))
	actual := float64(n-tile) / float64(num-1)
	out := make([]int, num)
	for i := range out {
		out[i] = int(math.RoundToEven(actual * float64(i)))
	}
	return out
}

// Gaussian returns nnU-Net's importance map for a tile of h x w (its
// compute_gaussian with sigma_scale 1/8 and value_scaling_factor 10): a
// Gaussian with sigma = tile/8 per axis centred on pixel (h/2, w/2) (integer
// division), truncated where scipy's gaussian_filter truncates it (4 sigma,
// rounded), scaled so that the centre is 10, and with the zeros outside the
// truncation raised to the smallest nonzero value.
func Gaussian(h, w int) []float32 {
	axis := func(n int) []float64 {
		c := n / 2
		sigma := float64(n) / 8
		radius := int(4*sigma + 0.5)
		g := make([]float64, n)
		for i := range g {
			d := i - c
			if d < -radius || d > radius {
				continue
			}
			g[i] = math.Exp(-0.5 * float64(d*d) / (sigma * sigma))
		}
		return g
	}
	gh, gw := axis(h), axis(w)
	out := make([]float32, h*w)
	lo := float32(math.Inf(1))
	for i := range h {
		for j := range w {
			v := float32(10 * gh[i] * gw[j]) // the centre's factors are exp(0) = 1
			out[i*w+j] = v
			if v > 0 && v < lo {
				lo = v
			}
		}
	}
	for i, v := range out {
		if v == 0 {
			out[i] = lo
		}
	}
	return out
}

// mirrorSets lists the non-empty combinations of axes in nnU-Net's order
// (all singles, then pairs).
func mirrorSets(axes []int) [][]int {
	var out [][]int
	for _, a := range axes {
		out = append(out, []int{a})
	}
	for i := 0; i < len(axes); i++ {
		for j := i + 1; j < len(axes); j++ {
			out = append(out, []int{axes[i], axes[j]})
		}
	}
	return out
}

// flip reverses planes (C, H, W) stored in x along the given axes, in place.
func flip(x []float32, c, h, w int, axes []int) {
	for _, a := range axes {
		for ch := 0; ch < c; ch++ {
			p := x[ch*h*w : (ch+1)*h*w]
			if a == 0 {
				for i, j := 0, h-1; i < j; i, j = i+1, j-1 {
					ri, rj := p[i*w:(i+1)*w], p[j*w:(j+1)*w]
					for k := range ri {
						ri[k], rj[k] = rj[k], ri[k]
					}
				}
			} else {
				for i := 0; i < h; i++ {
					r := p[i*w : (i+1)*w]
					for a, b := 0, w-1; a < b; a, b = a+1, b-1 {
						r[a], r[b] = r[b], r[a]
					}
				}
			}
		}
	}
}

// SlidingWindow predicts x (C, H, W), host, normalised, the way nnU-Net's
// predictor does: x is padded with zeros (centred) up to the tile where it
// is smaller; tiles at Steps offsets cover it; each tile's scores (averaged
// over the mirrored passes) are weighted (Gaussian or uniform) and
// accumulated; the sum is divided by the summed weights; the padding is cut
// off. It returns the scores (K, H, W). Memory: the tile batch and the
// network's activations for one tile, plus the output and one weight plane
// of the padded image's size; nothing else grows with the image.
func SlidingWindow(net ScoreFunc, x *tensor.Tensor, o WindowOptions) (*tensor.Tensor, error) {
	acc, wsum, geom, err := accumulate(net, x, o)
	if err != nil {
		return nil, err
	}
	k := len(acc) / geom.plane()
	out := tensor.New(k, geom.h, geom.w)
	for c := 0; c < k; c++ {
		for y := 0; y < geom.h; y++ {
			src := acc[c*geom.plane()+(y+geom.top)*geom.pw+geom.left:][:geom.w]
			ws := wsum[(y+geom.top)*geom.pw+geom.left:][:geom.w]
			dst := out.Data[(c*geom.h+y)*geom.w:][:geom.w]
			for i := range dst {
				dst[i] = src[i] / ws[i]
			}
		}
	}
	return out, nil
}

// tileBatchPixels bounds the pixels of the tiles (mirrors included) that go
// through the network in one call, unless one tile and its mirrors exceed it.
const tileBatchPixels = 1 << 16

// windowGeom is the padded image's geometry.
type windowGeom struct {
	h, w      int // the image
	ph, pw    int // padded
	top, left int // padding before the image
}

func (g windowGeom) plane() int { return g.ph * g.pw }

// accumulate runs the tiles and returns the weighted score sums (K, PH, PW)
// and the weight sums (PH, PW) over the padded image.
func accumulate(net ScoreFunc, x *tensor.Tensor, o WindowOptions) (acc, wsum []float32, g windowGeom, err error) {
	if g, err = checkWindow(x, o); err != nil {
		return nil, nil, g, err
	}
	c, th, tw := x.Shape[0], o.Patch[0], o.Patch[1]
	r := &windowSums{o: o, c: c, th: th, tw: tw, g: g, padded: padImage(x, g), weights: tileWeights(th, tw, o.Gaussian), sets: mirrorSets(o.MirrorAxes)}
	r.nb, r.per = 1+len(r.sets), c*th*tw
	tiles := tilePositions(g, th, tw, o.Step)
	// Tiles per network call: small tiles go in groups (the per-call cost
	// dominates a tiny tile), large ones one at a time with their mirrors.
	group := max(1, min(16, tileBatchPixels/(th*tw*r.nb)))
	batch := tensor.New(min(group, len(tiles))*r.nb, c, th, tw)
	r.wsum = make([]float32, g.plane())
	for start := 0; start < len(tiles); start += group {
		part := tiles[start:min(start+group, len(tiles))]
		in := batch
		if len(part)*r.nb != batch.Shape[0] {
			in, _ = tensor.FromData(batch.Data[:len(part)*r.nb*r.per], len(part)*r.nb, c, th, tw)
		}
		r.fillTiles(in, part)
		sc, err := net(in)
		if err != nil {
			return nil, nil, g, err
		}
		if err := r.addScores(sc, part, start, len(tiles)); err != nil {
			return nil, nil, g, err
		}
	}
	return r.acc, r.wsum, g, nil
}

// checkWindow checks the image (C, H, W) and the options of a sliding
// window over it, and returns the padded image's geometry (also with the
// error of too many tiles).
func checkWindow(x *tensor.Tensor, o WindowOptions) (g windowGeom, err error) {
	if x == nil || len(x.Shape) != 3 || len(x.Data) != x.Numel() || x.Numel() == 0 {
		return g, fmt.Errorf("sliding window: image %v, want (C, H, W) in host memory", shape(x))
	}
	th, tw := o.Patch[0], o.Patch[1]
	if th < 1 || tw < 1 {
		return g, fmt.Errorf("sliding window: tile %v", o.Patch)
	}
	if err := CheckStep(o.Step); err != nil {
		return g, fmt.Errorf("sliding window: %w", err)
	}
	for _, a := range o.MirrorAxes {
		if a != 0 && a != 1 {
			return g, fmt.Errorf("sliding window: mirror axis %d", a)
		}
	}
	h, w := x.Shape[1], x.Shape[2]
	g = windowGeom{h: h, w: w, ph: max(h, th), pw: max(w, tw)}
	g.top, g.left = (g.ph-h)/2, (g.pw-w)/2
	if n := numSteps(g.ph, th, o.Step) * numSteps(g.pw, tw, o.Step); n > MaxTiles {
		return g, fmt.Errorf("sliding window: %dx%d image in %dx%d tiles at step %g needs %.0f tiles, more than %d", h, w, th, tw, o.Step, n, MaxTiles)
	}
	return g, nil
}

// padImage returns x's data padded with zeros (centred) to g's padded
// size; x's own data when no padding is needed.
func padImage(x *tensor.Tensor, g windowGeom) []float32 {
	c, h, w := x.Shape[0], x.Shape[1], x.Shape[2]
	if g.ph == h && g.pw == w {
		return x.Data
	}
	padded := make([]float32, c*g.plane())
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			copy(padded[ch*g.plane()+(y+g.top)*g.pw+g.left:][:w], x.Data[(ch*h+y)*w:][:w])
		}
	}
	return padded
}

// tileWeights is the th x tw weight of a tile's pixels: Gaussian, or 1.
func tileWeights(th, tw int, gaussian bool) []float32 {
	if gaussian {
		return Gaussian(th, tw)
	}
	weights := make([]float32, th*tw)
	for i := range weights {
		weights[i] = 1
	}
	return weights
}

// tilePos is a tile's top left corner in the padded image.
type tilePos struct{ y, x int }

// tilePositions lists the tiles over the padded image, row by row.
func tilePositions(g windowGeom, th, tw int, step float64) []tilePos {
	ys, xs := Steps(g.ph, th, step), Steps(g.pw, tw, step)
	var tiles []tilePos
	for _, y0 := range ys {
		for _, x0 := range xs {
			tiles = append(tiles, tilePos{y0, x0})
		}
	}
	return tiles
}

// windowSums is accumulate's state: the padded image and the tiles'
// geometry, weights and mirror sets, and the sums so far.
type windowSums struct {
	o         WindowOptions
	c, th, tw int
	g         windowGeom
	padded    []float32 // (C, PH, PW)
	weights   []float32 // (th, tw)
	sets      [][]int   // the mirrored passes' flipped axes
	nb        int       // passes per tile: 1 + len(sets)
	per       int       // values of one tile: c*th*tw
	k         int       // classes, from the first scores
	acc       []float32 // (K, PH, PW), weighted score sums; nil before the first scores
	wsum      []float32 // (PH, PW), weight sums
	tileSum   []float32 // (K, th, tw) scratch
}

// fillTiles copies the tiles of part from the padded image into the batch
// in, each followed by its mirrored copies.
func (r *windowSums) fillTiles(in *tensor.Tensor, part []tilePos) {
	c, th, tw, per, g := r.c, r.th, r.tw, r.per, r.g
	for ti, p := range part {
		base := ti * r.nb * per
		for ch := 0; ch < c; ch++ {
			for y := 0; y < th; y++ {
				copy(in.Data[base+(ch*th+y)*tw:][:tw], r.padded[ch*g.plane()+(p.y+y)*g.pw+p.x:][:tw])
			}
		}
		for i, s := range r.sets {
			dst := in.Data[base+(i+1)*per : base+(i+2)*per]
			copy(dst, in.Data[base:base+per])
			flip(dst, c, th, tw, s)
		}
	}
}

// addScores checks the network's scores sc for the tiles of part (tiles
// start.. of total) and adds them: each tile's passes, flipped back and
// averaged, weighted into acc, and its weights into wsum. It reports
// progress after each tile.
func (r *windowSums) addScores(sc *tensor.Tensor, part []tilePos, start, total int) error {
	c, th, tw, nb, g := r.c, r.th, r.tw, r.nb, r.g
	if sc == nil || len(sc.Shape) != 4 || sc.Shape[0] != len(part)*nb || sc.Shape[2] != th || sc.Shape[3] != tw || len(sc.Data) != sc.Numel() {
		return fmt.Errorf("sliding window: the network gave scores %v for tiles (%d, %d, %d, %d)", shape(sc), len(part)*nb, c, th, tw)
	}
	if r.acc == nil {
		r.k = sc.Shape[1]
		r.acc = make([]float32, r.k*g.plane())
		r.tileSum = make([]float32, r.k*th*tw)
	} else if sc.Shape[1] != r.k {
		return fmt.Errorf("sliding window: the network gave %d classes, then %d", r.k, sc.Shape[1])
	}
	k, acc, wsum, weights, tileSum := r.k, r.acc, r.wsum, r.weights, r.tileSum
	kper := k * th * tw
	for ti, p := range part {
		base := ti * nb * kper
		copy(tileSum, sc.Data[base:base+kper])
		for i, s := range r.sets {
			v := sc.Data[base+(i+1)*kper : base+(i+2)*kper]
			flip(v, k, th, tw, s)
			for j := range tileSum {
				tileSum[j] += v[j]
			}
		}
		inv := 1 / float32(nb)
		for cl := 0; cl < k; cl++ {
			for y := 0; y < th; y++ {
				dst := acc[cl*g.plane()+(p.y+y)*g.pw+p.x:][:tw]
				src := tileSum[(cl*th+y)*tw:][:tw]
				wr := weights[y*tw:][:tw]
				for i := range dst {
					dst[i] += src[i] * inv * wr[i]
				}
			}
		}
		for y := 0; y < th; y++ {
			dst := wsum[(p.y+y)*g.pw+p.x:][:tw]
			wr := weights[y*tw:][:tw]
			for i := range dst {
				dst[i] += wr[i]
			}
		}
		if r.o.Progress != nil {
			r.o.Progress(start+ti+1, total)
		}
	}
	return nil
}

// ArgMaxWindow is SlidingWindow followed by the arg-max over classes (ties
// to the lower class), without materialising the divided scores: the
// weights are the same for every class of a pixel. It returns the class
// map (H*W).
func ArgMaxWindow(net ScoreFunc, x *tensor.Tensor, o WindowOptions) ([]uint8, error) {
	acc, _, g, err := accumulate(net, x, o)
	if err != nil {
		return nil, err
	}
	k := len(acc) / g.plane()
	if k > 256 {
		return nil, fmt.Errorf("sliding window: %d classes do not fit a byte", k)
	}
	out := make([]uint8, g.h*g.w)
	for y := 0; y < g.h; y++ {
		for xx := 0; xx < g.w; xx++ {
			i := (y+g.top)*g.pw + g.left + xx
			best, bv := 0, acc[i]
			for cl := 1; cl < k; cl++ {
				if v := acc[cl*g.plane()+i]; v > bv {
					best, bv = cl, v
				}
			}
			out[y*g.w+xx] = uint8(best)
		}
	}
	return out, nil
}

func shape(t *tensor.Tensor) tensor.Shape {
	if t == nil {
		return nil
	}
	return t.Shape
}
