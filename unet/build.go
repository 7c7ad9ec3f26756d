package unet

import (
	"fmt"

	"suture/kernels"
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
// With the residual encoder (Config.Encoder), a stem conv block comes first
// and each encoder stage holds residual blocks (see residualBlock).
//
// Vertex names: input; enc{s}.{conv,norm,act}{j}; dec{s}.up; dec{s}.cat;
// dec{s}.{conv,norm,act}{j}; dec{s}.seg; for the residual encoder
// stem.{conv,norm,act}0 and enc{s}.b{j}.{conv1,norm1,act1,conv2,norm2,
// skip,skipnorm,pool,add,act}. Parameter names add .weight/.bias.
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
	if cfg.Encoder == EncoderResidual {
		stem := cfg.StemChannels
		if stem == 0 {
			stem = cfg.FeaturesPerStage[0]
		}
		var err error
		if cur, err = block("stem", 0, in, stem, cfg.KernelSizes[0], [2]int{1, 1}, cur); err != nil {
			return nil, err
		}
		in = stem
	}
	for s := 0; s < cfg.NStages; s++ {
		for j := 0; j < cfg.NConvPerStage[s]; j++ {
			stride := [2]int{1, 1}
			if j == 0 {
				stride = cfg.Strides[s]
			}
			var err error
			if cfg.Encoder == EncoderResidual {
				cur, err = residualBlock(gr, cfg, g, fmt.Sprintf("enc%d.b%d", s, j), in, cfg.FeaturesPerStage[s], cfg.KernelSizes[s], stride, cur)
			} else {
				cur, err = block(fmt.Sprintf("enc%d", s), j, in, cfg.FeaturesPerStage[s], cfg.KernelSizes[s], stride, cur)
			}
			if err != nil {
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

// residualBlock appends a BasicBlockD (ResNet-D) block reading from: conv1
// (strided) -> norm1 -> act1 -> conv2 -> norm2, plus the skip, then act.
// The skip is the input itself when the block keeps size and channels; where
// it strides, nnU-Net average-pools (kernel = stride) and, where the channels
// change, projects with a bias-free 1x1 conv and a norm. Here the pool and
// the 1x1 conv are one conv with kernel = stride whose weights are the 1x1
// weights divided by the pool's size (the same linear map): vertex "skip".
// A pool without a projection is a conv with fixed identity weights over the
// pool window, a buffer, never trained: vertex "pool".
func residualBlock(gr *nn.Graph, cfg *Config, g *tensor.RNG, prefix string, in, out int, k, stride [2]int, from int) (int, error) {
	norm := func(name string, c int) nn.Module {
		if cfg.Norm == "batch" {
			return nn.NewBatchNorm2d(name, c, cfg.NormEps)
		}
		return nn.NewInstanceNorm2d(name, c, cfg.NormEps)
	}
	conv := func(name string, ci, co int, k, st [2]int, pad [2]int, bias bool) (*nn.Conv2d, error) {
		return nn.NewConv2dSpec(name, nn.ConvSpec{In: ci, Out: co, KH: k[0], KW: k[1], StrideH: st[0], StrideW: st[1], PadH: pad[0], PadW: pad[1], Bias: bias}, g)
	}
	c1, err := conv(prefix+".conv1", in, out, k, stride, [2]int{k[0] / 2, k[1] / 2}, cfg.ConvBias)
	if err != nil {
		return 0, err
	}
	v := gr.Add(prefix+".conv1", c1, from)
	v = gr.Add(prefix+".norm1", norm(prefix+".norm1", out), v)
	v = gr.Add(prefix+".act1", &nn.LeakyReLU{Slope: cfg.NegativeSlope}, v)
	c2, err := conv(prefix+".conv2", out, out, k, [2]int{1, 1}, [2]int{k[0] / 2, k[1] / 2}, cfg.ConvBias)
	if err != nil {
		return 0, err
	}
	v = gr.Add(prefix+".conv2", c2, v)
	v = gr.Add(prefix+".norm2", norm(prefix+".norm2", out), v)
	skip := from
	strided := stride != [2]int{1, 1}
	switch {
	case in != out:
		sc, err := conv(prefix+".skip", in, out, stride, stride, [2]int{}, false)
		if err != nil {
			return 0, err
		}
		skip = gr.Add(prefix+".skip", sc, from)
		skip = gr.Add(prefix+".skipnorm", norm(prefix+".skipnorm", out), skip)
	case strided:
		w := tensor.New(out, in, stride[0], stride[1])
		area := float32(stride[0] * stride[1])
		for c := 0; c < out; c++ {
			plane := w.Data[(c*in+c)*stride[0]*stride[1]:][:stride[0]*stride[1]]
			for i := range plane {
				plane[i] = 1 / area
			}
		}
		pool := &nn.Conv2d{W: nn.NewBuffer(prefix+".pool.weight", w), P: kernels.ConvParams{StrideH: stride[0], StrideW: stride[1]}}
		skip = gr.Add(prefix+".pool", pool, from)
	}
	v = gr.Add(prefix+".add", nn.Add{}, v, skip)
	return gr.Add(prefix+".act", &nn.LeakyReLU{Slope: cfg.NegativeSlope}, v), nil
}
