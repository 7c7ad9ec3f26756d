package unet

import (
	"fmt"

	"suture/nn"
	"suture/tensor"
)

// Build returns the network as an *nn.Graph in nnU-Net's call order, its
// weights Kaiming-normal initialised (a = 0.01) from seed, biases zero.
//
// Encoder stage s: NConvPerStage[s] blocks conv -> norm -> act, the first conv
// strided. Decoder stage s (from the bottom up): ConvTranspose (kernel =
// stride of the encoder stage below), concat [up, skip], NConvPerStageDecoder
// blocks, then a 1x1 segmentation head. Without deep supervision only the
// last (full-resolution) head exists. Graph.Outputs lists the heads from the
// highest resolution down.
//
// Vertex names: input; enc{s}.{conv,norm,act}{j}; dec{s}.up; dec{s}.cat;
// dec{s}.{conv,norm,act}{j}; dec{s}.seg. Parameter names add .weight/.bias.
func Build(cfg *Config, seed uint64) (*nn.Graph, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := tensor.NewRNG(seed)
	gr := &nn.Graph{}
	x := gr.AddInput("input")
	block := func(prefix string, j, in, out int, k, stride [2]int, from int) (int, error) {
		conv, err := nn.NewConv2dSpec(fmt.Sprintf("%s.conv%d", prefix, j), nn.ConvSpec{
			In: in, Out: out, KH: k[0], KW: k[1], StrideH: stride[0], StrideW: stride[1],
			PadH: k[0] / 2, PadW: k[1] / 2, Bias: cfg.ConvBias,
		}, g)
		if err != nil {
			return 0, err
		}
		v := gr.Add(fmt.Sprintf("%s.conv%d", prefix, j), conv, from)
		var norm nn.Module
		name := fmt.Sprintf("%s.norm%d", prefix, j)
		if cfg.Norm == "batch" {
			norm = nn.NewBatchNorm2d(name, out, cfg.NormEps)
		} else {
			norm = nn.NewInstanceNorm2d(name, out, cfg.NormEps)
		}
		v = gr.Add(name, norm, v)
		return gr.Add(fmt.Sprintf("%s.act%d", prefix, j), &nn.LeakyReLU{Slope: cfg.NegativeSlope}, v), nil
	}
	skips := make([]int, cfg.NStages)
	in, cur := cfg.InChannels, x
	for s := 0; s < cfg.NStages; s++ {
		for j := 0; j < cfg.NConvPerStage[s]; j++ {
			stride := [2]int{1, 1}
			if j == 0 {
				stride = cfg.Strides[s]
			}
			var err error
			if cur, err = block(fmt.Sprintf("enc%d", s), j, in, cfg.FeaturesPerStage[s], cfg.KernelSizes[s], stride, cur); err != nil {
				return nil, err
			}
			in = cfg.FeaturesPerStage[s]
		}
		skips[s] = cur
	}
	var heads []int
	for d := 0; d < cfg.NStages-1; d++ {
		below := cfg.NStages - 1 - d // stage whose output is up-sampled
		skipStage := below - 1
		fb, fs := cfg.FeaturesPerStage[below], cfg.FeaturesPerStage[skipStage]
		st := cfg.Strides[below]
		prefix := fmt.Sprintf("dec%d", d)
		up, err := nn.NewConvTranspose2d(prefix+".up", fb, fs, st[0], st[1], cfg.ConvBias, g)
		if err != nil {
			return nil, err
		}
		u := gr.Add(prefix+".up", up, cur)
		cur = gr.Add(prefix+".cat", nn.Concat{}, u, skips[skipStage])
		in = 2 * fs
		for j := 0; j < cfg.NConvPerStageDecoder[d]; j++ {
			if cur, err = block(prefix, j, in, fs, cfg.KernelSizes[skipStage], [2]int{1, 1}, cur); err != nil {
				return nil, err
			}
			in = fs
		}
		if cfg.DeepSupervision || d == cfg.NStages-2 {
			seg, err := nn.NewConv2d(prefix+".seg", fs, cfg.NumClasses, 1, 1, 0, true, g)
			if err != nil {
				return nil, err
			}
			heads = append(heads, gr.Add(prefix+".seg", seg, cur))
		}
	}
	if cfg.NStages == 1 { // no decoder: a head on the single stage
		seg, err := nn.NewConv2d("enc0.seg", cfg.FeaturesPerStage[0], cfg.NumClasses, 1, 1, 0, true, g)
		if err != nil {
			return nil, err
		}
		heads = append(heads, gr.Add("enc0.seg", seg, cur))
	}
	// Highest resolution first.
	for i, j := 0, len(heads)-1; i < j; i, j = i+1, j-1 {
		heads[i], heads[j] = heads[j], heads[i]
	}
	gr.Outputs = heads
	return gr, gr.Validate()
}
