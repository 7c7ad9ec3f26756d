package unet

import (
	"archive/zip"
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"suture/io/ckpt"
	"suture/io/npy"
	"suture/io/safetensors"
	"suture/kernels/cpu"
	"suture/tensor"
)

// fixtureDir is where testdata/nnunet/make_fixtures.py wrote its nnU-Net
// results folders and reference outputs (regenerate with python3-torch).
var fixtureDir = filepath.Join("..", "testdata", "nnunet")

var fixtures = []struct {
	name, folder  string
	inputs, heads int
}{
	{"plain", "Dataset991_TinyPlain", 2, 3},
	{"plain5", "Dataset992_TinyPlainWide", 2, 4},
	{"resenc", "Dataset993_TinyResEnc", 2, 3},
}

func fixtureFolder(folder string) string {
	return filepath.Join(fixtureDir, folder, "nnUNetTrainer__nnUNetPlans__2d")
}

// checkAgainstReference runs m on every reference input of fixture name
// and compares every output with PyTorch's.
func checkAgainstReference(t *testing.T, m *Model, name string, inputs, heads int) float64 {
	t.Helper()
	worst := 0.0
	for k := 0; k < inputs; k++ {
		x, err := npy.ReadFile(filepath.Join(fixtureDir, "ref", fmt.Sprintf("%s_in%d.npy", name, k)))
		if err != nil {
			t.Fatal(err)
		}
		outs, err := m.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		if len(outs) != heads {
			t.Fatalf("%s input %d: %d outputs, want %d", name, k, len(outs), heads)
		}
		for j, o := range outs {
			fn := fmt.Sprintf("%s_out%d.npy", name, k)
			if j > 0 {
				fn = fmt.Sprintf("%s_out%d_ds%d.npy", name, k, j)
			}
			want, err := npy.ReadFile(filepath.Join(fixtureDir, "ref", fn))
			if err != nil {
				t.Fatal(err)
			}
			if !o.Shape.Equal(want.Shape) {
				t.Fatalf("%s: shape %v, want %v", fn, o.Shape, want.Shape)
			}
			d := tensor.MaxAbsDiff(o.Data, want.Data)
			if !(d <= 1e-4) {
				t.Errorf("%s: max abs difference %.3g to PyTorch (limit 1e-4)", fn, d)
			}
			worst = max(worst, d)
		}
	}
	return worst
}

func TestImportNNUNetMatchesPyTorch(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			m, err := ImportNNUNet(fixtureFolder(fx.folder), 0, "final", cpu.New(0))
			if err != nil {
				t.Fatal(err)
			}
			worst := checkAgainstReference(t, m, fx.name, fx.inputs, fx.heads)
			t.Logf("%s: max abs difference to PyTorch over %d inputs and %d heads: %.3g", fx.name, fx.inputs, fx.heads, worst)
		})
	}
}

// copyFixture copies a fixture's plans, dataset and fold_0 checkpoint.
func copyFixture(t *testing.T, folder string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), folder, "nnUNetTrainer__nnUNetPlans__2d")
	for _, f := range []string{"plans.json", "dataset.json", filepath.Join("fold_0", "checkpoint_final.pth")} {
		b, err := os.ReadFile(filepath.Join(fixtureFolder(folder), f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// nnU-Net pull request 3011 writes checkpoint_final.safetensors (the network
// weights, one name per tensor) beside the .pth: the import reads it and
// never the pickle (here replaced by one that would run code).
func TestImportPR3011Layout(t *testing.T) {
	for _, fx := range fixtures {
		dir := copyFixture(t, fx.folder)
		m, err := ImportNNUNet(dir, 0, "final", cpu.New(0))
		if err != nil {
			t.Fatal(err)
		}
		names, ts, err := m.NNUNetStateDict()
		if err != nil {
			t.Fatal(err)
		}
		var canon []ckpt.Named
		seen := map[*tensor.Tensor]bool{}
		for i, n := range names {
			if !seen[ts[i]] && !strings.Contains(n, "all_modules") && !strings.HasPrefix(n, "decoder.encoder.") {
				seen[ts[i]] = true
				canon = append(canon, ckpt.Named{Name: n, T: ts[i]})
			}
		}
		if err := safetensors.WriteFile(filepath.Join(dir, "fold_0", "checkpoint_final.safetensors"), canon, map[string]string{"weight_layout": "torch_ncdhw"}); err != nil {
			t.Fatal(err)
		}
		evil := "\x80\x02cposix\nsystem\nX\x02\x00\x00\x00lsR."
		if err := os.WriteFile(filepath.Join(dir, "fold_0", "checkpoint_final.pth"), []byte(evil), 0o644); err != nil {
			t.Fatal(err)
		}
		m2, err := ImportNNUNet(dir, 0, "final", cpu.New(0))
		if err != nil {
			t.Fatalf("%s: %v", fx.name, err)
		}
		if !strings.HasSuffix(m2.Inference.Source, "checkpoint_final.safetensors") {
			t.Errorf("source %q", m2.Inference.Source)
		}
		checkAgainstReference(t, m2, fx.name, fx.inputs, fx.heads)
	}
}

// A plans.json in nnU-Net v2's format (abridged to the fields we read).
const plansJSON = `{
 "dataset_name": "Dataset001_Polyp",
 "configurations": {
  "2d": {
   "patch_size": [64, 64],
   "architecture": {
    "network_class_name": "dynamic_network_architectures.architectures.unet.PlainConvUNet",
    "arch_kwargs": {
     "n_stages": 4,
     "features_per_stage": [32, 64, 128, 256],
     "conv_op": "torch.nn.modules.conv.Conv2d",
     "kernel_sizes": [[3, 3], [3, 3], [3, 3], [3, 3]],
     "strides": [[1, 1], [2, 2], [2, 2], [2, 2]],
     "n_conv_per_stage": [2, 2, 2, 2],
     "n_conv_per_stage_decoder": [2, 2, 2],
     "conv_bias": true,
     "norm_op": "torch.nn.modules.instancenorm.InstanceNorm2d",
     "norm_op_kwargs": {"eps": 1e-05, "affine": true},
     "dropout_op": null, "dropout_op_kwargs": null,
     "nonlin": "torch.nn.LeakyReLU",
     "nonlin_kwargs": {"inplace": true}
    },
    "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"]
   }
  }
 }
}`

// The plans format with an architecture block (nnU-Net v2 >= 2.4) gives the
// planner's config for the same patch size.
func TestPlansArchitectureBlock(t *testing.T) {
	p, err := ParsePlans([]byte(plansJSON))
	if err != nil {
		t.Fatal(err)
	}
	cls, cfg, err := p.Architecture(3, 2)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Plan(64, 64, 3, 2)
	if cls != "PlainConvUNet" {
		t.Errorf("plans: network %s, want PlainConvUNet", cls)
	}
	if d := cmp.Diff(want, cfg); d != "" {
		t.Errorf("plans config differs from the planner's (-planner +plans):\n%s", d)
	}
	p, err = ParsePlans([]byte(strings.Replace(plansJSON, "InstanceNorm2d", "GroupNorm", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Architecture(3, 2); err == nil || !strings.Contains(err.Error(), `norm_op "torch.nn.modules.instancenorm.GroupNorm" is not supported`) {
		t.Errorf("unsupported norm: %v", err)
	}
}

func TestPlansErrorsAndOldFormat(t *testing.T) {
	if _, err := ParsePlans([]byte(`{"configurations": {"2d": {"inherits_from": "x"}, "x": {"inherits_from": "2d"}}}`)); err == nil || !strings.Contains(err.Error(), "circle") {
		t.Errorf("circular inheritance: %v", err)
	}
	if _, err := ParsePlans([]byte(`{"configurations": {"3d_fullres": {}}}`)); err == nil || !strings.Contains(err.Error(), `no configuration "2d"`) {
		t.Errorf("no 2d: %v", err)
	}
	// The plans format before the architecture block (nnU-Net v2 < 2.4).
	old := `{"configurations": {"2d": {"UNet_class_name": "PlainConvUNet", "UNet_base_num_features": 32,
		"unet_max_num_features": 64, "n_conv_per_stage_encoder": [2, 2, 2], "n_conv_per_stage_decoder": [2, 2],
		"pool_op_kernel_sizes": [[1, 1], [2, 2], [2, 2]], "conv_kernel_sizes": [[3, 3], [3, 3], [3, 3]],
		"patch_size": [64, 64], "normalization_schemes": ["ZScoreNormalization"], "use_mask_for_norm": [false]}}}`
	p, err := ParsePlans([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	cls, cfg, err := p.Architecture(1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if cls != "PlainConvUNet" || fmt.Sprint(cfg.FeaturesPerStage) != "[32 64 64]" || cfg.Norm != "instance" || !cfg.ConvBias {
		t.Errorf("old plans: %s %+v", cls, cfg)
	}
	for _, bad := range []struct{ plans, want string }{
		{strings.Replace(old, `"PlainConvUNet"`, `"UNETR"`, 1), `network "UNETR" is not supported`},
		{strings.Replace(old, `"patch_size": [64, 64]`, `"patch_size": [64, 64], "spacing": [0.5, 0.5]`, 1), "spacing"},
		{strings.Replace(old, `"ZScoreNormalization"`, `"HistogramNormalization"`, 1), `"HistogramNormalization" is not supported`},
		{strings.Replace(old, `"ZScoreNormalization"`, `"CTNormalization"`, 1), "foreground_intensity_properties_per_channel has no entry"},
	} {
		p, err := ParsePlans([]byte(bad.plans))
		if err == nil {
			_, _, err = p.Architecture(1, 2)
		}
		if err == nil {
			_, err = p.Inference(1)
		}
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("want %q, got %v", bad.want, err)
		}
	}
}

func TestDatasetJSON(t *testing.T) {
	d, err := ParseDataset([]byte(`{"channel_names": {"1": "G", "0": "R"}, "labels": {"tumour": 2, "background": 0, "organ": 1}, "file_ending": ".png"}`))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(d.ChannelNames, d.Labels) != "[R G] [background organ tumour]" {
		t.Errorf("%v %v", d.ChannelNames, d.Labels)
	}
	for _, c := range []struct{ js, want string }{
		{`{"channel_names": {"0": "R"}, "labels": {"background": 0, "a": [1, 2]}}`, "region-based"},
		{`{"channel_names": {"0": "R"}, "labels": {"background": 0, "a": 2}}`, "want indices 0..1"},
		{`{"channel_names": {"0": "R"}, "labels": {"background": 0}}`, "1 labels"},
		{`{"labels": {"background": 0, "a": 1}}`, "no channel_names"},
	} {
		if _, err := ParseDataset([]byte(c.js)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.js, err, c.want)
		}
	}
}

// Every normalisation scheme on a hand-computed plane.
func TestNormalizeByHand(t *testing.T) {
	img := func() []float32 { return []float32{0, 10, 20, 30, 300, -5} }
	cases := []struct {
		n    ChannelNorm
		mask []bool
		want []float64
	}{
		{ChannelNorm{Scheme: NormCT, Mean: 10, Std: 5, Lower: 0, Upper: 25}, nil, []float64{-2, 0, 2, 3, 3, -2}},
		{ChannelNorm{Scheme: NormNone}, nil, []float64{0, 10, 20, 30, 300, -5}},
		{ChannelNorm{Scheme: NormRescale01}, nil, []float64{5.0 / 305, 15.0 / 305, 25.0 / 305, 35.0 / 305, 1, 0}},
		// mean 10 and population std sqrt(200/3) over the three masked pixels; 0 elsewhere.
		{ChannelNorm{Scheme: NormZScore, UseMask: true}, []bool{true, true, true, false, false, false},
			[]float64{-10 / math.Sqrt(200.0/3), 0, 10 / math.Sqrt(200.0/3), 0, 0, 0}},
	}
	for _, c := range cases {
		x := img()
		inf := &Inference{Normalization: []ChannelNorm{c.n}}
		if err := inf.Normalize(x, 1, c.mask); err != nil {
			t.Fatal(err)
		}
		for i := range x {
			if math.Abs(float64(x[i])-c.want[i]) > 1e-6 {
				t.Errorf("%+v: %v, want %v", c.n, x, c.want)
				break
			}
		}
	}
	x := img()
	if err := (&Inference{Normalization: []ChannelNorm{{Scheme: NormRGB01}}}).Normalize(x, 1, nil); err == nil || !strings.Contains(err.Error(), "outside 0..255") {
		t.Errorf("RGB scheme on values outside 0..255: %v", err)
	}
}

// A .pth without "network_weights" (here a dict of training state only) is
// one error naming the missing key, not a complaint about some other entry.
func TestImportNamesMissingNetworkWeights(t *testing.T) {
	dir := copyFixture(t, "Dataset991_TinyPlain")
	// {"optimizer_state": {}, "current_epoch": 3} in pickle protocol 2.
	pkl := "\x80\x02}X\x0f\x00\x00\x00optimizer_state}sX\x0d\x00\x00\x00current_epochK\x03s."
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "archive/data.pkl", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(pkl))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fold_0", "checkpoint_final.pth"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ImportNNUNet(dir, 0, "final", cpu.New(0))
	if err == nil || !strings.Contains(err.Error(), `no "network_weights" entry`) || !strings.Contains(err.Error(), "current_epoch, optimizer_state") {
		t.Fatalf("import without network_weights: %v", err)
	}
}
