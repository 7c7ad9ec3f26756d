package segment

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"suture/io/ckpt"
	"suture/kernels/cpu"
	"suture/tensor"
	"suture/unet"
)

func importFixture(t *testing.T, folder string) *unet.Model {
	t.Helper()
	m, err := unet.ImportNNUNet(filepath.Join("..", "testdata", "nnunet", folder, "nnUNetTrainer__nnUNetPlans__2d"), 0, "final", cpu.New(0))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// nnU-Net crops to the nonzero region: outside it the mask is background,
// and inside it the result is that of predicting the crop alone.
func TestCropToNonzero(t *testing.T) {
	sm := FromUNet(importFixture(t, "Dataset991_TinyPlain"))
	sm.Options.NoMirror = true
	g := tensor.NewRNG(2)
	const h, w = 50, 70
	img := tensor.New(3, h, w)
	crop := tensor.New(3, 30, 40) // rows 12..41, columns 20..59
	for c := 0; c < 3; c++ {
		for y := 0; y < 30; y++ {
			for x := 0; x < 40; x++ {
				v := 1 + 254*g.Float32()
				img.Data[(c*h+y+12)*w+x+20] = v
				crop.Data[(c*30+y)*40+x] = v
			}
		}
	}
	if y0, y1, x0, x1 := nonzeroBox(img); y0 != 12 || y1 != 42 || x0 != 20 || x1 != 60 {
		t.Fatalf("box %d..%d x %d..%d", y0, y1, x0, x1)
	}
	got, err := sm.Classes(img)
	if err != nil {
		t.Fatal(err)
	}
	want, err := sm.Classes(crop)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			in := y >= 12 && y < 42 && x >= 20 && x < 60
			v := got[y*w+x]
			if !in && v != 0 {
				t.Fatalf("(%d, %d) outside the nonzero box: class %d", y, x, v)
			}
			if in && v != want[(y-12)*40+x-20] {
				t.Fatalf("(%d, %d): class %d, the crop alone gives %d", y, x, v, want[(y-12)*40+x-20])
			}
		}
	}
	// An all-zero image is all background.
	zero, err := sm.Classes(tensor.New(3, 10, 10))
	if err != nil || strings.Count(string(zero), "\x00") != 100 {
		t.Errorf("all-zero image: %v %v", zero, err)
	}
}

// The nonzero mask has its holes filled; a zero region that reaches the
// border stays outside.
func TestNonzeroMaskFilled(t *testing.T) {
	rows := []string{
		"......",
		".####.",
		".#..#.",
		".####.",
		"..#...",
		"..#..."}
	img := tensor.New(1, 6, 6)
	for y, r := range rows {
		for x, ch := range r {
			if ch == '#' {
				img.Data[y*6+x] = 1
			}
		}
	}
	m := nonzeroMaskFilled(img)
	var b strings.Builder
	for i, v := range m {
		if i > 0 && i%6 == 0 {
			b.WriteByte('|')
		}
		b.WriteByte(".#"[map[bool]int{false: 0, true: 1}[v]])
	}
	if want := "......|.####.|.####.|.####.|..#...|..#..."; b.String() != want {
		t.Errorf("filled mask %s, want %s", b.String(), want)
	}
}

// Suture's own model runs at its training size and answers at the input's.
func TestNativeModelResizes(t *testing.T) {
	cfg, _ := unet.Plan(16, 16, 3, 2)
	cfg.FeaturesPerStage = []int{4, 8}
	m, err := unet.NewModel(cpu.New(0), cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	m.Inference = unet.NativeInference(cfg, 16, 16)
	sm := FromUNet(m)
	for _, s := range [][2]int{{16, 16}, {37, 53}, {5, 9}} {
		img := tensor.NewRNG(3).Rand(3, s[0], s[1])
		cls, err := sm.Classes(img)
		if err != nil {
			t.Fatal(err)
		}
		if len(cls) != s[0]*s[1] {
			t.Errorf("%v: %d classes", s, len(cls))
		}
	}
	// Grey images feed an RGB network; other channel counts are errors.
	if _, err := sm.Classes(tensor.NewRNG(3).Rand(1, 20, 20)); err != nil {
		t.Errorf("grey image: %v", err)
	}
	if _, err := sm.Classes(tensor.NewRNG(3).Rand(2, 20, 20)); err == nil || !strings.Contains(err.Error(), "2 channels") {
		t.Errorf("two-channel image: %v", err)
	}
}

// Two models, one per goroutine, on one cpu backend (run under -race in CI
// by `go test -race ./segment/`): the results equal those of running them
// one after the other.
func TestModelsShareABackend(t *testing.T) {
	b := cpu.New(0)
	var models []*Model
	for _, f := range []string{"Dataset991_TinyPlain", "Dataset993_TinyResEnc"} {
		m, err := unet.ImportNNUNet(filepath.Join("..", "testdata", "nnunet", f, "nnUNetTrainer__nnUNetPlans__2d"), 0, "final", b)
		if err != nil {
			t.Fatal(err)
		}
		models = append(models, FromUNet(m))
	}
	img := func() *tensor.Tensor {
		x := tensor.New(3, 40, 64)
		tensor.NewRNG(9).Uniform(x, 0, 255)
		return x
	}
	want := make([][]uint8, len(models))
	for i, m := range models {
		var err error
		if want[i], err = m.Classes(img()); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(models))
	for i, m := range models {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 3; r++ {
				got, err := m.Classes(img())
				if err != nil {
					errs[i] = err
					return
				}
				if fmt.Sprint(got) != fmt.Sprint(want[i]) {
					errs[i] = fmt.Errorf("model %d, round %d: classes differ from the sequential run", i, r)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestLoadRefusesNetOnAUNet(t *testing.T) {
	m := importFixture(t, "Dataset991_TinyPlain")
	path := filepath.Join(t.TempDir(), "m.ckpt")
	if err := unet.Save(path, m, nil, ckptRun()); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, cpu.New(0), "b"); err == nil || !strings.Contains(err.Error(), "stitched checkpoints only") {
		t.Errorf("--net b on a U-Net: %v", err)
	}
	if _, err := Load(path, cpu.New(0), ""); err != nil {
		t.Error(err)
	}
}

func ckptRun() ckpt.RunInfo { return ckpt.RunInfo{Data: "fixture"} }
