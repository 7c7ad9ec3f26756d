package unet

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// NNUNetPlans is what Suture takes from an nnU-Net v2 plans.json: the 2D
// configuration (inheritance resolved) and the per-channel foreground
// intensity properties.
type NNUNetPlans struct {
	// Config is the "2d" configuration with inherits_from resolved (the
	// child's keys override its parent's, as nnU-Net's PlansManager does).
	Config map[string]json.RawMessage
	// Intensity holds foreground_intensity_properties_per_channel by channel
	// index.
	Intensity map[string]map[string]float64
}

// ParsePlans reads plans.json and resolves configuration "2d".
func ParsePlans(data []byte) (*NNUNetPlans, error) {
	var doc struct {
		Configurations map[string]map[string]json.RawMessage `json:"configurations"`
		Intensity      map[string]map[string]float64         `json:"foreground_intensity_properties_per_channel"`
		IntensityOld   map[string]map[string]float64         `json:"foreground_intensity_properties_by_modality"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("nnU-Net plans: %w", err)
	}
	cfg, err := resolveConfig(doc.Configurations, "2d", nil)
	if err != nil {
		return nil, err
	}
	p := &NNUNetPlans{Config: cfg, Intensity: doc.Intensity}
	if p.Intensity == nil {
		p.Intensity = doc.IntensityOld
	}
	return p, nil
}

func resolveConfig(all map[string]map[string]json.RawMessage, name string, visited []string) (map[string]json.RawMessage, error) {
	c, ok := all[name]
	if !ok {
		var names []string
		for n := range all {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(visited) == 0 {
			return nil, fmt.Errorf("nnU-Net plans: no configuration %q (have: %s); Suture imports 2D models", name, strings.Join(names, ", "))
		}
		return nil, fmt.Errorf("nnU-Net plans: configuration %q inherits from %q, which does not exist", visited[len(visited)-1], name)
	}
	out := map[string]json.RawMessage{}
	if raw, ok := c["inherits_from"]; ok {
		var parent string
		if err := json.Unmarshal(raw, &parent); err != nil {
			return nil, fmt.Errorf("nnU-Net plans: configuration %q: inherits_from: %w", name, err)
		}
		for _, v := range visited {
			if v == parent || parent == name {
				return nil, fmt.Errorf("nnU-Net plans: configurations inherit in a circle (%s -> %s)", strings.Join(append(visited, name), " -> "), parent)
			}
		}
		base, err := resolveConfig(all, parent, append(visited, name))
		if err != nil {
			return nil, err
		}
		out = base
	}
	for k, v := range c {
		out[k] = v
	}
	delete(out, "inherits_from")
	return out, nil
}

func (p *NNUNetPlans) get(key string, v any) error {
	raw, ok := p.Config[key]
	if !ok {
		return fmt.Errorf("nnU-Net plans: configuration 2d has no %q", key)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("nnU-Net plans: configuration 2d: %s: %w", key, err)
	}
	return nil
}

// archKwargs is nnU-Net's architecture.arch_kwargs of both U-Nets.
type archKwargs struct {
	NStages              int             `json:"n_stages"`
	FeaturesPerStage     []int           `json:"features_per_stage"`
	ConvOp               string          `json:"conv_op"`
	KernelSizes          [][]int         `json:"kernel_sizes"`
	Strides              [][]int         `json:"strides"`
	NConvPerStage        []int           `json:"n_conv_per_stage"`
	NBlocksPerStage      []int           `json:"n_blocks_per_stage"`
	NConvPerStageDecoder []int           `json:"n_conv_per_stage_decoder"`
	ConvBias             bool            `json:"conv_bias"`
	NormOp               string          `json:"norm_op"`
	NormOpKwargs         map[string]any  `json:"norm_op_kwargs"`
	DropoutOp            json.RawMessage `json:"dropout_op"`
	Nonlin               string          `json:"nonlin"`
	NonlinKwargs         map[string]any  `json:"nonlin_kwargs"`
	NonlinFirst          bool            `json:"nonlin_first"`
	Block                string          `json:"block"`
	BottleneckChannels   json.RawMessage `json:"bottleneck_channels"`
	StemChannels         *int            `json:"stem_channels"`
	PoolType             string          `json:"pool_type"`
	Pool                 string          `json:"pool"`
	StochasticDepthP     float64         `json:"stochastic_depth_p"`
	SqueezeExcitation    bool            `json:"squeeze_excitation"`
}

// Architecture returns the network class name and the Config of the plans'
// 2D network (the old plans format, before the architecture block, too).
func (p *NNUNetPlans) Architecture(inChannels, numClasses int) (string, *Config, error) {
	var arch struct {
		NetworkClassName string     `json:"network_class_name"`
		ArchKwargs       archKwargs `json:"arch_kwargs"`
	}
	if _, ok := p.Config["architecture"]; ok {
		if err := p.get("architecture", &arch); err != nil {
			return "", nil, err
		}
	} else if err := p.oldArchitecture(&arch.NetworkClassName, &arch.ArchKwargs); err != nil {
		return "", nil, err
	}
	cls := arch.NetworkClassName
	a := arch.ArchKwargs
	short := cls[strings.LastIndex(cls, ".")+1:]
	c := &Config{
		InChannels: inChannels, NumClasses: numClasses, NStages: a.NStages,
		FeaturesPerStage: a.FeaturesPerStage, NConvPerStageDecoder: a.NConvPerStageDecoder,
		ConvBias: a.ConvBias, NormEps: 1e-5, NegativeSlope: 0.01, DeepSupervision: true,
	}
	unsupported := func(format string, args ...any) error {
		return fmt.Errorf("nnU-Net plans: %s: %s", cls, fmt.Sprintf(format, args...))
	}
	switch short {
	case "PlainConvUNet":
		c.NConvPerStage = a.NConvPerStage
		if a.Pool != "" && a.Pool != "conv" {
			return "", nil, unsupported("pool %q is not supported (strided convs only)", a.Pool)
		}
	case "ResidualEncoderUNet":
		c.Encoder = EncoderResidual
		c.NConvPerStage = a.NBlocksPerStage
		if a.Block != "" && !strings.HasSuffix(a.Block, "BasicBlockD") {
			return "", nil, unsupported("block %q is not supported (BasicBlockD only)", a.Block)
		}
		if b := strings.TrimSpace(string(a.BottleneckChannels)); b != "" && b != "null" {
			return "", nil, unsupported("bottleneck_channels are not supported (BasicBlockD only)")
		}
		if a.StemChannels != nil {
			c.StemChannels = *a.StemChannels
		}
		if a.PoolType != "" && a.PoolType != "conv" {
			return "", nil, unsupported("pool_type %q is not supported", a.PoolType)
		}
		if a.StochasticDepthP != 0 || a.SqueezeExcitation {
			return "", nil, unsupported("stochastic depth and squeeze-excitation are not supported")
		}
	default:
		return "", nil, fmt.Errorf("nnU-Net plans: network %q is not supported (PlainConvUNet and ResidualEncoderUNet are)", cls)
	}
	if a.ConvOp != "" && !strings.HasSuffix(a.ConvOp, "Conv2d") {
		return "", nil, unsupported("conv_op %q is not 2D", a.ConvOp)
	}
	if d := strings.TrimSpace(string(a.DropoutOp)); d != "" && d != "null" {
		return "", nil, unsupported("dropout_op %s is not supported", d)
	}
	if a.NonlinFirst {
		return "", nil, unsupported("nonlin_first is not supported")
	}
	if !strings.HasSuffix(a.Nonlin, "LeakyReLU") {
		return "", nil, unsupported("nonlin %q is not supported (only LeakyReLU)", a.Nonlin)
	}
	switch {
	case strings.Contains(a.NormOp, "InstanceNorm"):
		c.Norm = "instance"
	case strings.Contains(a.NormOp, "BatchNorm"):
		c.Norm = "batch"
	default:
		return "", nil, unsupported("norm_op %q is not supported", a.NormOp)
	}
	if eps, ok := a.NormOpKwargs["eps"].(float64); ok {
		c.NormEps = float32(eps)
	}
	if affine, ok := a.NormOpKwargs["affine"].(bool); ok && !affine {
		return "", nil, unsupported("non-affine norms are not supported")
	}
	if s, ok := a.NonlinKwargs["negative_slope"].(float64); ok {
		c.NegativeSlope = float32(s)
	}
	var err error
	if c.KernelSizes, err = pairs("kernel_sizes", a.KernelSizes); err != nil {
		return "", nil, err
	}
	if c.Strides, err = pairs("strides", a.Strides); err != nil {
		return "", nil, err
	}
	if err := c.Validate(); err != nil {
		return "", nil, fmt.Errorf("nnU-Net plans: %w", err)
	}
	return short, c, nil
}

// oldArchitecture rebuilds the architecture block from the plans format
// nnU-Net v2 used before it had one (as its ConfigurationManager does).
func (p *NNUNetPlans) oldArchitecture(cls *string, a *archKwargs) error {
	var name string
	if err := p.get("UNet_class_name", &name); err != nil {
		return fmt.Errorf("nnU-Net plans: configuration 2d has neither an architecture block nor UNet_class_name")
	}
	var base, maxF int
	var enc, dec []int
	var pools, kernels [][]int
	for _, f := range []struct {
		key string
		v   any
	}{{"UNet_base_num_features", &base}, {"unet_max_num_features", &maxF}, {"n_conv_per_stage_encoder", &enc},
		{"n_conv_per_stage_decoder", &dec}, {"pool_op_kernel_sizes", &pools}, {"conv_kernel_sizes", &kernels}} {
		if err := p.get(f.key, f.v); err != nil {
			return err
		}
	}
	*cls = name
	a.NStages = len(enc)
	for i := 0; i < a.NStages; i++ {
		a.FeaturesPerStage = append(a.FeaturesPerStage, min(base<<i, maxF))
	}
	a.ConvOp, a.KernelSizes, a.Strides = "torch.nn.Conv2d", kernels, pools
	if name == "ResidualEncoderUNet" {
		a.NBlocksPerStage = enc
	} else {
		a.NConvPerStage = enc
	}
	a.NConvPerStageDecoder = dec
	a.ConvBias = true
	a.NormOp = "torch.nn.InstanceNorm2d"
	a.NormOpKwargs = map[string]any{"eps": 1e-5, "affine": true}
	a.Nonlin = "torch.nn.LeakyReLU"
	return nil
}

func pairs(field string, v [][]int) ([][2]int, error) {
	out := make([][2]int, len(v))
	for i, p := range v {
		switch len(p) {
		case 1:
			out[i] = [2]int{p[0], p[0]}
		case 2:
			out[i] = [2]int{p[0], p[1]}
		default:
			return nil, fmt.Errorf("nnU-Net plans: %s[%d] = %v is not 2D", field, i, p)
		}
	}
	return out, nil
}

// Inference returns the plans' patch size and per-channel normalisation.
func (p *NNUNetPlans) Inference(inChannels int) (*Inference, error) {
	inf := &Inference{MirrorAxes: []int{0, 1}, CropToNonzero: true}
	var patch []int
	if err := p.get("patch_size", &patch); err != nil {
		return nil, err
	}
	if len(patch) != 2 {
		return nil, fmt.Errorf("nnU-Net plans: patch_size %v is not 2D", patch)
	}
	inf.PatchSize = [2]int{patch[0], patch[1]}
	if raw, ok := p.Config["spacing"]; ok {
		var sp []float64
		if err := json.Unmarshal(raw, &sp); err != nil {
			return nil, fmt.Errorf("nnU-Net plans: spacing: %w", err)
		}
		for _, s := range sp {
			if s != 1 {
				return nil, fmt.Errorf("nnU-Net plans: spacing %v: Suture predicts at the images' own resolution (spacing 1, as nnU-Net's natural-image reader gives); resampling to another spacing is not supported", sp)
			}
		}
	}
	var schemes []string
	if err := p.get("normalization_schemes", &schemes); err != nil {
		return nil, err
	}
	var useMask []bool
	if _, ok := p.Config["use_mask_for_norm"]; ok {
		if err := p.get("use_mask_for_norm", &useMask); err != nil {
			return nil, err
		}
	}
	if len(schemes) != inChannels || (useMask != nil && len(useMask) != inChannels) {
		return nil, fmt.Errorf("nnU-Net plans: %d normalisation schemes and %d use_mask_for_norm entries for %d channels", len(schemes), len(useMask), inChannels)
	}
	for c, s := range schemes {
		n := ChannelNorm{}
		switch s {
		case "ZScoreNormalization":
			n.Scheme = NormZScore
			n.UseMask = useMask != nil && useMask[c]
		case "CTNormalization":
			n.Scheme = NormCT
			props, ok := p.Intensity[strconv.Itoa(c)]
			if !ok {
				return nil, fmt.Errorf("nnU-Net plans: channel %d uses CTNormalization but foreground_intensity_properties_per_channel has no entry %q", c, strconv.Itoa(c))
			}
			for _, f := range []struct {
				key string
				v   *float64
			}{{"mean", &n.Mean}, {"std", &n.Std}, {"percentile_00_5", &n.Lower}, {"percentile_99_5", &n.Upper}} {
				v, ok := props[f.key]
				if !ok {
					return nil, fmt.Errorf("nnU-Net plans: channel %d: foreground intensity property %q missing", c, f.key)
				}
				*f.v = v
			}
		case "NoNormalization":
			n.Scheme = NormNone
		case "RescaleTo01Normalization":
			n.Scheme = NormRescale01
		case "RGBTo01Normalization":
			n.Scheme = NormRGB01
		default:
			return nil, fmt.Errorf("nnU-Net plans: channel %d: normalisation %q is not supported", c, s)
		}
		inf.Normalization = append(inf.Normalization, n)
	}
	return inf, nil
}

// NNUNetDataset is what Suture reads from dataset.json.
type NNUNetDataset struct {
	ChannelNames []string // by channel index
	Labels       []string // by class index; index 0 is the background
	FileEnding   string
}

// ParseDataset reads an nnU-Net v2 dataset.json: channel_names ("0": name,
// ...), labels (name: index, background 0, indices 0..K-1 each once; region
// labels are not supported) and file_ending.
func ParseDataset(data []byte) (*NNUNetDataset, error) {
	var doc struct {
		ChannelNames map[string]string          `json:"channel_names"`
		Modality     map[string]string          `json:"modality"`
		Labels       map[string]json.RawMessage `json:"labels"`
		FileEnding   string                     `json:"file_ending"`
		Regions      json.RawMessage            `json:"regions_class_order"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("nnU-Net dataset.json: %w", err)
	}
	if doc.ChannelNames == nil {
		doc.ChannelNames = doc.Modality
	}
	if len(doc.ChannelNames) == 0 {
		return nil, fmt.Errorf("nnU-Net dataset.json: no channel_names")
	}
	d := &NNUNetDataset{FileEnding: doc.FileEnding, ChannelNames: make([]string, len(doc.ChannelNames))}
	for k, v := range doc.ChannelNames {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= len(d.ChannelNames) || d.ChannelNames[i] != "" {
			return nil, fmt.Errorf("nnU-Net dataset.json: channel_names key %q: want 0..%d, each once", k, len(d.ChannelNames)-1)
		}
		d.ChannelNames[i] = v
	}
	if r := strings.TrimSpace(string(doc.Regions)); r != "" && r != "null" {
		return nil, fmt.Errorf("nnU-Net dataset.json: region-based labels (regions_class_order) are not supported")
	}
	if len(doc.Labels) < 2 || len(doc.Labels) > 256 {
		return nil, fmt.Errorf("nnU-Net dataset.json: %d labels, want background plus 1 to 255 classes", len(doc.Labels))
	}
	d.Labels = make([]string, len(doc.Labels))
	for name, raw := range doc.Labels {
		var i int
		if err := json.Unmarshal(raw, &i); err != nil {
			return nil, fmt.Errorf("nnU-Net dataset.json: label %q is %s: region-based labels are not supported", name, raw)
		}
		if i < 0 || i >= len(d.Labels) || d.Labels[i] != "" {
			return nil, fmt.Errorf("nnU-Net dataset.json: label %q = %d: want indices 0..%d, each once", name, i, len(d.Labels)-1)
		}
		d.Labels[i] = name
	}
	if d.Labels[0] == "" {
		return nil, errors.New("nnU-Net dataset.json: no label 0 (background)")
	}
	return d, nil
}

// NNUNetFolder locates the files of one fold of an nnU-Net v2 trained-model
// folder (DatasetNNN_Name/TRAINER__PLANS__CONFIG).
type NNUNetFolder struct {
	Dir, Plans, Dataset string
	// Checkpoint is fold_K/checkpoint_<which>.pth; Safetensors is the
	// checkpoint_<which>.safetensors beside it (nnU-Net pull request 3011's
	// layout) when that file exists, else "".
	Checkpoint, Safetensors string
}

// FindNNUNetFolder checks the layout and names the first thing missing.
// which is "final" or "best".
func FindNNUNetFolder(dir string, fold int, which string) (*NNUNetFolder, error) {
	if which != "final" && which != "best" {
		return nil, fmt.Errorf("checkpoint %q, want final or best", which)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("nnU-Net results folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("nnU-Net results folder %s is not a folder", dir)
	}
	f := &NNUNetFolder{Dir: dir, Plans: filepath.Join(dir, "plans.json"), Dataset: filepath.Join(dir, "dataset.json")}
	for _, p := range []string{f.Plans, f.Dataset} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s: no %s: not an nnU-Net trained-model folder (want DatasetNNN_Name/TRAINER__PLANS__2d)", dir, filepath.Base(p))
		}
	}
	foldDir := filepath.Join(dir, fmt.Sprintf("fold_%d", fold))
	if _, err := os.Stat(foldDir); err != nil {
		have, _ := filepath.Glob(filepath.Join(dir, "fold_*"))
		for i := range have {
			have[i] = filepath.Base(have[i])
		}
		return nil, fmt.Errorf("%s: no fold_%d (folds here: %s)", dir, fold, orNone(have))
	}
	f.Checkpoint = filepath.Join(foldDir, "checkpoint_"+which+".pth")
	st2 := filepath.Join(foldDir, "checkpoint_"+which+".safetensors")
	if _, err := os.Stat(st2); err == nil {
		f.Safetensors = st2
	}
	if _, err := os.Stat(f.Checkpoint); err != nil && f.Safetensors == "" {
		return nil, fmt.Errorf("%s: no checkpoint_%s.pth (or .safetensors)", foldDir, which)
	}
	return f, nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
