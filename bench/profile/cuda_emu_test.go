//go:build cudaemu

package profile

import (
	"bytes"
	"testing"

	"suture/autograd"
	"suture/kernels/cuda/launch"
	"suture/kernels/emu"
	"suture/tensor"
)

// TestDeviceTimesOnEmulator profiles a training step of a tiny network on
// the emulated CUDA backend: every op row gets the device time of the
// kernels it launched (events around each launch), the kernel table adds
// up to the same time, and the trace has a device track.
func TestDeviceTimesOnEmulator(t *testing.T) {
	b, err := emu.NewBackend(emu.Options{}, launch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p := New(b, Options{Warmup: 1, Steps: 2, Trace: true})
	gr, set := tinyNet(t, p)
	g := tensor.NewRNG(8)
	x, target := mustAlloc(t, p, g, 2, 4, 8, 8), mustAlloc(t, p, g, 2, 4, 8, 8)
	tape := autograd.NewTape(p)
	for range 3 {
		p.BeginStep()
		if err := set.ZeroGrad(); err != nil {
			t.Fatal(err)
		}
		vals, err := gr.Forward(tape, autograd.Leaf(x, false))
		if err != nil {
			t.Fatal(err)
		}
		loss, err := tape.MSE(vals[gr.Outputs[0]], autograd.Leaf(target, false))
		if err != nil {
			t.Fatal(err)
		}
		if err := tape.Backward(loss); err != nil {
			t.Fatal(err)
		}
		tape.Reset()
		p.EndStep()
	}
	rep := p.Report()
	if rep.DeviceErr != nil {
		t.Fatal(rep.DeviceErr)
	}
	checkAddsUp(t, rep)
	var rowsDevice, kernelsDevice float64
	convs := 0
	for _, r := range rep.Rows {
		if r.DeviceMS == nil {
			t.Fatalf("row %+v has no device time on a CUDA backend", r)
		}
		rowsDevice += *r.DeviceMS
		if r.Op == outsideOps {
			if *r.DeviceMS != 0 {
				t.Errorf("time outside ops launched kernels: %+v", r)
			}
			continue
		}
		// The emulator runs each launch before returning: an op's kernels
		// fit in its wall time.
		if *r.DeviceMS > r.MS*1.0001 {
			t.Errorf("%s in %s: %.4f ms of kernels in %.4f ms of wall time", r.Op, r.Vertex, *r.DeviceMS, r.MS)
		}
		if len(r.Op) > 4 && r.Op[:4] == "conv" {
			convs++
			if *r.DeviceMS <= 0 {
				t.Errorf("%s in %s: no device time", r.Op, r.Vertex)
			}
		}
	}
	if convs == 0 || len(rep.Kernels) == 0 {
		t.Fatalf("%d conv rows, %d kernels", convs, len(rep.Kernels))
	}
	for _, k := range rep.Kernels {
		kernelsDevice += k.DeviceMS
	}
	if d := rowsDevice - kernelsDevice; d > 1e-9 || d < -1e-9 {
		t.Errorf("rows hold %.6f ms of device time, kernels %.6f ms", rowsDevice, kernelsDevice)
	}
	var buf bytes.Buffer
	if err := rep.WriteTrace(&buf); err != nil {
		t.Fatal(err)
	}
	device := 0
	for _, s := range checkTrace(t, buf.Bytes()) {
		if s.Cat == "kernel" {
			device++
			if s.TID != tidDevice || s.Args["op"] == nil {
				t.Errorf("kernel slice %+v", s)
			}
		}
	}
	if device == 0 {
		t.Error("no kernel slices in the trace")
	}
	buf.Reset()
	if err := rep.WriteTable(&buf, 0); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + buf.String())
	if !bytes.Contains(buf.Bytes(), []byte("device ms")) || !bytes.Contains(buf.Bytes(), []byte("CUDA kernels")) {
		t.Errorf("table lacks the device columns:\n%s", buf.String())
	}
}
