package unet

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"suture/autograd"
	"suture/kernels/cpu"
	"suture/nn"
	"suture/tensor"
)

func TestPlanner(t *testing.T) {
	for _, c := range []struct {
		h, w     int
		features []int
		strides  [][2]int
	}{
		{64, 64, []int{32, 64, 128, 256}, [][2]int{{1, 1}, {2, 2}, {2, 2}, {2, 2}}},
		{128, 128, []int{32, 64, 128, 256, 512}, [][2]int{{1, 1}, {2, 2}, {2, 2}, {2, 2}, {2, 2}}},
		// 384 -> 12 and 288 -> 9 after five halvings; neither can halve again.
		{384, 288, []int{32, 64, 128, 256, 512, 512}, [][2]int{{1, 1}, {2, 2}, {2, 2}, {2, 2}, {2, 2}, {2, 2}}},
		// Non-square: the short axis stops first and keeps stride 1.
		{128, 32, []int{32, 64, 128, 256, 512}, [][2]int{{1, 1}, {2, 2}, {2, 2}, {2, 1}, {2, 1}}},
	} {
		cfg, err := Plan(c.h, c.w, 3, 2)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(c.features, cfg.FeaturesPerStage); d != "" {
			t.Errorf("plan %dx%d: features (-want +got):\n%s", c.h, c.w, d)
		}
		if d := cmp.Diff(c.strides, cfg.Strides); d != "" {
			t.Errorf("plan %dx%d: strides (-want +got):\n%s", c.h, c.w, d)
		}
		if cfg.NStages != len(c.features) || len(cfg.NConvPerStageDecoder) != cfg.NStages-1 || cfg.KernelSizes[0] != [2]int{3, 3} {
			t.Errorf("plan %dx%d: %+v", c.h, c.w, cfg)
		}
		if err := cfg.CheckInput(3, c.h, c.w); err != nil {
			t.Errorf("plan %dx%d does not accept its own size: %v", c.h, c.w, err)
		}
	}
}

// TestGraphShapes builds the planned 64 px network and checks the vertex
// count and the output shape of every vertex.
func TestGraphShapes(t *testing.T) {
	cfg, _ := Plan(64, 64, 3, 2)
	g, err := Build(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	// input + 4 encoder stages x 2 blocks x 3 + 3 decoder stages x (up, cat, 2x3, seg)
	if want := 1 + 4*2*3 + 3*9; len(g.Vertices) != want {
		t.Fatalf("%d vertices, want %d", len(g.Vertices), want)
	}
	b := cpu.New(0)
	if _, err := nn.NewParamSet(b, g.Params()); err != nil {
		t.Fatal(err)
	}
	x := tensor.NewRNG(2).Rand(2, 3, 64, 64)
	tp := autograd.NewTape(b)
	tp.Recording = false
	vals, err := g.Forward(tp, autograd.Leaf(x, false))
	if err != nil {
		t.Fatal(err)
	}
	size := map[string]int{"enc0": 64, "enc1": 32, "enc2": 16, "enc3": 8, "dec0": 16, "dec1": 32, "dec2": 64}
	ch := map[string]int{"enc0": 32, "enc1": 64, "enc2": 128, "enc3": 256, "dec0": 128, "dec1": 64, "dec2": 32}
	for i, v := range g.Vertices {
		if v.Op == nil {
			continue
		}
		stage, kind, _ := strings.Cut(v.Name, ".")
		want := tensor.Shape{2, ch[stage], size[stage], size[stage]}
		switch {
		case kind == "cat":
			want[1] *= 2
		case kind == "seg":
			want[1] = 2
		}
		if got := vals[i].Value.Shape; !got.Equal(want) {
			t.Errorf("vertex %d %s: shape %v, want %v", i, v.Name, got, want)
		}
	}
	if len(g.Outputs) != 3 || g.Vertices[g.Outputs[0]].Name != "dec2.seg" || g.Vertices[g.Outputs[2]].Name != "dec0.seg" {
		t.Errorf("outputs %v, want the heads from dec2 (full size) to dec0", g.Outputs)
	}
	// The benchmark network: 5 stages, 32..320, one head.
	bg, err := Build(BenchConfig([]int{32, 64, 128, 256, 320}), 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + 5*6 + 4*8 + 1; len(bg.Vertices) != want || len(bg.Outputs) != 1 {
		t.Errorf("bench net: %d vertices, %d outputs; want %d, 1", len(bg.Vertices), len(bg.Outputs), want)
	}
}

func TestConfigErrors(t *testing.T) {
	cfg, _ := Plan(64, 64, 3, 2)
	bad := *cfg
	bad.Strides = bad.Strides[:2]
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "strides") {
		t.Errorf("short strides: %v", err)
	}
	bad = *cfg
	bad.Norm = "group"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "norm") {
		t.Errorf("unknown norm: %v", err)
	}
	if err := cfg.CheckInput(3, 60, 64); err == nil || !strings.Contains(err.Error(), "multiples of 8x8") {
		t.Errorf("indivisible input: %v", err)
	}
	if err := cfg.CheckInput(1, 64, 64); err == nil || !strings.Contains(err.Error(), "channels") {
		t.Errorf("channel mismatch: %v", err)
	}
	if _, err := ParseConfig([]byte(`{"n_stages": 2}`)); err == nil {
		t.Error("incomplete config accepted")
	}
}
