package ckpt

import (
	"slices"
	"testing"

	"suture/kernels/cpu"
	"suture/nn"
	"suture/tensor"
)

func TestParamTensors(t *testing.T) {
	w := tensor.New(2, 3)
	for i := range w.Data {
		w.Data[i] = float32(i)
	}
	stat := tensor.New(3)
	stat.Data[1] = 7
	set, err := nn.NewParamSet(cpu.New(1), []*nn.Param{nn.NewParam("conv.w", w), nn.NewBuffer("norm.mean", stat)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParamTensors(set, "a/")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "a/conv.w" || got[1].Name != "a/norm.mean" {
		t.Fatalf("names %v", got)
	}
	if !got[0].T.Shape.Equal(w.Shape) || !slices.Equal(got[0].T.Data, w.Data) || !slices.Equal(got[1].T.Data, stat.Data) {
		t.Fatalf("values %v %v", got[0].T, got[1].T)
	}
}
