package unet

import (
	"math"

	"suture/tensor"
)

// Augment holds nnU-Net's default 2D augmentation probabilities and ranges.
// Each transform is applied to a sample with its probability; all random
// choices come from the RNG passed in, so a seed fixes the result.
type Augment struct {
	PRotate, MaxAngle                 float64 // rotation by U(-MaxAngle, MaxAngle) radians
	PScale, ScaleLo, ScaleHi          float64 // zoom factor
	PMirror                           float64 // per axis
	PNoise, NoiseVar                  float64 // Gaussian noise, variance U(0, NoiseVar)
	PBright, BrightLo, BrightHi       float64 // multiplicative brightness
	PContrast, ContrastLo, ContrastHi float64
	PGamma, GammaLo, GammaHi          float64 // gamma on the [0,1]-rescaled image, stats kept
	PGammaInvert                      float64 // gamma on the inverted image
}

// DefaultAugment returns nnU-Net's defaults for 2D.
func DefaultAugment() Augment {
	return Augment{
		PRotate: 0.2, MaxAngle: math.Pi,
		PScale: 0.2, ScaleLo: 0.7, ScaleHi: 1.4,
		PMirror: 0.5,
		PNoise:  0.1, NoiseVar: 0.1,
		PBright: 0.15, BrightLo: 0.75, BrightHi: 1.25,
		PContrast: 0.15, ContrastLo: 0.75, ContrastHi: 1.25,
		PGamma: 0.3, GammaLo: 0.7, GammaHi: 1.5, PGammaInvert: 0.1,
	}
}

func uniform(g *tensor.RNG, lo, hi float64) float64 { return lo + (hi-lo)*g.Float64() }

// Apply augments one sample in place: img (C, H, W) normalised, mask (H*W)
// class indices. scratch must hold C*H*W floats.
func (a Augment) Apply(img []float32, mask []float32, c, h, w int, g *tensor.RNG, scratch []float32, maskScratch []float32) {
	// Spatial: rotation and scaling as one affine map about the centre,
	// bilinear for the image, nearest for the mask, zero padding outside.
	angle, scale := 0.0, 1.0
	if g.Float64() < a.PRotate {
		angle = uniform(g, -a.MaxAngle, a.MaxAngle)
	}
	if g.Float64() < a.PScale {
		scale = uniform(g, a.ScaleLo, a.ScaleHi)
	}
	flipY, flipX := g.Float64() < a.PMirror, g.Float64() < a.PMirror
	if angle != 0 || scale != 1 {
		warp(img, mask, c, h, w, angle, scale, scratch, maskScratch)
	}
	if flipY || flipX {
		mirror(img, c, h, w, flipY, flipX)
		mirror(mask, 1, h, w, flipY, flipX)
	}
	// Intensity, per channel where nnU-Net does it per channel.
	plane := h * w
	if g.Float64() < a.PNoise {
		std := math.Sqrt(uniform(g, 0, a.NoiseVar))
		for i := range img {
			img[i] += float32(std * g.Norm())
		}
	}
	if g.Float64() < a.PBright {
		f := float32(uniform(g, a.BrightLo, a.BrightHi))
		for i := range img {
			img[i] *= f
		}
	}
	if g.Float64() < a.PContrast {
		f := uniform(g, a.ContrastLo, a.ContrastHi)
		for ch := 0; ch < c; ch++ {
			p := img[ch*plane : (ch+1)*plane]
			mean, lo, hi := stats(p)
			for i, v := range p {
				nv := (float64(v)-mean)*f + mean
				p[i] = float32(math.Min(math.Max(nv, lo), hi)) // keep the original range
			}
		}
	}
	if g.Float64() < a.PGammaInvert {
		gammaChannels(img, c, plane, uniform(g, a.GammaLo, a.GammaHi), true)
	}
	if g.Float64() < a.PGamma {
		gammaChannels(img, c, plane, uniform(g, a.GammaLo, a.GammaHi), false)
	}
}

func stats(p []float32) (mean, lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range p {
		f := float64(v)
		mean += f
		lo, hi = math.Min(lo, f), math.Max(hi, f)
	}
	return mean / float64(len(p)), lo, hi
}

// gammaChannels rescales each channel to [0, 1], applies x^gamma (on 1-x when
// invert), rescales back and restores the channel's mean and std.
func gammaChannels(img []float32, c, plane int, gamma float64, invert bool) {
	for ch := 0; ch < c; ch++ {
		p := img[ch*plane : (ch+1)*plane]
		mean, lo, hi := stats(p)
		std := stddev(p, mean)
		rng := hi - lo
		if rng < 1e-7 {
			continue
		}
		for i, v := range p {
			x := (float64(v) - lo) / rng
			if invert {
				x = 1 - math.Pow(1-x, gamma)
			} else {
				x = math.Pow(x, gamma)
			}
			p[i] = float32(x*rng + lo)
		}
		m2 := 0.0
		for _, v := range p {
			m2 += float64(v)
		}
		m2 /= float64(len(p))
		s2 := stddev(p, m2)
		for i, v := range p {
			p[i] = float32((float64(v)-m2)/(s2+1e-8)*std + mean)
		}
	}
}

func stddev(p []float32, mean float64) float64 {
	var q float64
	for _, v := range p {
		d := float64(v) - mean
		q += d * d
	}
	return math.Sqrt(q / float64(len(p)))
}

// warp resamples img (C, H, W) and mask (H, W) under rotation by angle and
// zoom by scale about the centre.
func warp(img, mask []float32, c, h, w int, angle, scale float64, scratch, maskScratch []float32) {
	cy, cx := float64(h-1)/2, float64(w-1)/2
	cos, sin := math.Cos(angle)/scale, math.Sin(angle)/scale
	plane := h * w
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			// Inverse map: output pixel -> source position.
			dy, dx := float64(y)-cy, float64(x)-cx
			sy := cos*dy - sin*dx + cy
			sx := sin*dy + cos*dx + cx
			o := y*w + x
			ny, nx := int(math.Round(sy)), int(math.Round(sx))
			if ny >= 0 && ny < h && nx >= 0 && nx < w {
				maskScratch[o] = mask[ny*w+nx]
			} else {
				maskScratch[o] = 0
			}
			y0, x0 := int(math.Floor(sy)), int(math.Floor(sx))
			fy, fx := float32(sy-float64(y0)), float32(sx-float64(x0))
			for ch := 0; ch < c; ch++ {
				src := img[ch*plane : (ch+1)*plane]
				at := func(yy, xx int) float32 {
					if yy < 0 || yy >= h || xx < 0 || xx >= w {
						return 0
					}
					return src[yy*w+xx]
				}
				top := at(y0, x0)*(1-fx) + at(y0, x0+1)*fx
				bot := at(y0+1, x0)*(1-fx) + at(y0+1, x0+1)*fx
				scratch[ch*plane+o] = top*(1-fy) + bot*fy
			}
		}
	}
	copy(img, scratch[:c*plane])
	copy(mask, maskScratch[:plane])
}

// mirror flips each (H, W) plane of x along the chosen axes in place.
func mirror(x []float32, c, h, w int, flipY, flipX bool) {
	plane := h * w
	for ch := 0; ch < c; ch++ {
		p := x[ch*plane : (ch+1)*plane]
		if flipX {
			for y := 0; y < h; y++ {
				row := p[y*w : (y+1)*w]
				for i, j := 0, w-1; i < j; i, j = i+1, j-1 {
					row[i], row[j] = row[j], row[i]
				}
			}
		}
		if flipY {
			for i, j := 0, h-1; i < j; i, j = i+1, j-1 {
				a, b := p[i*w:(i+1)*w], p[j*w:(j+1)*w]
				for k := range a {
					a[k], b[k] = b[k], a[k]
				}
			}
		}
	}
}

// Normalize applies nnU-Net's per-image z-score normalisation to each
// channel of img (C, H, W) in place.
func Normalize(img []float32, c int) {
	plane := len(img) / c
	for ch := 0; ch < c; ch++ {
		p := img[ch*plane : (ch+1)*plane]
		mean, _, _ := stats(p)
		std := stddev(p, mean)
		for i, v := range p {
			p[i] = float32((float64(v) - mean) / math.Max(std, 1e-8))
		}
	}
}
