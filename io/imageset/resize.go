package imageset

import (
	"fmt"

	"suture/tensor"
)

// areaTap is one source pixel's share of an output pixel.
type areaTap struct {
	src    int
	weight float64
}

// areaTaps lists, for each of dst output pixels along one axis, the source
// pixels it covers and their weights (the overlap of the output pixel's span
// with each source pixel, as a fraction of the span; they sum to 1). The
// overlaps are computed in integers, in units of 1/(src*dst) of the axis, so
// they are exact.
func areaTaps(src, dst int) [][]areaTap {
	taps := make([][]areaTap, dst)
	for j := range dst {
		lo, hi := j*src, (j+1)*src // output span in units where source pixel i is [i*dst, (i+1)*dst)
		for i := lo / dst; i < src && i*dst < hi; i++ {
			a, b := max(lo, i*dst), min(hi, (i+1)*dst)
			if b > a {
				taps[j] = append(taps[j], areaTap{src: i, weight: float64(b-a) / float64(src)})
			}
		}
	}
	return taps
}

// resizeArea resizes each channel of x: (C, H, W) to (C, outH, outW) by area
// averaging (each output pixel is the mean of the source area it covers, with
// fractional pixels weighted by their overlap). It accumulates in float64.
func resizeArea(x *tensor.Tensor, outH, outW int) (*tensor.Tensor, error) {
	if x == nil {
		return nil, fmt.Errorf("imageset: resize: %w", tensor.ErrNil)
	}
	if len(x.Shape) != 3 || x.Numel() == 0 || outH <= 0 || outW <= 0 {
		return nil, fmt.Errorf("imageset: resize: cannot resize shape %v to %dx%d", x.Shape, outW, outH)
	}
	c, h, w := x.Shape[0], x.Shape[1], x.Shape[2]
	tx, ty := areaTaps(w, outW), areaTaps(h, outH)
	rows := make([]float64, h*outW) // one channel resized along x only
	out := tensor.New(c, outH, outW)
	for ch := range c {
		src := x.Data[ch*h*w : (ch+1)*h*w]
		for y := range h {
			for j, taps := range tx {
				s := 0.0
				for _, t := range taps {
					s += float64(float64(src[y*w+t.src]) * t.weight)
				}
				rows[y*outW+j] = s
			}
		}
		dst := out.Data[ch*outH*outW : (ch+1)*outH*outW]
		for i, taps := range ty {
			for j := range outW {
				s := 0.0
				for _, t := range taps {
					s += float64(rows[t.src*outW+j] * t.weight)
				}
				dst[i*outW+j] = float32(s)
			}
		}
	}
	return out, nil
}

// resizeMask resizes a (1, H, W) binary mask by area averaging and keeps the
// pixels whose foreground share is at least one half.
func resizeMask(m *tensor.Tensor, outH, outW int) (*tensor.Tensor, error) {
	r, err := resizeArea(m, outH, outW)
	if err != nil {
		return nil, err
	}
	for i, v := range r.Data {
		if v >= 0.5 {
			r.Data[i] = 1
		} else {
			r.Data[i] = 0
		}
	}
	return r, nil
}
