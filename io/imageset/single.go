package imageset

import (
	"bytes"
	"fmt"
	"image"

	"suture/tensor"
)

// ReadImage decodes one image file (PNG, JPEG or TIFF) into a (C, H, W)
// tensor with values 0..255 (C = 1 for grey images, else 3).
func ReadImage(path string) (*tensor.Tensor, error) {
	img, _, err := decodeFile(path)
	if err != nil {
		return nil, err
	}
	return imageTensor(img), nil
}

// ReadMask decodes one binary mask file into a (1, H, W) tensor of 0/1:
// lossless masks must hold {0, 255} (or the format's maximum) or {0, 1};
// JPEG masks are thresholded at half the range.
func ReadMask(path string) (*tensor.Tensor, error) {
	img, format, err := decodeFile(path)
	if err != nil {
		return nil, err
	}
	rule := ruleBinary
	if format == "jpeg" {
		rule = ruleThreshold
	}
	b := img.Bounds()
	levels, maxLevel := maskLevels(img)
	classes, err := maskClasses(levels, maxLevel, rule, 2, b.Dx(), path)
	if err != nil {
		return nil, err
	}
	return tensor.FromData(classes, 1, b.Dy(), b.Dx())
}

// WriteMask writes a binary mask (h*w values 0 or 1, row-major) as an 8-bit
// grey PNG with 0 and 255, atomically, marked as written by Suture
// (WrittenBySuture).
func WriteMask(path string, mask []uint8, h, w int) error {
	if h < 1 || w < 1 || len(mask) != h*w {
		return fmt.Errorf("imageset: WriteMask %s: %d values for %dx%d", path, len(mask), h, w)
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i, v := range mask {
		switch v {
		case 0:
		case 1:
			img.Pix[(i/w)*img.Stride+i%w] = 255
		default:
			return fmt.Errorf("imageset: WriteMask %s: value %d at (x=%d, y=%d) is not 0 or 1", path, v, i%w, i/w)
		}
	}
	var buf bytes.Buffer
	if err := encodePNG(&buf, img); err != nil {
		return fmt.Errorf("imageset: encode %s: %w", path, err)
	}
	return writeFileAtomic(path, buf.Bytes())
}

// FromImage converts an image to a (C, H, W) tensor of 0..255 values: C = 1
// for grey images (every pixel grey), else 3 (alpha dropped).
func FromImage(img image.Image) *tensor.Tensor { return imageTensor(img) }

// Resize resizes each channel of x (C, H, W) to (C, h, w) by area averaging,
// as the datasets are resized when opened with a size.
func Resize(x *tensor.Tensor, h, w int) (*tensor.Tensor, error) { return resizeArea(x, h, w) }

// WriteLabels writes a class map (h*w class indices, row-major) as an 8-bit
// grey PNG whose values are the indices (nnU-Net's convention for label
// images), atomically, marked as written by Suture (WrittenBySuture).
func WriteLabels(path string, classes []uint8, h, w int) error {
	if h < 1 || w < 1 || len(classes) != h*w {
		return fmt.Errorf("imageset: WriteLabels %s: %d values for %dx%d", path, len(classes), h, w)
	}
	img := &image.Gray{Pix: classes, Stride: w, Rect: image.Rect(0, 0, w, h)}
	var buf bytes.Buffer
	if err := encodePNG(&buf, img); err != nil {
		return fmt.Errorf("imageset: WriteLabels %s: %w", path, err)
	}
	return writeFileAtomic(path, buf.Bytes())
}
