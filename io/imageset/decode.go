package imageset

import (
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registers JPEG with image.Decode
	_ "image/png"  // registers PNG with image.Decode
	"io"
	"os"

	_ "golang.org/x/image/tiff" // registers TIFF with image.Decode

	"suture/tensor"
)

// MaxPixels bounds the images this package decodes (width x height):
// a header is read first, and a larger image is refused before any pixel
// is, so that a small file declaring a huge image cannot exhaust memory.
// 2^27 pixels is 11585 x 11585; as float32 RGB that is 1.5 GiB, about what
// a sliding-window prediction of it holds (bench/RESULTS.md section 7).
var MaxPixels = 1 << 27

// decodeFile reads and decodes one image file; format is "png", "jpeg" or
// "tiff" (from the file's content, not its name).
func decodeFile(path string) (image.Image, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("imageset: %w", err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return nil, "", fmt.Errorf("imageset: cannot decode %s: %w", path, err)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > int64(MaxPixels) {
		return nil, "", fmt.Errorf("imageset: %s declares %dx%d pixels, more than the %d this reader decodes (imageset.MaxPixels)", path, cfg.Width, cfg.Height, MaxPixels)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, "", fmt.Errorf("imageset: %w", err)
	}
	img, format, err := image.Decode(f)
	if err != nil {
		return nil, "", fmt.Errorf("imageset: cannot decode %s: %w", path, err)
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, "", fmt.Errorf("imageset: %s is an empty image (%dx%d)", path, b.Dx(), b.Dy())
	}
	return img, format, nil
}

// isGrey reports whether an image has one channel.
func isGrey(img image.Image) bool {
	switch m := img.(type) {
	case *image.Gray, *image.Gray16:
		return true
	case *image.Paletted:
		for _, c := range m.Palette {
			r, g, b, _ := c.RGBA()
			if r != g || g != b {
				return false
			}
		}
		return true
	}
	return false
}

// imageTensor converts an image to a (C, H, W) tensor with values 0..255;
// C = 1 for grey images, else 3 (alpha is dropped).
func imageTensor(img image.Image) *tensor.Tensor {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if isGrey(img) {
		t := tensor.New(1, h, w)
		for y := range h {
			for x := range w {
				t.Data[y*w+x] = greyLevel(img, b.Min.X+x, b.Min.Y+y)
			}
		}
		return t
	}
	t := tensor.New(3, h, w)
	plane := h * w
	for y := range h {
		for x := range w {
			r, g, bl := rgbLevels(img, b.Min.X+x, b.Min.Y+y)
			i := y*w + x
			t.Data[i], t.Data[plane+i], t.Data[2*plane+i] = r, g, bl
		}
	}
	return t
}

// greyLevel is a grey image's value at (x, y) on a 0..255 scale.
func greyLevel(img image.Image, x, y int) float32 {
	switch m := img.(type) {
	case *image.Gray:
		return float32(m.Pix[m.PixOffset(x, y)])
	case *image.Gray16:
		i := m.PixOffset(x, y)
		return float32(uint16(m.Pix[i])<<8|uint16(m.Pix[i+1])) / 257
	}
	r, _, _, _ := img.At(x, y).RGBA()
	return float32(r) / 257
}

// rgbLevels is a colour image's (R, G, B) at (x, y) on a 0..255 scale. The
// common decoder outputs take fast paths; the rest go through color models.
func rgbLevels(img image.Image, x, y int) (r, g, b float32) {
	switch m := img.(type) {
	case *image.YCbCr:
		yi, ci := m.YOffset(x, y), m.COffset(x, y)
		cr, cg, cb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
		return float32(cr), float32(cg), float32(cb)
	case *image.RGBA:
		i := m.PixOffset(x, y)
		return float32(m.Pix[i]), float32(m.Pix[i+1]), float32(m.Pix[i+2])
	case *image.NRGBA:
		i := m.PixOffset(x, y)
		return float32(m.Pix[i]), float32(m.Pix[i+1]), float32(m.Pix[i+2])
	}
	c := color.NRGBA64Model.Convert(img.At(x, y)).(color.NRGBA64)
	return float32(c.R) / 257, float32(c.G) / 257, float32(c.B) / 257
}

// maskLevels returns a mask image's grey levels in row-major order and the
// largest level its format can hold (255, or 65535 for 16-bit images).
// Colour masks are converted to luma; JPEG colour masks use their Y plane.
func maskLevels(img image.Image) (levels []uint16, maxLevel uint16) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	levels = make([]uint16, w*h)
	switch m := img.(type) {
	case *image.Gray16:
		for y := range h {
			for x := range w {
				i := m.PixOffset(b.Min.X+x, b.Min.Y+y)
				levels[y*w+x] = uint16(m.Pix[i])<<8 | uint16(m.Pix[i+1])
			}
		}
		return levels, 65535
	case *image.Gray:
		for y := range h {
			for x := range w {
				levels[y*w+x] = uint16(m.Pix[m.PixOffset(b.Min.X+x, b.Min.Y+y)])
			}
		}
	case *image.YCbCr:
		for y := range h {
			for x := range w {
				levels[y*w+x] = uint16(m.Y[m.YOffset(b.Min.X+x, b.Min.Y+y)])
			}
		}
	default:
		for y := range h {
			for x := range w {
				levels[y*w+x] = uint16(color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y)
			}
		}
	}
	return levels, 255
}

// maskRule says how mask levels become class indices.
type maskRule int

const (
	// ruleBinary: a lossless binary mask, levels {0, max} or {0, 1}; any other
	// level is an error.
	ruleBinary maskRule = iota
	// ruleThreshold: levels above half the range are foreground (JPEG masks,
	// whose edges compression blurs, and the original releases' masks).
	ruleThreshold
	// ruleLabels: levels are class indices 0..classes-1 (nnU-Net labels).
	ruleLabels
)

// maskClasses turns mask levels into class indices (0/1 for the binary and
// threshold rules, 0..classes-1 for labels). path names the file in errors.
func maskClasses(levels []uint16, maxLevel uint16, rule maskRule, classes int, w int, path string) ([]float32, error) {
	out := make([]float32, len(levels))
	switch rule {
	case ruleThreshold:
		half := maxLevel / 2
		for i, v := range levels {
			if v > half {
				out[i] = 1
			}
		}
	case ruleBinary:
		// The largest level decides the encoding: {0,1} when it is 1, else {0,max}.
		top := uint16(0)
		for _, v := range levels {
			top = max(top, v)
		}
		fg := maxLevel
		if top <= 1 {
			fg = 1
		}
		for i, v := range levels {
			switch v {
			case 0:
			case fg:
				out[i] = 1
			default:
				return nil, fmt.Errorf("imageset: mask %s: unexpected value %d at (x=%d, y=%d); a binary mask holds {0,%d} or {0,1}", path, v, i%w, i/w, maxLevel)
			}
		}
	case ruleLabels:
		for i, v := range levels {
			if int(v) >= classes {
				return nil, fmt.Errorf("imageset: label %s: unexpected value %d at (x=%d, y=%d); dataset.json declares labels 0..%d", path, v, i%w, i/w, classes-1)
			}
			out[i] = float32(v)
		}
	}
	return out, nil
}
