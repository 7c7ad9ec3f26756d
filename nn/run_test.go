package nn

import (
	"testing"

	"suture/autograd"
	"suture/kernels/cpu"
)

// passThrough returns its input itself, as an identity layer may.
type passThrough struct{}

func (passThrough) Forward(t *autograd.Tape, in []*autograd.Var) (*autograd.Var, error) {
	return in[0], nil
}
func (passThrough) Params() []*Param { return nil }
func (passThrough) Kind() string     { return "pass" }

// Run recycles a value after its last reader, but not one that another
// vertex still holds (a pass-through's output): recycled, act2 would write
// over the value add still reads. Its results equal Forward's.
func TestRunRecyclesSafely(t *testing.T) {
	g := &Graph{}
	x := g.AddInput("x")
	v1 := g.Add("act1", &LeakyReLU{Slope: 0.1}, x)
	v2 := g.Add("pass", passThrough{}, v1) // v1's last reader: v1 lives on in v2
	v3 := g.Add("act2", &LeakyReLU{Slope: 0.5}, v2)
	v4 := g.Add("act3", &LeakyReLU{Slope: 0.2}, v3)
	v5 := g.Add("add", Add{}, v4, v2)
	unused := g.Add("unused", &LeakyReLU{Slope: 0.3}, v5)
	g.Outputs = []int{v5, unused}
	b := cpu.New(1)
	run := func(useRun bool) []float32 {
		tape := autograd.NewTape(b)
		tape.Recording = false
		xd, _ := tape.Arena().Get(2, 8)
		for i := range xd.Data {
			xd.Data[i] = float32(i) - 7.5
		}
		var out *autograd.Var
		if useRun {
			vals, err := g.Run(tape, []int{v5}, autograd.Leaf(xd, false))
			if err != nil {
				t.Fatal(err)
			}
			out = vals[0]
		} else {
			vals, err := g.Forward(tape, autograd.Leaf(xd, false))
			if err != nil {
				t.Fatal(err)
			}
			out = vals[v5]
		}
		return append([]float32(nil), out.Value.Data...)
	}
	want := run(false)
	got := run(true)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Run %v, Forward %v", got, want)
		}
	}
}
