package imageset

import (
	"fmt"
	"math"

	"suture/tensor"
)

// ZScore returns a copy of img: (C, H, W) with each channel shifted to mean 0
// and scaled to standard deviation 1, as nnU-Net's ZScoreNormalization does
// for non-CT images (per image, per channel; the deviation is floored at 1e-8
// so a constant channel becomes zeros). Statistics are accumulated in float64.
func ZScore(img *tensor.Tensor) (*tensor.Tensor, error) {
	if img == nil {
		return nil, fmt.Errorf("imageset: ZScore: %w", tensor.ErrNil)
	}
	if !img.OnHost() {
		return nil, fmt.Errorf("imageset: ZScore: image %v is not in host memory", img.Shape)
	}
	if len(img.Shape) != 3 || img.Numel() == 0 || len(img.Data) != img.Numel() {
		return nil, fmt.Errorf("imageset: ZScore: want a non-empty (C, H, W) image, got shape %v with %d values", img.Shape, len(img.Data))
	}
	c, hw := img.Shape[0], img.Shape[1]*img.Shape[2]
	out := tensor.New(img.Shape...)
	for ch := range c {
		src := img.Data[ch*hw : (ch+1)*hw]
		sum := 0.0
		for _, v := range src {
			sum += float64(v)
		}
		mean := sum / float64(hw)
		ss := 0.0
		for _, v := range src {
			d := float64(v) - mean
			ss += float64(d * d)
		}
		std := max(math.Sqrt(ss/float64(hw)), 1e-8)
		dst := out.Data[ch*hw : (ch+1)*hw]
		for i, v := range src {
			dst[i] = float32((float64(v) - mean) / std)
		}
	}
	return out, nil
}
