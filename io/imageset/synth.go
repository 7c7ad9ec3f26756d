package imageset

import (
	"fmt"
	"math"
	"slices"

	"suture/tensor"
)

// The synthetic two-party data is the project's embedded default: `suture
// demo` and the tests run on it with no download. Each image shows one to
// three blobs (the foreground class) on a textured background. Party "b"
// sees the same kind of scene through a domain shift: another colour
// palette, lower contrast, blur, and smaller objects.
//
// The task is made learnable but not trivial: the per-image colour jitter is
// larger than the object/background colour difference, so no global colour
// threshold separates the classes; some objects are faint; objects carry
// shading and texture; shadows (thin folds and round patches) darken the
// background as objects do, but keep its hue; and there is pixel noise.
//
// Determinism on every machine: all randomness comes from tensor.NewRNG, one
// stream per sample seeded from the master stream, and all arithmetic avoids
// anything the compiler may evaluate differently per platform: every product
// that feeds a sum goes through mul (an explicit float64 conversion, which
// forbids fusing it into an FMA, as the Go spec guarantees), only +, -, *, /
// and math.Sqrt, Floor and Round (all exact or correctly rounded) are used,
// and the image is rounded to whole 0..255 levels like a real 8-bit image (so
// WriteFolderPair and Open give back exactly the same tensors).
// TestNoFusedMultiplyAdd compiles the package for arm64 and fails on any
// fused multiply-add.

// synthStyle is one party's look.
type synthStyle struct {
	bg, obj        [3]float64 // mean background and object colours (RGB)
	jitter         float64    // per-image colour shift, uniform in ±jitter per channel
	objJitter      float64    // extra per-object colour shift
	strengthLo     float64    // weakest object: this share of the object/background colour difference
	texture        float64    // amplitude of the smooth background texture
	objTexture     float64    // amplitude of the objects' own texture
	gradient       float64    // amplitude of the illumination gradient
	vignette       float64    // darkening at the corners (fraction)
	fracLo, fracHi float64    // target foreground fraction of an image
	contrast       float64    // 1 keeps contrast; < 1 pulls values toward the image mean
	blur           bool       // a 3x3 binomial blur
	noise          float64    // pixel noise standard deviation
}

func synthStyleOf(party string) (synthStyle, bool) {
	switch party {
	case "a":
		return synthStyle{
			bg: [3]float64{178, 104, 92}, obj: [3]float64{150, 72, 80},
			jitter: 24, objJitter: 8, strengthLo: 0.35, texture: 16, objTexture: 10, gradient: 26, vignette: 0.3,
			fracLo: 0.10, fracHi: 0.28, contrast: 1, noise: 8,
		}, true
	case "b":
		return synthStyle{
			bg: [3]float64{92, 140, 150}, obj: [3]float64{74, 112, 170},
			jitter: 24, objJitter: 8, strengthLo: 0.35, texture: 14, objTexture: 8, gradient: 20, vignette: 0.2,
			fracLo: 0.05, fracHi: 0.16, contrast: 0.65, blur: true, noise: 5,
		}, true
	}
	return synthStyle{}, false
}

// MaxSynthBytes bounds the memory Synth's samples take (1 GiB: 16384
// images of 64 px, 64 of 1024 px).
const MaxSynthBytes = 1 << 30

// Synth generates n samples of party "a" or "b": (3, size, size) RGB images
// with values 0..255 (whole numbers) and (1, size, size) binary masks with a
// foreground fraction between 0.05 and 0.30 (party b's objects are smaller:
// 0.05 to about 0.16). The same (party, seed) gives the same samples on every
// machine, and sample i does not depend on n. The samples are held in
// memory, at most MaxSynthBytes of them.
func Synth(party string, n, size int, seed uint64) (*Dataset, error) {
	style, ok := synthStyleOf(party)
	if !ok {
		return nil, fmt.Errorf("imageset: Synth: party %q, want \"a\" or \"b\"", party)
	}
	if n < 1 || n > 1<<20 {
		return nil, fmt.Errorf("imageset: Synth: %d samples, want 1..%d", n, 1<<20)
	}
	if size < 16 || size > 1024 {
		return nil, fmt.Errorf("imageset: Synth: size %d, want 16..1024", size)
	}
	// The samples are held in memory: four float32 planes (RGB and mask)
	// each. The check comes before any allocation.
	if bytes := int64(n) * int64(size) * int64(size) * 16; bytes > MaxSynthBytes {
		return nil, fmt.Errorf("imageset: Synth: %d samples of %dx%d px take %.1f GiB in memory, more than the %d GiB limit (at most %d samples of this size)",
			n, size, size, float64(bytes)/(1<<30), MaxSynthBytes>>30, MaxSynthBytes/(int64(size)*int64(size)*16))
	}
	partyTag := uint64(0xa)
	if party == "b" {
		partyTag = 0xb
	}
	master := tensor.NewRNG(seed ^ partyTag<<56)
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = master.Uint64()
	}
	ds := &Dataset{Samples: make([]Sample, n), Classes: 2, Layout: LayoutSynth}
	axes := newSynthAxes(size)
	_ = forEachParallel(n, func(i int) error {
		img, mask := synthScene(style, axes, tensor.NewRNG(seeds[i]))
		ds.Samples[i] = Sample{Name: fmt.Sprintf("synth-%s-%05d", party, i), Image: img, Mask: mask}
		return nil
	})
	return ds, nil
}

// mul is a product that the compiler may not fuse with a following addition
// (the explicit conversion forces rounding), so results match on machines
// with and without FMA.
func mul(a, b float64) float64 { return float64(a * b) }

func uniform(r *tensor.RNG, lo, hi float64) float64 { return lo + mul(hi-lo, r.Float64()) }

// unitVector draws a random direction without trigonometry (whose results
// may differ between platforms).
func unitVector(r *tensor.RNG) (float64, float64) {
	for {
		x, y := uniform(r, -1, 1), uniform(r, -1, 1)
		r2 := mul(x, x) + mul(y, y)
		if r2 > 0.01 && r2 <= 1 {
			l := math.Sqrt(r2)
			return x / l, y / l
		}
	}
}

// gauss is an approximately standard normal value: the sum of four 16-bit
// uniforms cut from one random word. (rand's NormFloat64 uses math.Exp and
// math.Log, which are not guaranteed to round identically everywhere.)
func gauss(r *tensor.RNG) float64 {
	w := r.Uint64()
	s := float64(float64(w&0xffff+w>>16&0xffff+w>>32&0xffff+w>>48) / 65536)
	return mul(s-2, 1.7320508075688772) // sqrt(3): four uniforms have variance 1/3
}

// blob is one object (or a shadow) in the scene.
type blob struct {
	cx, cy, rx, ry float64 // centre and radii in pixels
	cr, sr         float64 // rotation: cos, sin
	a2, a3         float64 // amplitudes of the 2- and 3-fold boundary waves
	p2c, p2s       float64 // phase of the 2-fold wave: cos, sin
	p3c, p3s       float64
	colour         [3]float64
}

func randomBlob(r *tensor.RNG, cx, cy, rx, ry, waves float64) blob {
	b := blob{cx: cx, cy: cy, rx: rx, ry: ry}
	b.cr, b.sr = unitVector(r)
	b.a2, b.a3 = uniform(r, 0, mul(0.18, waves)), uniform(r, 0, mul(0.10, waves))
	b.p2c, b.p2s = unitVector(r)
	b.p3c, b.p3s = unitVector(r)
	return b
}

// shape returns, for the centre of pixel (x, y), the normalised radius q and
// the boundary radius R in that direction: the pixel is inside when q < R.
// Scaling the blob by k divides q by k and leaves R alone.
func (b *blob) shape(x, y int) (q, bound float64) {
	dx, dy := float64(x)+0.5-b.cx, float64(y)+0.5-b.cy
	u := (mul(dx, b.cr) + mul(dy, b.sr)) / b.rx
	v := (mul(dy, b.cr) - mul(dx, b.sr)) / b.ry
	q = math.Sqrt(mul(u, u) + mul(v, v))
	if q == 0 {
		return 0, 1
	}
	c, s := u/q, v/q
	c2, s2 := mul(c, c)-mul(s, s), mul(2, mul(c, s))
	c3, s3 := mul(c, mul(4, mul(c, c))-3), mul(s, 3-mul(4, mul(s, s)))
	w2 := mul(c2, b.p2c) - mul(s2, b.p2s) // cos(2t + phase)
	w3 := mul(c3, b.p3c) - mul(s3, b.p3s) // cos(3t + phase)
	return q, 1 + mul(b.a2, w2) + mul(b.a3, w3)
}

// coverage turns shape's (q, R) of the blob scaled by k into a soft opacity
// (0.5 on the boundary, reaching 0 and 1 about half a pixel away) and a
// shading value 1 - (q/R)^2 (1 at the centre, 0 on the boundary).
func (b *blob) coverage(q, bound, k float64) (alpha, shade float64) {
	q /= k
	edge := mul(bound-q, mul(math.Sqrt(mul(b.rx, b.ry)), k)) // pixels inside the boundary
	alpha = min(max(0.5+edge, 0), 1)
	qr := q / bound
	shade = max(1-mul(qr, qr), 0)
	return alpha, shade
}

// Lattice sizes of the noise fields: coarse and fine background texture,
// colour blotches, object texture.
const (
	latticeCoarse = 4
	latticeFine   = 9
	latticeChroma = 3
	latticeObject = 12
)

// synthAxes are the lattice positions of one image size, shared by all images.
type synthAxes struct {
	size                         int
	centre                       []float64 // pixel centres in [0, 1)
	coarse, fine, chroma, object latticeAxis
}

func newSynthAxes(size int) *synthAxes {
	a := &synthAxes{size: size, centre: make([]float64, size)}
	for i := range a.centre {
		a.centre[i] = (float64(i) + 0.5) / float64(size)
	}
	a.coarse = newLatticeAxis(size, latticeCoarse)
	a.fine = newLatticeAxis(size, latticeFine)
	a.chroma = newLatticeAxis(size, latticeChroma)
	a.object = newLatticeAxis(size, latticeObject)
	return a
}

// synthScene draws one image (3, size, size) and its mask (1, size, size):
// drawScene makes every draw from r, then the scene is rendered without r.
func synthScene(st synthStyle, ax *synthAxes, r *tensor.RNG) (img, mask *tensor.Tensor) {
	size := ax.size
	sc := drawScene(st, float64(size), r)
	cov := coverObjects(sc.objs, size, sc.target)
	planes, shadeOf := renderBackground(st, ax, sc)
	otex := make([]float64, size*size)
	sc.objTex.fill(otex, st.objTexture, ax.object)
	compositeObjects(planes, sc.objs, cov, otex, shadeOf)
	img = finishImage(st, planes, size, sc.noise)
	mask = tensor.New(1, size, size)
	for p, rr := range cov.ratio {
		if rr < cov.k {
			mask.Data[p] = 1
		}
	}
	return img, mask
}

// scene is what synthScene draws from its random stream for one image:
// colours, illumination gradient, noise fields, objects, shadows, and the
// seed of the pixel noise.
type scene struct {
	bgC                  [3]float64 // background colour, the image's shift included
	gx, gy               float64    // direction of the illumination gradient
	gradAmp              float64    // its amplitude
	coarse, fine, objTex *valueNoise
	chroma               [3]*valueNoise
	target               float64 // foreground fraction the mask is scaled to
	objs                 []blob
	shadows              []shadow
	noise                *tensor.RNG // pixel noise
}

// shadow is a blob that darkens the background without being an object.
type shadow struct {
	blob
	depth float64 // darkening at full coverage
}

// drawScene makes all of a scene's draws from r, in a fixed order (the
// order is part of Synth's output: changing it changes every image). S is
// the image size.
func drawScene(st synthStyle, S float64, r *tensor.RNG) *scene {
	sc := &scene{}
	// Colours: one shift for the whole image moves background and objects
	// together, so colour alone does not tell an object from background.
	var shift [3]float64
	for c := range 3 {
		shift[c] = uniform(r, -st.jitter, st.jitter)
		sc.bgC[c] = st.bg[c] + shift[c]
	}
	sc.gx, sc.gy = unitVector(r)
	sc.gradAmp = mul(uniform(r, 0.3, 1), st.gradient)

	sc.coarse, sc.fine = newValueNoise(r, latticeCoarse), newValueNoise(r, latticeFine)
	for c := range 3 {
		sc.chroma[c] = newValueNoise(r, latticeChroma)
	}
	sc.objTex = newValueNoise(r, latticeObject)

	sc.target = uniform(r, st.fracLo, st.fracHi)
	sc.objs = drawObjects(st, sc.bgC, sc.target, S, r)
	sc.shadows = drawShadows(sc.target, len(sc.objs), S, r)
	sc.noise = tensor.NewRNG(r.Uint64())
	return sc
}

// drawObjects draws 1-3 objects sharing out the target foreground fraction
// of an S x S image, each in a colour between the background's (bgC) and
// the palette's object colour.
func drawObjects(st synthStyle, bgC [3]float64, target, S float64, r *tensor.RNG) []blob {
	nObj := 1 + r.IntN(3)
	weights := make([]float64, nObj)
	wsum := 0.0
	for i := range weights {
		weights[i] = uniform(r, 0.5, 1.5)
		wsum += weights[i]
	}
	objs := make([]blob, nObj)
	for i := range objs {
		area := mul(mul(target, weights[i]/wsum), mul(S, S))
		aspect := uniform(r, 0.6, 1)
		rx := math.Sqrt(area / mul(math.Pi, aspect))
		cx, cy := uniform(r, mul(0.15, S), mul(0.85, S)), uniform(r, mul(0.15, S), mul(0.85, S))
		objs[i] = randomBlob(r, cx, cy, rx, mul(rx, aspect), 1)
		// Objects differ from the background by a share of the palette
		// difference: some are faint.
		strength := uniform(r, st.strengthLo, 1)
		for c := range 3 {
			delta := st.obj[c] - st.bg[c] + uniform(r, -st.objJitter, st.objJitter)
			objs[i].colour[c] = bgC[c] + mul(strength, delta)
		}
	}
	return objs
}

// drawShadows draws 0-2 thin folds and 0-2 round patches the size of one of
// nObj objects sharing the target fraction of an S x S image.
func drawShadows(target float64, nObj int, S float64, r *tensor.RNG) []shadow {
	var shadows []shadow
	for range r.IntN(3) {
		cx, cy := uniform(r, mul(0.1, S), mul(0.9, S)), uniform(r, mul(0.1, S), mul(0.9, S))
		b := randomBlob(r, cx, cy, mul(uniform(r, 0.25, 0.45), S), mul(uniform(r, 0.02, 0.05), S), 0.3)
		shadows = append(shadows, shadow{b, 0.14})
	}
	for range r.IntN(3) {
		cx, cy := uniform(r, mul(0.15, S), mul(0.85, S)), uniform(r, mul(0.15, S), mul(0.85, S))
		rx := math.Sqrt(mul(target, mul(S, S)) / mul(math.Pi, float64(nObj)))
		b := randomBlob(r, cx, cy, rx, mul(rx, uniform(r, 0.6, 1)), 1)
		shadows = append(shadows, shadow{b, uniform(r, 0.08, 0.18)})
	}
	return shadows
}

// objectCover is each object's shape at each pixel and the scale k that
// makes the mask cover the target fraction.
type objectCover struct {
	qs, bounds []float64 // shape's q and R, object i at pixel p at i*npx+p
	ratio      []float64 // per pixel, the smallest q/R over the objects
	k          float64   // a pixel is foreground when its ratio is below k
}

// coverObjects scales all objects by one factor k so that the mask covers
// the target fraction exactly (overlaps, boundary waves and the image
// border change the area): a pixel is foreground when its smallest q/R over
// the objects is below k, so k is a quantile of those ratios. The count is
// kept in 5%..30% of the pixels.
func coverObjects(objs []blob, size int, target float64) objectCover {
	npx := size * size
	nObj := len(objs)
	cov := objectCover{qs: make([]float64, nObj*npx), bounds: make([]float64, nObj*npx), ratio: make([]float64, npx)}
	for p := range npx {
		cov.ratio[p] = math.Inf(1)
		for i := range objs {
			q, bound := objs[i].shape(p%size, p/size)
			cov.qs[i*npx+p], cov.bounds[i*npx+p] = q, bound
			cov.ratio[p] = min(cov.ratio[p], q/bound)
		}
	}
	want := min(max(int(math.Round(mul(target, float64(npx)))), (npx*5+99)/100), npx*30/100)
	scratch := slices.Clone(cov.ratio)
	cov.k = kthSmallest(scratch, want-1)
	if want < npx {
		cov.k = (cov.k + slices.Min(scratch[want:])) / 2
	}
	return cov
}

// renderBackground returns the background's planes (3 x npx): base colour,
// illumination gradient, texture, colour blotches; then vignetting and
// shadows. shadeOf is each pixel's vignetting times fold darkening, which
// the objects take too.
func renderBackground(st synthStyle, ax *synthAxes, sc *scene) (planes, shadeOf []float64) {
	size := ax.size
	npx := size * size
	lum := make([]float64, npx)
	sc.coarse.fill(lum, st.texture/1.5, ax.coarse)
	sc.fine.fill(lum, mul(0.5, st.texture)/1.5, ax.fine)
	shadeOf = make([]float64, npx)
	planes = make([]float64, 3*npx)
	for p := range npx {
		fx, fy := ax.centre[p%size]-0.5, ax.centre[p/size]-0.5
		grad := mul(2, mul(fx, sc.gx)+mul(fy, sc.gy)) // -1.4..1.4 across the image
		for c := range 3 {
			planes[c*npx+p] = sc.bgC[c] + mul(sc.gradAmp, grad) + lum[p]
		}
		shadeOf[p] = 1 - mul(st.vignette, mul(2, mul(fx, fx)+mul(fy, fy)))
	}
	for _, sh := range sc.shadows {
		for p := range npx {
			q, bound := sh.shape(p%size, p/size)
			a, _ := sh.coverage(q, bound, 1)
			shadeOf[p] = mul(shadeOf[p], 1-mul(sh.depth, a))
		}
	}
	for c := range 3 {
		pl := planes[c*npx : (c+1)*npx]
		sc.chroma[c].fill(pl, mul(0.4, st.texture), ax.chroma)
		for p := range pl {
			pl[p] = mul(pl[p], shadeOf[p])
		}
	}
	return planes, shadeOf
}

// compositeObjects composites the objects, in order, over the planes:
// shaded (darker rim), textured by otex, and vignetted like the background
// (shadeOf).
func compositeObjects(planes []float64, objs []blob, cov objectCover, otex, shadeOf []float64) {
	npx := len(shadeOf)
	for i := range objs {
		for p := range npx {
			alpha, shade := objs[i].coverage(cov.qs[i*npx+p], cov.bounds[i*npx+p], cov.k)
			if alpha == 0 {
				continue
			}
			light := 0.84 + mul(0.3, shade)
			for c := range 3 {
				oc := mul(mul(objs[i].colour[c], light)+otex[p], shadeOf[p])
				v := planes[c*npx+p]
				planes[c*npx+p] = v + mul(alpha, oc-v)
			}
		}
	}
}

// finishImage blurs the planes and pulls in their contrast if the style
// says so, then adds pixel noise from noise and rounds and clamps to 0..255.
func finishImage(st synthStyle, planes []float64, size int, noise *tensor.RNG) *tensor.Tensor {
	npx := size * size
	if st.blur {
		blur3(planes, size)
	}
	if st.contrast != 1 {
		for c := range 3 {
			pl := planes[c*npx : (c+1)*npx]
			m := 0.0
			for _, v := range pl {
				m += v
			}
			m /= float64(npx)
			for i, v := range pl {
				pl[i] = m + mul(st.contrast, v-m)
			}
		}
	}
	img := tensor.New(3, size, size)
	for i, v := range planes {
		v += mul(st.noise, gauss(noise))
		img.Data[i] = float32(math.Round(min(max(v, 0), 255)))
	}
	return img
}

// blur3 applies a separable [1 2 1]/4 blur to each size x size plane, with
// the border pixels repeated.
func blur3(planes []float64, size int) {
	npx := size * size
	tmp := make([]float64, npx)
	for c := 0; c < len(planes)/npx; c++ {
		pl := planes[c*npx : (c+1)*npx]
		for y := range size {
			row := pl[y*size : (y+1)*size]
			for x := range size {
				l, rr := row[max(x-1, 0)], row[min(x+1, size-1)]
				tmp[y*size+x] = mul(0.25, l+rr) + mul(0.5, row[x])
			}
		}
		for y := range size {
			up, dn := max(y-1, 0), min(y+1, size-1)
			for x := range size {
				pl[y*size+x] = mul(0.25, tmp[up*size+x]+tmp[dn*size+x]) + mul(0.5, tmp[y*size+x])
			}
		}
	}
}
