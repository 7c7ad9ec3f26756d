package segment

import (
	"fmt"
	"image"
	"io"
	"math"

	"suture/io/ckpt"
	"suture/io/imageset"
	"suture/kernels"
	"suture/stitch"
	"suture/tensor"
	"suture/unet"
)

// Options change how a Model predicts.
type Options struct {
	// NoMirror turns test-time mirroring off (nnU-Net mirrors by default).
	NoMirror bool
	// Step is the sliding window's step as a fraction of the tile (0:
	// nnU-Net's 0.5).
	Step float64
	// Progress, when set, is called after every tile.
	Progress func(done, total int)
	// MaxPixels bounds the width x height of an image read from a file
	// (SegmentFile), checked against its header before it is decoded (0:
	// DefaultMaxPixels of the model's classes).
	MaxPixels int64
}

// Check says what is wrong with the options, if anything.
func (o Options) Check() error {
	if o.Step != 0 {
		if err := CheckStep(o.Step); err != nil {
			return err
		}
	}
	if o.MaxPixels < 0 {
		return fmt.Errorf("pixel limit %d is negative", o.MaxPixels)
	}
	return nil
}

// Model is a network ready to segment images: a U-Net (Suture's own or
// imported from nnU-Net), one network of a stitched model, or an extracted
// stitch-ensemble. Make one with Load, Read, FromUNet or FromStitched.
type Model struct {
	// Name says what the model is, for messages.
	Name string
	// Inference holds the patch, normalisation and labels.
	Inference *unet.Inference
	// InChannels and NumClasses are the network's.
	InChannels, NumClasses int
	Options                Options

	scores ScoreFunc
}

// FromUNet wraps a U-Net.
func FromUNet(m *unet.Model) *Model {
	return &Model{
		Name: "U-Net", Inference: m.InferenceFor(), InChannels: m.Config.InChannels, NumClasses: m.Config.NumClasses,
		scores: func(x *tensor.Tensor) (*tensor.Tensor, error) {
			return m.ForwardMain(x)
		},
	}
}

// FromStitched wraps the network that setting extracts from a stitched
// model. Its inference settings are base network A's (both bases see the
// same input).
func FromStitched(s *stitch.Joined[*unet.Model], setting stitch.Setting) (*Model, error) {
	if len(setting.A) != s.M.Pairs() || len(setting.B) != s.M.Pairs() {
		return nil, fmt.Errorf("switch setting for %d pairs, the stitched model has %d", len(setting.A), s.M.Pairs())
	}
	if s.A.Config.NumClasses != s.B.Config.NumClasses {
		return nil, fmt.Errorf("stitched bases have %d and %d classes", s.A.Config.NumClasses, s.B.Config.NumClasses)
	}
	inf, err := stitchedInference(s.A, s.B)
	if err != nil {
		return nil, err
	}
	return &Model{
		Name: "stitched network " + setting.String(), Inference: inf,
		InChannels: s.A.Config.InChannels, NumClasses: s.A.Config.NumClasses,
		scores: func(x *tensor.Tensor) (*tensor.Tensor, error) {
			return s.M.Probabilities(setting, x, x.Shape[0])
		},
	}, nil
}

// Load reads any Suture model checkpoint onto backend b (Open) and makes
// the Model that segments with it. net picks the network of a stitched
// checkpoint (a, b, ensemble, stitch-ensemble:K, switches:SPEC; "" is the
// ensemble); for any other checkpoint net must be "" (an error otherwise,
// so that a choice is never silently ignored).
func Load(path string, b kernels.Backend, net string) (*Model, error) {
	o, err := Open(path, b, net)
	if err != nil {
		return nil, err
	}
	return o.Model()
}

// Read is Load from a stream (at most ckpt.DefaultMaxBytes).
func Read(r io.Reader, b kernels.Backend, net string) (*Model, error) {
	c, err := ckpt.Decode(r, ckpt.DefaultMaxBytes)
	if err != nil {
		return nil, err
	}
	o, err := FromCheckpoint("model", c, b, net)
	if err != nil {
		return nil, err
	}
	return o.Model()
}

// stitchedInference merges the inference settings of two stitched bases:
// they see one input, so their normalisation and training size must agree;
// the tile is the larger of their patches, rounded up to a multiple of both
// networks' strides.
func stitchedInference(a, b *unet.Model) (*unet.Inference, error) {
	ia, ib := a.InferenceFor(), b.InferenceFor()
	if len(ia.Normalization) != len(ib.Normalization) {
		return nil, fmt.Errorf("stitched bases take %d and %d channels", len(ia.Normalization), len(ib.Normalization))
	}
	for c := range ia.Normalization {
		if ia.Normalization[c] != ib.Normalization[c] {
			return nil, fmt.Errorf("stitched bases normalise channel %d differently (%+v and %+v); both see the same input", c, ia.Normalization[c], ib.Normalization[c])
		}
	}
	if ia.ImageSize != ib.ImageSize || ia.CropToNonzero != ib.CropToNonzero {
		return nil, fmt.Errorf("stitched bases were trained at different image sizes (%v and %v) or preprocess differently", ia.ImageSize, ib.ImageSize)
	}
	out := *ia
	ah, aw := a.Config.Divisor()
	bh, bw := b.Config.Divisor()
	mh, mw := lcm(ah, bh), lcm(aw, bw)
	for i, m := range []int{mh, mw} {
		p := max(ia.PatchSize[i], ib.PatchSize[i])
		out.PatchSize[i] = (p + m - 1) / m * m
	}
	if len(ib.MirrorAxes) < len(out.MirrorAxes) { // mirror only along axes both allow
		out.MirrorAxes = ib.MirrorAxes
	}
	return &out, nil
}

func lcm(a, b int) int {
	g, x := a, b
	for x != 0 {
		g, x = x, g%x
	}
	return a / g * b
}

func (m *Model) window() WindowOptions {
	o := WindowOptions{Patch: m.Inference.PatchSize, Step: m.Options.Step, Gaussian: true, Progress: m.Options.Progress}
	if o.Step == 0 {
		o.Step = 0.5
	}
	if !m.Options.NoMirror {
		o.MirrorAxes = m.Inference.MirrorAxes
	}
	return o
}

// channels adapts img (C, H, W) to the network's input channels: a grey
// image is repeated for an RGB network; other mismatches are errors.
func (m *Model) channels(img *tensor.Tensor) (*tensor.Tensor, error) {
	if img == nil || len(img.Shape) != 3 || len(img.Data) != img.Numel() || img.Numel() == 0 {
		return nil, fmt.Errorf("image %v, want (C, H, W) in host memory", shape(img))
	}
	c, h, w := img.Shape[0], img.Shape[1], img.Shape[2]
	if c == m.InChannels {
		return img, nil
	}
	if c == 1 {
		out := tensor.New(m.InChannels, h, w)
		for ch := 0; ch < m.InChannels; ch++ {
			copy(out.Data[ch*h*w:], img.Data)
		}
		return out, nil
	}
	return nil, fmt.Errorf("image has %d channels, the model expects %d", c, m.InChannels)
}

// Classes segments img (C, H, W): raw intensities (0..255 for images),
// host memory, which is normalised, cropped, padded and resized here as
// the model's Inference says. It returns the class of every pixel (H*W,
// row-major) at the image's own size. The image's data is overwritten (it
// is normalised in place) unless it is resized or cropped first.
func (m *Model) Classes(img *tensor.Tensor) ([]uint8, error) {
	img, err := m.channels(img)
	if err != nil {
		return nil, err
	}
	inf := m.Inference
	c, h, w := img.Shape[0], img.Shape[1], img.Shape[2]
	if inf.ImageSize != [2]int{} {
		// Suture's own model: resize to the training size, predict there,
		// and read the class of each input pixel from the bilinearly
		// interpolated scores.
		small := img
		if h != inf.ImageSize[0] || w != inf.ImageSize[1] {
			if small, err = imageset.Resize(img, inf.ImageSize[0], inf.ImageSize[1]); err != nil {
				return nil, err
			}
		}
		if err := inf.Normalize(small.Data, c, nil); err != nil {
			return nil, err
		}
		scores, err := SlidingWindow(m.scores, small, m.window())
		if err != nil {
			return nil, err
		}
		return argmaxResized(scores, h, w), nil
	}
	// nnU-Net's way: crop to the nonzero region, normalise, predict at the
	// image's resolution, background outside the crop.
	y0, y1, x0, x1 := 0, h, 0, w
	if inf.CropToNonzero {
		if y0, y1, x0, x1 = nonzeroBox(img); y1 <= y0 {
			return make([]uint8, h*w), nil // all zero: nothing to segment
		}
	}
	crop := img
	if y0 != 0 || x0 != 0 || y1 != h || x1 != w {
		crop = tensor.New(c, y1-y0, x1-x0)
		cw := x1 - x0
		for ch := 0; ch < c; ch++ {
			for y := y0; y < y1; y++ {
				copy(crop.Data[(ch*(y1-y0)+y-y0)*cw:][:cw], img.Data[(ch*h+y)*w+x0:][:cw])
			}
		}
	}
	var mask []bool
	for _, n := range inf.Normalization {
		if n.UseMask {
			mask = nonzeroMaskFilled(crop)
			break
		}
	}
	if err := inf.Normalize(crop.Data, c, mask); err != nil {
		return nil, err
	}
	cls, err := ArgMaxWindow(m.scores, crop, m.window())
	if err != nil {
		return nil, err
	}
	if crop == img {
		return cls, nil
	}
	out := make([]uint8, h*w)
	cw := x1 - x0
	for y := y0; y < y1; y++ {
		copy(out[y*w+x0:][:cw], cls[(y-y0)*cw:][:cw])
	}
	return out, nil
}

// Segment segments an image in one call: conversion, channel adaptation,
// normalisation, sliding window and resizing inside. The result has the
// image's size; each pixel holds its class index (0 is background; see
// Inference.Labels).
func (m *Model) Segment(img image.Image) (*image.Gray, error) {
	x := imageset.FromImage(img)
	cls, err := m.Classes(x)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	return &image.Gray{Pix: cls, Stride: b.Dx(), Rect: image.Rect(0, 0, b.Dx(), b.Dy())}, nil
}

// argmaxResized reads the class of each pixel of an h x w image from
// scores (K, SH, SW) bilinearly interpolated at the pixel's centre (half-
// pixel centres, edges clamped).
func argmaxResized(scores *tensor.Tensor, h, w int) []uint8 {
	k, sh, sw := scores.Shape[0], scores.Shape[1], scores.Shape[2]
	out := make([]uint8, h*w)
	type tap struct {
		i0, i1 int
		f      float32
	}
	taps := func(src, dst int) []tap {
		t := make([]tap, dst)
		for j := range t {
			pos := (float64(j)+0.5)*float64(src)/float64(dst) - 0.5
			pos = math.Max(0, math.Min(pos, float64(src-1)))
			i0 := int(pos)
			i1 := min(i0+1, src-1)
			t[j] = tap{i0, i1, float32(pos - float64(i0))}
		}
		return t
	}
	ty, tx := taps(sh, h), taps(sw, w)
	plane := sh * sw
	for y := 0; y < h; y++ {
		a := ty[y]
		for x := 0; x < w; x++ {
			b := tx[x]
			best, bv := 0, float32(math.Inf(-1))
			for cl := 0; cl < k; cl++ {
				p := scores.Data[cl*plane:]
				top := p[a.i0*sw+b.i0]*(1-b.f) + p[a.i0*sw+b.i1]*b.f
				bot := p[a.i1*sw+b.i0]*(1-b.f) + p[a.i1*sw+b.i1]*b.f
				if v := top*(1-a.f) + bot*a.f; v > bv {
					best, bv = cl, v
				}
			}
			out[y*w+x] = uint8(best)
		}
	}
	return out
}

// nonzeroBox is the bounding box [y0, y1) x [x0, x1) of the pixels where
// any channel is nonzero (nnU-Net's crop_to_nonzero); empty when none is.
func nonzeroBox(img *tensor.Tensor) (y0, y1, x0, x1 int) {
	c, h, w := img.Shape[0], img.Shape[1], img.Shape[2]
	y0, x0 = h, w
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for ch := 0; ch < c; ch++ {
				if img.Data[(ch*h+y)*w+x] != 0 {
					y0, y1 = min(y0, y), max(y1, y+1)
					x0, x1 = min(x0, x), max(x1, x+1)
					break
				}
			}
		}
	}
	return y0, y1, x0, x1
}

// nonzeroMaskFilled marks the pixels where any channel is nonzero, with the
// holes filled (zero regions that do not reach the border, 4-connected), as
// nnU-Net's create_nonzero_mask does with binary_fill_holes.
func nonzeroMaskFilled(img *tensor.Tensor) []bool {
	c, h, w := img.Shape[0], img.Shape[1], img.Shape[2]
	inside := make([]bool, h*w)
	for i := range inside {
		for ch := 0; ch < c; ch++ {
			if img.Data[ch*h*w+i] != 0 {
				inside[i] = true
				break
			}
		}
	}
	// Flood the zero pixels reachable from the border; the rest is inside.
	outside := make([]bool, h*w)
	var stack []int
	push := func(i int) {
		if !inside[i] && !outside[i] {
			outside[i] = true
			stack = append(stack, i)
		}
	}
	for x := 0; x < w; x++ {
		push(x)
		push((h-1)*w + x)
	}
	for y := 0; y < h; y++ {
		push(y * w)
		push(y*w + w - 1)
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		y, x := i/w, i%w
		if y > 0 {
			push(i - w)
		}
		if y < h-1 {
			push(i + w)
		}
		if x > 0 {
			push(i - 1)
		}
		if x < w-1 {
			push(i + 1)
		}
	}
	for i := range inside {
		inside[i] = !outside[i]
	}
	return inside
}
