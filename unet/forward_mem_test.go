package unet

import (
	"runtime"
	"testing"

	"suture/autograd"
	"suture/kernels/cpu"
	"suture/tensor"
)

// TestForwardRecyclesActivations: Forward (no gradients) must not keep every
// vertex's value until the end. What it allocates is compared with the sum
// of all vertex values of the same input: keeping them all costs that sum;
// recycling each value after its last reader costs the live set, a fraction.
func TestForwardRecyclesActivations(t *testing.T) {
	cfg, err := Plan(128, 128, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(cpu.New(1), cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(1, 1, 128, 128)
	for i := range x.Data {
		x.Data[i] = float32(i%17) / 17
	}
	// The sum of every vertex's value, from a plain Graph.Forward.
	tape := autograd.NewTape(m.Backend)
	tape.Recording = false
	xd, _ := tape.Arena().Get(x.Shape...)
	if err := m.Backend.Upload(xd, x.Data); err != nil {
		t.Fatal(err)
	}
	m.Graph.SetTraining(false)
	vals, err := m.Graph.Forward(tape, autograd.Leaf(xd, false))
	m.Graph.SetTraining(true)
	if err != nil {
		t.Fatal(err)
	}
	all := 0.0
	for _, v := range vals {
		all += 4 * float64(v.Value.Numel())
	}
	ref := make([]*tensor.Tensor, len(m.Graph.Outputs))
	for i, o := range m.Graph.Outputs {
		ref[i] = tensor.New(vals[o].Value.Shape...)
		if err := m.Backend.Download(ref[i].Data, vals[o].Value); err != nil {
			t.Fatal(err)
		}
	}
	tape.Arena().Drop()

	want, err := m.Forward(x) // warms the backend's pools
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := m.Forward(x)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	alloc := float64(after.TotalAlloc - before.TotalAlloc)
	t.Logf("Forward allocated %.0f KiB; all vertex values %.0f KiB", alloc/1024, all/1024)
	if alloc > all/2 {
		t.Errorf("Forward allocated %.0f KiB, more than half of all %.0f KiB of vertex values: intermediates are kept", alloc/1024, all/1024)
	}
	for i := range ref {
		if !got[i].Shape.Equal(ref[i].Shape) {
			t.Fatalf("output %d: %v, Graph.Forward gives %v", i, got[i].Shape, ref[i].Shape)
		}
		for j := range ref[i].Data {
			if got[i].Data[j] != ref[i].Data[j] || want[i].Data[j] != ref[i].Data[j] {
				t.Fatalf("output %d differs from Graph.Forward's at %d", i, j)
			}
		}
	}
}

// TestForwardMain: the main output alone, equal to Forward's first.
func TestForwardMain(t *testing.T) {
	cfg, err := Plan(64, 64, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(cpu.New(1), cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(2, 1, 64, 64)
	for i := range x.Data {
		x.Data[i] = float32(i%13) / 13
	}
	all, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 2 {
		t.Fatalf("want deep-supervision heads, got %d outputs", len(all))
	}
	main, err := m.ForwardMain(x)
	if err != nil {
		t.Fatal(err)
	}
	if !main.Shape.Equal(all[0].Shape) {
		t.Fatalf("ForwardMain %v, Forward's main output %v", main.Shape, all[0].Shape)
	}
	for j := range main.Data {
		if main.Data[j] != all[0].Data[j] {
			t.Fatalf("ForwardMain differs from Forward's main output at %d", j)
		}
	}
}
