package unet

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Config has the semantics of nnU-Net v2's PlainConvUNet arch_kwargs, plus the
// input channels and classes that nnU-Net takes from the dataset. JSON field
// names follow nnU-Net's.
type Config struct {
	InChannels int `json:"in_channels"`
	NumClasses int `json:"num_classes"`
	NStages    int `json:"n_stages"`
	// FeaturesPerStage: output channels of each encoder stage.
	FeaturesPerStage []int `json:"features_per_stage"`
	// KernelSizes and Strides per stage as (H, W); the stride applies in the
	// stage's first conv (stage 0's stride is normally 1).
	KernelSizes          [][2]int `json:"kernel_sizes"`
	Strides              [][2]int `json:"strides"`
	NConvPerStage        []int    `json:"n_conv_per_stage"`
	NConvPerStageDecoder []int    `json:"n_conv_per_stage_decoder"`
	ConvBias             bool     `json:"conv_bias"`
	// Norm is "instance" or "batch"; NormEps its epsilon (nnU-Net: 1e-5).
	Norm    string  `json:"norm"`
	NormEps float32 `json:"norm_eps"`
	// NegativeSlope of the leaky ReLU (nnU-Net: 0.01).
	NegativeSlope   float32 `json:"negative_slope"`
	DeepSupervision bool    `json:"deep_supervision"`
	// Encoder is "" for PlainConvUNet's encoder (NConvPerStage conv blocks
	// per stage) or "residual" for ResidualEncoderUNet's: a stem conv block,
	// then NConvPerStage residual blocks per stage (nnU-Net's n_blocks_per_stage;
	// BasicBlockD: conv-norm-act, conv-norm, plus the skip, then act; the skip
	// average-pools where the block strides and projects with a 1x1 conv and a
	// norm where the channels change).
	Encoder string `json:"encoder,omitempty"`
	// StemChannels is the residual encoder's stem width (0: FeaturesPerStage[0]).
	StemChannels int `json:"stem_channels,omitempty"`
}

// Clone returns a copy of c that shares no slice with it.
func (c *Config) Clone() *Config {
	d := *c
	d.FeaturesPerStage = slices.Clone(c.FeaturesPerStage)
	d.KernelSizes = slices.Clone(c.KernelSizes)
	d.Strides = slices.Clone(c.Strides)
	d.NConvPerStage = slices.Clone(c.NConvPerStage)
	d.NConvPerStageDecoder = slices.Clone(c.NConvPerStageDecoder)
	return &d
}

// EncoderResidual is Config.Encoder of a ResidualEncoderUNet.
const EncoderResidual = "residual"

// Validate reports the first inconsistency, naming the field.
func (c *Config) Validate() error {
	if c.InChannels < 1 || c.NumClasses < 2 {
		return fmt.Errorf("unet config: in_channels %d and num_classes %d must be >= 1 and >= 2", c.InChannels, c.NumClasses)
	}
	if c.NStages < 1 {
		return fmt.Errorf("unet config: n_stages %d must be >= 1", c.NStages)
	}
	per := map[string]int{
		"features_per_stage": len(c.FeaturesPerStage), "kernel_sizes": len(c.KernelSizes),
		"strides": len(c.Strides), "n_conv_per_stage": len(c.NConvPerStage),
	}
	for name, n := range per {
		if n != c.NStages {
			return fmt.Errorf("unet config: %s has %d entries, n_stages is %d", name, n, c.NStages)
		}
	}
	if len(c.NConvPerStageDecoder) != c.NStages-1 {
		return fmt.Errorf("unet config: n_conv_per_stage_decoder has %d entries, want n_stages-1 = %d", len(c.NConvPerStageDecoder), c.NStages-1)
	}
	for s := 0; s < c.NStages; s++ {
		if c.FeaturesPerStage[s] < 1 || c.NConvPerStage[s] < 1 {
			return fmt.Errorf("unet config: stage %d has %d features and %d convs", s, c.FeaturesPerStage[s], c.NConvPerStage[s])
		}
		k, st := c.KernelSizes[s], c.Strides[s]
		if k[0] < 1 || k[1] < 1 || k[0]%2 == 0 || k[1]%2 == 0 {
			return fmt.Errorf("unet config: stage %d kernel %v must be odd and positive", s, k)
		}
		if st[0] < 1 || st[1] < 1 {
			return fmt.Errorf("unet config: stage %d stride %v must be positive", s, st)
		}
	}
	for s, n := range c.NConvPerStageDecoder {
		if n < 1 {
			return fmt.Errorf("unet config: decoder stage %d has %d convs", s, n)
		}
	}
	if c.Encoder != "" && c.Encoder != EncoderResidual {
		return fmt.Errorf("unet config: encoder %q, want \"\" (plain) or %q", c.Encoder, EncoderResidual)
	}
	if c.StemChannels < 0 || (c.StemChannels > 0 && c.Encoder != EncoderResidual) {
		return fmt.Errorf("unet config: stem_channels %d (only a residual encoder has a stem)", c.StemChannels)
	}
	if c.Norm != "instance" && c.Norm != "batch" {
		return fmt.Errorf("unet config: norm %q, want instance or batch", c.Norm)
	}
	if c.NormEps <= 0 {
		return fmt.Errorf("unet config: norm_eps %g must be > 0", c.NormEps)
	}
	return nil
}

// Divisor is the factor (H, W) the input size must be divisible by: the
// product of the strides.
func (c *Config) Divisor() (int, int) {
	dh, dw := 1, 1
	for _, s := range c.Strides {
		dh *= s[0]
		dw *= s[1]
	}
	return dh, dw
}

// CheckInput verifies an input of h x w pixels fits the network.
func (c *Config) CheckInput(channels, h, w int) error {
	if channels != c.InChannels {
		return fmt.Errorf("input has %d channels, the network expects %d", channels, c.InChannels)
	}
	dh, dw := c.Divisor()
	if h < dh || w < dw || h%dh != 0 || w%dw != 0 {
		return fmt.Errorf("input %dx%d: height and width must be multiples of %dx%d (the product of the strides)", h, w, dh, dw)
	}
	return nil
}

// ParseConfig reads our own JSON form and validates it.
func ParseConfig(data []byte) (*Config, error) {
	c := &Config{NormEps: 1e-5, NegativeSlope: 0.01, Norm: "instance"}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("unet config: %w", err)
	}
	return c, c.Validate()
}

// Plan applies nnU-Net's 2D planner rules to an h x w input: 3x3 kernels;
// an axis is down-sampled by 2 at the next stage while its edge stays >= 8
// afterwards (and is even); features start at 32 and double per stage, capped
// at 512; two convs per stage in encoder and decoder; instance norm; conv bias;
// deep supervision.
func Plan(h, w, inChannels, numClasses int) (*Config, error) {
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("plan: image size %dx%d", h, w)
	}
	c := &Config{
		InChannels: inChannels, NumClasses: numClasses, ConvBias: true, Norm: "instance",
		NormEps: 1e-5, NegativeSlope: 0.01, DeepSupervision: true,
	}
	size := [2]int{h, w}
	stride := [2]int{1, 1}
	feat := 32
	for {
		c.FeaturesPerStage = append(c.FeaturesPerStage, feat)
		c.KernelSizes = append(c.KernelSizes, [2]int{3, 3})
		c.Strides = append(c.Strides, stride)
		c.NConvPerStage = append(c.NConvPerStage, 2)
		stride = [2]int{1, 1}
		for a := 0; a < 2; a++ {
			if size[a]%2 == 0 && size[a]/2 >= 8 {
				stride[a] = 2
			}
		}
		if stride == [2]int{1, 1} {
			break
		}
		size[0] /= stride[0]
		size[1] /= stride[1]
		feat = min(2*feat, 512)
	}
	c.NStages = len(c.FeaturesPerStage)
	for i := 0; i < c.NStages-1; i++ {
		c.NConvPerStageDecoder = append(c.NConvPerStageDecoder, 2)
	}
	return c, c.Validate()
}

// BenchConfig is the benchmark U-Net of DESIGN.md section 8 (features
// 32..320, strides 1-2-2-2-2, 3 input channels, 2 classes, no deep supervision).
func BenchConfig(features []int) *Config {
	c := &Config{InChannels: 3, NumClasses: 2, NStages: len(features), FeaturesPerStage: features,
		ConvBias: true, Norm: "instance", NormEps: 1e-5, NegativeSlope: 0.01}
	for s := range features {
		st := 2
		if s == 0 {
			st = 1
		}
		c.KernelSizes = append(c.KernelSizes, [2]int{3, 3})
		c.Strides = append(c.Strides, [2]int{st, st})
		c.NConvPerStage = append(c.NConvPerStage, 2)
		if s > 0 {
			c.NConvPerStageDecoder = append(c.NConvPerStageDecoder, 2)
		}
	}
	return c
}
