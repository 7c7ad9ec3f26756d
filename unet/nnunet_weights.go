package unet

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"suture/tensor"
)

// torchParam ties one parameter of the network a Config builds to its
// names in nnU-Net's state dict.
type torchParam struct {
	Param string // ours
	// Keys are its names in nnU-Net's state dict: the canonical one first,
	// then the aliases nnU-Net's modules give the same tensor (all_modules.N,
	// and the encoder again under decoder.encoder.).
	Keys []string
	// Pool is set for a residual skip conv with the average pool folded in
	// (ours: kernel = stride; nnU-Net's: 1x1 after an AvgPool): the pool's (H, W).
	Pool [2]int
}

// nnunetParams lists every trainable parameter and batch-norm statistic of
// the network cfg builds with its nnU-Net state-dict names, in the order of
// nnU-Net's state dict. (The residual encoder's fixed pool weights have no
// counterpart there.)
func nnunetParams(cfg *Config) ([]torchParam, error) {
	if cfg.NStages < 2 {
		return nil, fmt.Errorf("nnU-Net networks have at least two stages (a decoder), this config has %d", cfg.NStages)
	}
	var out []torchParam
	// convNorm adds a ConvDropoutNormReLU: ours conv/norm names, nnU-Net's module base.
	convNorm := func(conv, norm, base string, encoder, bias bool) {
		bases := []string{base}
		if encoder {
			bases = append(bases, "decoder."+base)
		}
		keys := func(mod, idx, p string) []string {
			var k []string
			for _, b := range bases {
				k = append(k, b+"."+mod+"."+p)
			}
			for _, b := range bases {
				k = append(k, b+".all_modules."+idx+"."+p)
			}
			return k
		}
		out = append(out, torchParam{Param: conv + ".weight", Keys: keys("conv", "0", "weight")})
		if bias {
			out = append(out, torchParam{Param: conv + ".bias", Keys: keys("conv", "0", "bias")})
		}
		out = append(out, torchParam{Param: norm + ".weight", Keys: keys("norm", "1", "weight")},
			torchParam{Param: norm + ".bias", Keys: keys("norm", "1", "bias")})
		if cfg.Norm == "batch" {
			out = append(out, torchParam{Param: norm + ".running_mean", Keys: keys("norm", "1", "running_mean")},
				torchParam{Param: norm + ".running_var", Keys: keys("norm", "1", "running_var")})
		}
	}
	if cfg.Encoder == EncoderResidual {
		convNorm("stem.conv0", "stem.norm0", "encoder.stem.convs.0", true, cfg.ConvBias)
		in := cfg.StemChannels
		if in == 0 {
			in = cfg.FeaturesPerStage[0]
		}
		for s := 0; s < cfg.NStages; s++ {
			for k := 0; k < cfg.NConvPerStage[s]; k++ {
				ours := fmt.Sprintf("enc%d.b%d", s, k)
				base := fmt.Sprintf("encoder.stages.%d.blocks.%d", s, k)
				convNorm(ours+".conv1", ours+".norm1", base+".conv1", true, cfg.ConvBias)
				convNorm(ours+".conv2", ours+".norm2", base+".conv2", true, cfg.ConvBias)
				stride := [2]int{1, 1}
				if k == 0 {
					stride = cfg.Strides[s]
				}
				if in != cfg.FeaturesPerStage[s] {
					idx := "0"
					if stride != [2]int{1, 1} {
						idx = "1" // after the AvgPool
					}
					first := len(out)
					convNorm(ours+".skip", ours+".skipnorm", base+".skip."+idx, true, false)
					if stride != [2]int{1, 1} {
						out[first].Pool = stride
					}
				}
				in = cfg.FeaturesPerStage[s]
			}
		}
	} else {
		for s := 0; s < cfg.NStages; s++ {
			for j := 0; j < cfg.NConvPerStage[s]; j++ {
				convNorm(fmt.Sprintf("enc%d.conv%d", s, j), fmt.Sprintf("enc%d.norm%d", s, j),
					fmt.Sprintf("encoder.stages.%d.0.convs.%d", s, j), true, cfg.ConvBias)
			}
		}
	}
	for d := 0; d < cfg.NStages-1; d++ {
		for j := 0; j < cfg.NConvPerStageDecoder[d]; j++ {
			convNorm(fmt.Sprintf("dec%d.conv%d", d, j), fmt.Sprintf("dec%d.norm%d", d, j),
				fmt.Sprintf("decoder.stages.%d.convs.%d", d, j), false, cfg.ConvBias)
		}
	}
	for d := 0; d < cfg.NStages-1; d++ {
		out = append(out, torchParam{Param: fmt.Sprintf("dec%d.up.weight", d), Keys: []string{fmt.Sprintf("decoder.transpconvs.%d.weight", d)}})
		if cfg.ConvBias {
			out = append(out, torchParam{Param: fmt.Sprintf("dec%d.up.bias", d), Keys: []string{fmt.Sprintf("decoder.transpconvs.%d.bias", d)}})
		}
	}
	for d := 0; d < cfg.NStages-1; d++ {
		out = append(out, torchParam{Param: fmt.Sprintf("dec%d.seg.weight", d), Keys: []string{fmt.Sprintf("decoder.seg_layers.%d.weight", d)}},
			torchParam{Param: fmt.Sprintf("dec%d.seg.bias", d), Keys: []string{fmt.Sprintf("decoder.seg_layers.%d.bias", d)}})
	}
	return out, nil
}

// StateDictSource gives the tensors of an nnU-Net state dict by name.
type StateDictSource interface {
	// Names lists every name in the state dict.
	Names() []string
	// Tensor reads one tensor (host, float32); the same tensor read under
	// two names may come back as the same pointer.
	Tensor(name string) (*tensor.Tensor, error)
}

// LoadNNUNet loads the weights of an nnU-Net state dict into m, whose
// Config must describe the same network (Config.DeepSupervision on: nnU-Net
// always holds every segmentation head). Every parameter must be present
// under its canonical name or an alias; every alias present must hold the
// same values; every name in the state dict must belong to the network
// (batch-norm num_batches_tracked counters excepted). Errors name the
// tensor at fault.
func (m *Model) LoadNNUNet(src StateDictSource) error {
	if !m.Config.DeepSupervision {
		return fmt.Errorf("nnU-Net import: the network must be built with deep supervision (every head is in nnU-Net's state dict)")
	}
	tps, err := nnunetParams(m.Config)
	if err != nil {
		return err
	}
	present := map[string]bool{}
	for _, n := range src.Names() {
		present[n] = true
	}
	known := map[string]bool{}
	for _, tp := range tps {
		for _, k := range tp.Keys {
			known[k] = true
		}
	}
	var unknown []string
	for n := range present {
		if !known[n] && !strings.HasSuffix(n, ".num_batches_tracked") {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("nnU-Net import: the checkpoint holds %d tensors the plans' network does not have, first %q (checkpoint and plans do not belong together?)", len(unknown), unknown[0])
	}
	host, err := m.Params.Host()
	if err != nil {
		return err
	}
	values := map[string]*tensor.Tensor{}
	for i, p := range m.Params.Params { // buffers without a counterpart keep their values
		values[p.Name] = host[i]
	}
	for _, tp := range tps {
		p := m.Params.ByName(tp.Param)
		if p == nil {
			return fmt.Errorf("nnU-Net import: internal: no parameter %s", tp.Param)
		}
		var first *tensor.Tensor
		var firstKey string
		for _, k := range tp.Keys {
			if !present[k] {
				continue
			}
			t, err := src.Tensor(k)
			if err != nil {
				return err
			}
			if first == nil {
				first, firstKey = t, k
				continue
			}
			if t != first && (!t.Shape.Equal(first.Shape) || tensor.MaxAbsDiff(t.Data, first.Data) != 0 || hasNaNDiff(t.Data, first.Data)) {
				return fmt.Errorf("nnU-Net import: %s and its alias %s differ", firstKey, k)
			}
		}
		if first == nil {
			return fmt.Errorf("nnU-Net import: the checkpoint has no %s (the plans' network needs it; checkpoint and plans do not belong together?)", tp.Keys[0])
		}
		want := p.Value.Shape
		if tp.Pool != [2]int{} {
			// nnU-Net's (Co, Ci, 1, 1) after an AvgPool of tp.Pool: ours is
			// one conv with kernel = stride and the weights spread over it.
			if len(first.Shape) != 4 || first.Shape[2] != 1 || first.Shape[3] != 1 || first.Shape[0] != want[0] || first.Shape[1] != want[1] {
				return fmt.Errorf("nnU-Net import: %s has shape %v, the plans' network needs (%d, %d, 1, 1)", firstKey, first.Shape, want[0], want[1])
			}
			spread := tensor.New(want...)
			area := tp.Pool[0] * tp.Pool[1]
			for i, v := range first.Data {
				for j := 0; j < area; j++ {
					spread.Data[i*area+j] = v / float32(area)
				}
			}
			first = spread
		} else if !first.Shape.Equal(want) {
			return fmt.Errorf("nnU-Net import: %s has shape %v, the plans' network needs %v (checkpoint and plans do not belong together?)", firstKey, first.Shape, want)
		}
		values[tp.Param] = first
	}
	return m.Params.Load(values)
}

func hasNaNDiff(a, b []float32) bool {
	for i := range a {
		if math.IsNaN(float64(a[i])) != math.IsNaN(float64(b[i])) {
			return true
		}
	}
	return false
}

// NNUNetStateDict returns m's weights under nnU-Net's state-dict names,
// in nnU-Net's order, every alias included (as nnU-Net's network's
// state_dict() has them), so PyTorch loads them into nnU-Net's network class
// with load_state_dict(strict=True). A residual skip conv whose pool-folded
// weights are not uniform over the pool window (one Suture trained itself)
// has no nnU-Net form and is an error.
func (m *Model) NNUNetStateDict() (names []string, tensors []*tensor.Tensor, err error) {
	tps, err := nnunetParams(m.Config)
	if err != nil {
		return nil, nil, err
	}
	host, err := m.Params.Host()
	if err != nil {
		return nil, nil, err
	}
	byName := map[string]*tensor.Tensor{}
	for i, p := range m.Params.Params {
		byName[p.Name] = host[i]
	}
	type kv struct {
		key string
		t   *tensor.Tensor
	}
	var all []kv
	for _, tp := range tps {
		t := byName[tp.Param]
		if t == nil {
			return nil, nil, fmt.Errorf("nnU-Net export: no parameter %s", tp.Param)
		}
		if tp.Pool != [2]int{} {
			area := tp.Pool[0] * tp.Pool[1]
			co, ci := t.Shape[0], t.Shape[1]
			w := tensor.New(co, ci, 1, 1)
			for i := range w.Data {
				win := t.Data[i*area : (i+1)*area]
				for _, v := range win[1:] {
					if v != win[0] {
						return nil, nil, fmt.Errorf("nnU-Net export: %s is not an average pool followed by a 1x1 conv (its weights differ over the pool window), so nnU-Net's ResidualEncoderUNet cannot hold it", tp.Param)
					}
				}
				w.Data[i] = win[0] * float32(area)
			}
			t = w
		}
		for _, k := range tp.Keys {
			all = append(all, kv{k, t})
		}
	}
	// nnU-Net's state_dict order: module registration order. Ours lists
	// each parameter's names together; sort them into nnU-Net's order.
	order := nnunetOrder()
	sort.SliceStable(all, func(i, j int) bool { return order(all[i].key) < order(all[j].key) })
	for _, e := range all {
		names = append(names, e.key)
		tensors = append(tensors, e.t)
	}
	return names, tensors, nil
}

// nnunetOrder ranks state-dict names in nnU-Net's registration order:
// encoder, then decoder.encoder, then the decoder's stages, transpconvs and
// seg_layers; inside a ConvDropoutNormReLU conv, norm, then all_modules.
// Only the order of files changes with it, not what they hold.
func nnunetOrder() func(string) string {
	return func(k string) string {
		group := "9"
		switch {
		case strings.HasPrefix(k, "encoder."):
			group = "0"
		case strings.HasPrefix(k, "decoder.encoder."):
			group = "1"
		case strings.HasPrefix(k, "decoder.stages."):
			group = "2"
		case strings.HasPrefix(k, "decoder.transpconvs."):
			group = "3"
		case strings.HasPrefix(k, "decoder.seg_layers."):
			group = "4"
		}
		// Pad every number so that lexical order is numeric order, and put
		// the all_modules aliases after conv and norm.
		var b strings.Builder
		b.WriteString(group)
		for _, part := range strings.Split(k, ".") {
			b.WriteByte('.')
			switch part {
			case "all_modules":
				b.WriteString("~all_modules")
			case "conv":
				b.WriteString("0conv")
			case "norm":
				b.WriteString("1norm")
			case "stem":
				b.WriteString("0stem")
			case "stages":
				b.WriteString("1stages")
			case "weight":
				b.WriteString("0weight")
			case "bias":
				b.WriteString("1bias")
			case "running_mean":
				b.WriteString("2running_mean")
			case "running_var":
				b.WriteString("3running_var")
			default:
				if n := len(part); n > 0 && part[0] >= '0' && part[0] <= '9' {
					b.WriteString(strings.Repeat("0", max(0, 6-n)))
				}
				b.WriteString(part)
			}
		}
		return b.String()
	}
}
