package imageset

import (
	"math"
	"testing"

	"suture/tensor"
)

func TestZScore(t *testing.T) {
	r := tensor.NewRNG(8)
	img := tensor.New(3, 9, 7)
	r.Uniform(img, 0, 255)
	for i := range 63 { // give the channels different means and spreads
		img.Data[63+i] = img.Data[63+i]*0.1 + 40
		img.Data[126+i] = 5 // constant channel
	}
	got, err := ZScore(img)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(img.Data))
	for c := range 3 {
		x := tensor.To64(img.Data[c*63 : (c+1)*63])
		mean, ss := 0.0, 0.0
		for _, v := range x {
			mean += v
		}
		mean /= 63
		for _, v := range x {
			ss += (v - mean) * (v - mean)
		}
		std := math.Max(math.Sqrt(ss/63), 1e-8)
		for i, v := range x {
			want[c*63+i] = (v - mean) / std
		}
	}
	if err := tensor.CloseError("ZScore", got.Data, want, 1e-5, 1e-5); err != nil {
		t.Fatal(err)
	}
	for i := range 63 {
		if got.Data[126+i] != 0 {
			t.Fatalf("constant channel gives %v, want 0", got.Data[126+i])
		}
	}
	if &got.Data[0] == &img.Data[0] || img.Data[126] != 5 {
		t.Fatal("ZScore changed its input")
	}
	for _, bad := range []*tensor.Tensor{nil, tensor.New(2, 3), tensor.New(1, 0, 4), tensor.New(1, 1, 2, 2)} {
		if _, err := ZScore(bad); err == nil {
			t.Errorf("ZScore(%v): want an error", bad)
		}
	}
}
