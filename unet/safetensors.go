package unet

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"suture/io/ckpt"
	"suture/io/safetensors"
	"suture/kernels"
)

// Metadata keys of the safetensors files Suture writes.
const (
	// MetaPlans holds an nnU-Net v2 plans.json (configuration "2d" only:
	// architecture, patch size, normalisation; the intensity properties).
	MetaPlans = "nnunet_plans"
	// MetaDataset holds an nnU-Net v2 dataset.json (channel_names, labels, file_ending).
	MetaDataset = "nnunet_dataset"
	// MetaInference holds Suture's Inference (JSON), which says more than
	// the plans for Suture's own models (the size they were trained at).
	MetaInference = "suture_inference"
)

// NNUNetPlansJSON writes the model as an nnU-Net v2 plans.json and
// dataset.json: network class and arch_kwargs, patch size, normalisation
// schemes, intensity properties, labels.
func (m *Model) NNUNetPlansJSON() (plans, dataset []byte, err error) {
	cfg, inf := m.Config, m.InferenceFor()
	ks := make([][]int, cfg.NStages)
	st := make([][]int, cfg.NStages)
	for s := range ks {
		ks[s] = []int{cfg.KernelSizes[s][0], cfg.KernelSizes[s][1]}
		st[s] = []int{cfg.Strides[s][0], cfg.Strides[s][1]}
	}
	norm := "torch.nn.modules.instancenorm.InstanceNorm2d"
	if cfg.Norm == "batch" {
		norm = "torch.nn.modules.batchnorm.BatchNorm2d"
	}
	arch := map[string]any{
		"n_stages": cfg.NStages, "features_per_stage": cfg.FeaturesPerStage,
		"conv_op": "torch.nn.modules.conv.Conv2d", "kernel_sizes": ks, "strides": st,
		"n_conv_per_stage_decoder": cfg.NConvPerStageDecoder, "conv_bias": cfg.ConvBias,
		"norm_op": norm, "norm_op_kwargs": map[string]any{"eps": cfg.NormEps, "affine": true},
		"dropout_op": nil, "dropout_op_kwargs": nil,
		"nonlin": "torch.nn.LeakyReLU", "nonlin_kwargs": map[string]any{"negative_slope": cfg.NegativeSlope, "inplace": true},
	}
	cls := "dynamic_network_architectures.architectures.unet.PlainConvUNet"
	if cfg.Encoder == EncoderResidual {
		cls = "dynamic_network_architectures.architectures.unet.ResidualEncoderUNet"
		arch["n_blocks_per_stage"] = cfg.NConvPerStage
		if cfg.StemChannels != 0 {
			arch["stem_channels"] = cfg.StemChannels
		}
	} else {
		arch["n_conv_per_stage"] = cfg.NConvPerStage
	}
	schemes := map[string]string{NormZScore: "ZScoreNormalization", NormCT: "CTNormalization", NormNone: "NoNormalization",
		NormRescale01: "RescaleTo01Normalization", NormRGB01: "RGBTo01Normalization"}
	var names []string
	var useMask []bool
	props := map[string]map[string]float64{}
	for c, n := range inf.Normalization {
		names = append(names, schemes[n.Scheme])
		useMask = append(useMask, n.UseMask)
		if n.Scheme == NormCT {
			props[strconv.Itoa(c)] = map[string]float64{"mean": n.Mean, "std": n.Std, "percentile_00_5": n.Lower, "percentile_99_5": n.Upper}
		}
	}
	doc := map[string]any{
		"plans_name": "nnUNetPlans",
		"configurations": map[string]any{"2d": map[string]any{
			"patch_size": []int{inf.PatchSize[0], inf.PatchSize[1]}, "spacing": []float64{1, 1},
			"normalization_schemes": names, "use_mask_for_norm": useMask,
			"architecture": map[string]any{"network_class_name": cls, "arch_kwargs": arch,
				"_kw_requires_import": []string{"conv_op", "norm_op", "dropout_op", "nonlin"}},
		}},
		"foreground_intensity_properties_per_channel": props,
	}
	if plans, err = json.Marshal(doc); err != nil {
		return nil, nil, err
	}
	channels := map[string]string{}
	for c := 0; c < cfg.InChannels; c++ {
		name := fmt.Sprintf("channel%d", c)
		if c < len(inf.ChannelNames) {
			name = inf.ChannelNames[c]
		}
		channels[strconv.Itoa(c)] = name
	}
	labels := map[string]int{}
	for k := 0; k < cfg.NumClasses; k++ {
		name := fmt.Sprintf("class%d", k)
		if k == 0 {
			name = "background"
		}
		if k < len(inf.Labels) {
			name = inf.Labels[k]
		}
		labels[name] = k
	}
	ds := map[string]any{"channel_names": channels, "labels": labels, "file_ending": inf.FileEnding}
	if inf.FileEnding == "" {
		ds["file_ending"] = ".png"
	}
	dataset, err = json.Marshal(ds)
	return plans, dataset, err
}

// SafetensorsContent returns the model's weights under nnU-Net's state-dict
// names (every alias included, as nnU-Net's network's state_dict() lists
// them, so that PyTorch loads the file into nnU-Net's network class with
// load_state_dict(strict=True)) and the metadata: plans, dataset and
// Suture's inference settings.
func (m *Model) SafetensorsContent() ([]ckpt.Named, map[string]string, error) {
	names, ts, err := m.NNUNetStateDict()
	if err != nil {
		return nil, nil, err
	}
	out := make([]ckpt.Named, len(names))
	for i := range names {
		out[i] = ckpt.Named{Name: names[i], T: ts[i]}
	}
	plans, dataset, err := m.NNUNetPlansJSON()
	if err != nil {
		return nil, nil, err
	}
	inf, err := json.Marshal(m.InferenceFor())
	if err != nil {
		return nil, nil, err
	}
	meta := map[string]string{"format": "pt", MetaPlans: string(plans), MetaDataset: string(dataset), MetaInference: string(inf)}
	return out, meta, nil
}

// SaveSafetensors writes the model as a safetensors file (see
// SafetensorsContent) to path atomically.
func (m *Model) SaveSafetensors(path string) error {
	ts, meta, err := m.SafetensorsContent()
	if err != nil {
		return err
	}
	return safetensors.WriteFile(path, ts, meta)
}

// LoadSafetensors reads a safetensors file that holds nnU-Net state-dict
// names and, in its metadata, the plans and dataset (as SaveSafetensors
// writes it) onto backend b.
func LoadSafetensors(path string, b kernels.Backend) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	sf, err := safetensors.Read(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m, err := FromSafetensors(sf, b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// FromSafetensors builds the model of a decoded safetensors file.
func FromSafetensors(sf *safetensors.File, b kernels.Backend) (*Model, error) {
	plansRaw, ok1 := sf.Metadata[MetaPlans]
	dsRaw, ok2 := sf.Metadata[MetaDataset]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("no %q and %q in the metadata: not written by Suture (for nnU-Net's checkpoint_final.safetensors, import the results folder with `suture import nnunet`)", MetaPlans, MetaDataset)
	}
	ds, err := ParseDataset([]byte(dsRaw))
	if err != nil {
		return nil, err
	}
	plans, err := ParsePlans([]byte(plansRaw))
	if err != nil {
		return nil, err
	}
	_, cfg, err := plans.Architecture(len(ds.ChannelNames), len(ds.Labels))
	if err != nil {
		return nil, err
	}
	inf, err := plans.Inference(len(ds.ChannelNames))
	if err != nil {
		return nil, err
	}
	inf.Labels, inf.ChannelNames, inf.FileEnding = ds.Labels, ds.ChannelNames, ds.FileEnding
	if raw, ok := sf.Metadata[MetaInference]; ok {
		var own Inference
		if err := json.Unmarshal([]byte(raw), &own); err != nil {
			return nil, fmt.Errorf("%s: %w", MetaInference, err)
		}
		inf = &own
	}
	if err := inf.Validate(cfg); err != nil {
		return nil, err
	}
	m, err := NewModel(b, cfg, 0)
	if err != nil {
		return nil, err
	}
	if err := m.LoadNNUNet(safetensorsSource{sf}); err != nil {
		return nil, err
	}
	m.Inference = inf
	return m, nil
}
