package unet

import (
	"fmt"
	"io"
	"math"
)

// Inference says how images are prepared for a network and how its output
// is read. An imported nnU-Net model takes it from plans.json and
// dataset.json; Suture's own models record the size they were trained at.
type Inference struct {
	// PatchSize (H, W) is the sliding window's tile (nnU-Net's patch_size).
	PatchSize [2]int `json:"patch_size"`
	// ImageSize, when set, is the size Suture's own model was trained at
	// (images resized to it): inputs are resized to it, and the mask back to
	// the input's size. Zero for nnU-Net models, which run at the input's
	// own resolution.
	ImageSize [2]int `json:"image_size,omitempty"`
	// Normalization holds one scheme per input channel.
	Normalization []ChannelNorm `json:"normalization"`
	// CropToNonzero: as nnU-Net's preprocessing, crop to the bounding box of
	// the pixels where any channel is nonzero before normalising; outside
	// it the mask is background.
	CropToNonzero bool `json:"crop_to_nonzero,omitempty"`
	// MirrorAxes are the axes test-time mirroring flips (0: H, 1: W), from
	// the checkpoint's inference_allowed_mirroring_axes.
	MirrorAxes []int `json:"mirror_axes"`
	// Labels names the classes by index, background first (dataset.json).
	Labels []string `json:"labels,omitempty"`
	// ChannelNames and FileEnding come from dataset.json.
	ChannelNames []string `json:"channel_names,omitempty"`
	FileEnding   string   `json:"file_ending,omitempty"`
	// Source says where an imported model came from.
	Source string `json:"source,omitempty"`
}

// Normalisation schemes (nnU-Net's classes in parentheses).
const (
	NormZScore    = "zscore"     // (x - mean) / max(std, 1e-8) over the image (ZScoreNormalization)
	NormCT        = "ct"         // clip to [Lower, Upper], (x - Mean) / max(Std, 1e-8) (CTNormalization)
	NormNone      = "none"       // as is (NoNormalization)
	NormRescale01 = "rescale_01" // (x - min) / max(max - min, 1e-8) (RescaleTo01Normalization)
	NormRGB01     = "rgb_01"     // x / 255 (RGBTo01Normalization)
)

// ChannelNorm is the normalisation of one input channel.
type ChannelNorm struct {
	Scheme string `json:"scheme"`
	// UseMask (z-score only): statistics over the nonzero region only, and
	// zero outside it (nnU-Net's use_mask_for_norm).
	UseMask bool `json:"use_mask,omitempty"`
	// Mean, Std, Lower and Upper are the CT scheme's dataset statistics
	// (foreground mean, std, 0.5 and 99.5 percentiles).
	Mean  float64 `json:"mean,omitempty"`
	Std   float64 `json:"std,omitempty"`
	Lower float64 `json:"lower,omitempty"`
	Upper float64 `json:"upper,omitempty"`
}

// Validate checks the inference settings against a network config.
func (inf *Inference) Validate(cfg *Config) error {
	if inf.PatchSize[0] < 1 || inf.PatchSize[1] < 1 {
		return fmt.Errorf("inference: patch size %v", inf.PatchSize)
	}
	dh, dw := cfg.Divisor()
	if inf.PatchSize[0]%dh != 0 || inf.PatchSize[1]%dw != 0 {
		return fmt.Errorf("inference: patch size %v is not a multiple of the network's stride %dx%d", inf.PatchSize, dh, dw)
	}
	if len(inf.Normalization) != cfg.InChannels {
		return fmt.Errorf("inference: %d normalisation schemes for %d input channels", len(inf.Normalization), cfg.InChannels)
	}
	for i, n := range inf.Normalization {
		switch n.Scheme {
		case NormZScore, NormNone, NormRescale01, NormRGB01:
		case NormCT:
			if !(n.Lower <= n.Upper) || math.IsNaN(n.Mean) || math.IsNaN(n.Std) {
				return fmt.Errorf("inference: channel %d: CT normalisation with bounds [%g, %g], mean %g, std %g", i, n.Lower, n.Upper, n.Mean, n.Std)
			}
		default:
			return fmt.Errorf("inference: channel %d: normalisation %q", i, n.Scheme)
		}
		if n.UseMask && n.Scheme != NormZScore {
			return fmt.Errorf("inference: channel %d: use_mask only applies to z-score normalisation", i)
		}
	}
	for _, a := range inf.MirrorAxes {
		if a != 0 && a != 1 {
			return fmt.Errorf("inference: mirror axis %d (2D images have axes 0 and 1)", a)
		}
	}
	if len(inf.Labels) > 0 && len(inf.Labels) != cfg.NumClasses {
		return fmt.Errorf("inference: %d labels for %d classes", len(inf.Labels), cfg.NumClasses)
	}
	return nil
}

// NativeInference is the inference of a model Suture trained on images of
// h x w pixels: whole images at that size (resized to it), per-image
// z-score normalisation of every channel, mirroring along both axes.
func NativeInference(cfg *Config, h, w int) *Inference {
	inf := &Inference{PatchSize: [2]int{h, w}, ImageSize: [2]int{h, w}, MirrorAxes: []int{0, 1}}
	for c := 0; c < cfg.InChannels; c++ {
		inf.Normalization = append(inf.Normalization, ChannelNorm{Scheme: NormZScore})
	}
	return inf
}

// inferenceOf returns m's inference settings; a checkpoint written before
// they were recorded gets NativeInference at the smallest size the
// planner gives this config (8 px at the deepest stage: 16, 64 and 128 px
// for the U-Nets this project trains on 16, 64 and 128 px images).
func (m *Model) inferenceOf() *Inference {
	if m.Inference != nil {
		return m.Inference
	}
	dh, dw := m.Config.Divisor()
	h, w := 8*dh, 8*dw
	if dh == 1 {
		h = 8
	}
	if dw == 1 {
		w = 8
	}
	return NativeInference(m.Config, h, w)
}

// Normalize applies each channel's scheme to img (C, H, W), host memory, in
// place. mask (H*W), used by z-score channels with UseMask, marks the
// region the statistics come from (nnU-Net: the nonzero region, holes
// filled); pixels outside it become 0. A nil mask counts every pixel.
func (inf *Inference) Normalize(img []float32, c int, mask []bool) error {
	if c != len(inf.Normalization) || c < 1 || len(img)%c != 0 {
		return fmt.Errorf("normalize: image of %d channels, %d schemes", c, len(inf.Normalization))
	}
	plane := len(img) / c
	if mask != nil && len(mask) != plane {
		return fmt.Errorf("normalize: mask of %d pixels for planes of %d", len(mask), plane)
	}
	for ch, n := range inf.Normalization {
		p := img[ch*plane : (ch+1)*plane]
		switch n.Scheme {
		case NormZScore:
			if n.UseMask && mask != nil {
				var sum, sq float64
				cnt := 0
				for i, v := range p {
					if mask[i] {
						sum += float64(v)
						cnt++
					}
				}
				if cnt == 0 {
					for i := range p {
						p[i] = 0
					}
					continue
				}
				mean := sum / float64(cnt)
				for i, v := range p {
					if mask[i] {
						d := float64(v) - mean
						sq += d * d
					}
				}
				std := math.Max(math.Sqrt(sq/float64(cnt)), 1e-8)
				for i, v := range p {
					if mask[i] {
						p[i] = float32((float64(v) - mean) / std)
					} else {
						p[i] = 0
					}
				}
				continue
			}
			mean, _, _ := stats(p)
			std := math.Max(stddev(p, mean), 1e-8)
			for i, v := range p {
				p[i] = float32((float64(v) - mean) / std)
			}
		case NormCT:
			std := math.Max(n.Std, 1e-8)
			for i, v := range p {
				x := math.Min(math.Max(float64(v), n.Lower), n.Upper)
				p[i] = float32((x - n.Mean) / std)
			}
		case NormNone:
		case NormRescale01:
			_, lo, hi := stats(p)
			den := math.Max(hi-lo, 1e-8)
			for i, v := range p {
				p[i] = float32((float64(v) - lo) / den)
			}
		case NormRGB01:
			for i, v := range p {
				if v < 0 || v > 255 {
					return fmt.Errorf("normalize: channel %d: value %g outside 0..255 for RGB-to-[0,1] normalisation", ch, v)
				}
				p[i] = v / 255
			}
		default:
			return fmt.Errorf("normalize: channel %d: scheme %q", ch, n.Scheme)
		}
	}
	return nil
}

// InferenceFor returns m's inference settings (see Inference); a model
// whose checkpoint predates them gets NativeInference at the smallest size
// the 2D planner gives its config (documented in inferenceOf).
func (m *Model) InferenceFor() *Inference { return m.inferenceOf() }

// Describe writes a one-line summary of m: its architecture, stages,
// features, channels and classes, patch, mirroring and source.
func (m *Model) Describe(w io.Writer) {
	c, inf := m.Config, m.InferenceFor()
	arch := "PlainConvUNet"
	if c.Encoder == EncoderResidual {
		arch = "ResidualEncoderUNet"
	}
	fmt.Fprintf(w, "%s: %d stages, features %v, %d input channels, %d classes", arch, c.NStages, c.FeaturesPerStage, c.InChannels, c.NumClasses)
	if len(inf.Labels) > 0 {
		fmt.Fprintf(w, " %v", inf.Labels)
	}
	fmt.Fprintf(w, "; patch %dx%d; mirroring axes %v", inf.PatchSize[0], inf.PatchSize[1], inf.MirrorAxes)
	if inf.Source != "" {
		fmt.Fprintf(w, "; from %s", inf.Source)
	}
	fmt.Fprintln(w)
}
