package tensor

import (
	"math"
	"strings"
	"testing"
)

func TestShapeAndViews(t *testing.T) {
	x := New(2, 3, 4, 5)
	if x.Numel() != 120 || x.Dim(-1) != 5 || x.Shape.String() != "(2,3,4,5)" {
		t.Fatalf("shape %v numel %d", x.Shape, x.Numel())
	}
	for i := range x.Data {
		x.Data[i] = float32(i)
	}
	// The index formula of the Data comment: (n, c, h, w) at ((n*C+c)*H+h)*W+w.
	if got := x.Data[((1*3+2)*4+3)*5+4]; got != 119 {
		t.Errorf("element (1,2,3,4) = %g", got)
	}
	r, err := x.Reshape(6, 20)
	if err != nil || &r.Data[0] != &x.Data[0] {
		t.Fatalf("reshape is not a view: %v", err)
	}
	if _, err := x.Reshape(7, 20); err == nil {
		t.Error("reshape to another element count accepted")
	}
	v, err := x.View(100, 4, 5)
	if err != nil || v.Data[0] != 100 || cap(v.Data) != 20 {
		t.Fatalf("view: %v %v", v, err)
	}
	v.Data[0] = -1
	if x.Data[100] != -1 {
		t.Error("view does not share memory")
	}
	if _, err := x.View(101, 4, 5); err == nil {
		t.Error("view past the end accepted")
	}
	c := x.Clone()
	c.Data[0] = 42
	if x.Data[0] == 42 {
		t.Error("clone shares memory")
	}
	if _, err := NewChecked(2, -1); err == nil {
		t.Error("negative dimension accepted")
	}
	if _, err := NewChecked(1<<30, 1<<30, 4); err == nil || !strings.Contains(err.Error(), "too many") {
		t.Errorf("overflowing shape: %v", err)
	}
	if _, err := FromData(make([]float32, 5), 2, 3); err == nil {
		t.Error("data that does not fill the shape accepted")
	}
}

func TestRNGIsSeeded(t *testing.T) {
	a, b := NewRNG(7).Rand(3, 4), NewRNG(7).Rand(3, 4)
	if MaxAbsDiff(a.Data, b.Data) != 0 {
		t.Error("same seed, different values")
	}
	if MaxAbsDiff(a.Data, NewRNG(8).Rand(3, 4).Data) == 0 {
		t.Error("different seeds, same values")
	}
	for _, v := range a.Data {
		if v < -1 || v >= 1 || v == 0 {
			t.Fatalf("Rand value %g outside [-1, 1) or zero", v)
		}
	}
}

func TestClose(t *testing.T) {
	got := []float32{1, 2.0001, float32(math.NaN()), float32(math.Inf(1))}
	want := []float64{1, 2, 3, math.Inf(1)}
	bad, rep := Close(got, want, 1e-3, 0, 10)
	if bad != 1 || rep[0].Index != 2 {
		t.Errorf("Close: %d bad, %v (only the NaN must fail)", bad, rep)
	}
	if err := CloseError("x", got[:2], want[:2], 1e-5, 0); err == nil || !strings.Contains(err.Error(), "[1]") {
		t.Errorf("CloseError names the mismatch: %v", err)
	}
	if CloseError("x", got[:1], want[:2], 1, 1) == nil {
		t.Error("length mismatch passed")
	}
	if AllFinite(got) || !AllFinite(got[:2]) {
		t.Error("AllFinite")
	}
	p := New(3)
	NaNs(p)
	if !math.IsNaN(float64(p.Data[2])) {
		t.Error("NaNs did not poison")
	}
}
