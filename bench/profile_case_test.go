package bench

import (
	"math"
	"strings"
	"testing"
	"time"

	"suture/bench/profile"
	"suture/kernels"
	"suture/kernels/cpu"
)

func networkCase(t *testing.T, name string, size, batch int) Case {
	t.Helper()
	for _, c := range NetworkCases(size, batch, nil) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no case %s", name)
	return Case{}
}

// timedSteps wraps c so that each step's wall time, measured outside the
// profiler, is appended to *walls.
func timedSteps(c Case, walls *[]float64) Case {
	return Case{Name: c.Name, Setup: func(b kernels.Backend) (func() error, Work, error) {
		run, w, err := c.Setup(b)
		if err != nil {
			return nil, w, err
		}
		return func() error {
			t0 := time.Now()
			err := run()
			*walls = append(*walls, float64(time.Since(t0))/1e6)
			return err
		}, w, nil
	}}
}

// TestProfileStitchDoubleAddsUpToMeasuredStep: on a tiny double-batched
// stitch step, the rows' self times add up to within 5% of the step's wall
// time measured outside the profiler, and the halves and phases are where
// they belong.
func TestProfileStitchDoubleAddsUpToMeasuredStep(t *testing.T) {
	var walls []float64
	const warmup, steps = 1, 3
	c := timedSteps(networkCase(t, "stitch/double", 32, 2), &walls)
	rep, err := Profile(c, cpu.New(2), 2, profile.Options{Warmup: warmup, Steps: steps, Trace: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Steps != steps || len(walls) != warmup+steps {
		t.Fatalf("%d steps recorded of %d run, want %d of %d", rep.Steps, len(walls), steps, warmup+steps)
	}
	var measured float64
	for _, w := range walls[warmup:] {
		measured += w / steps
	}
	sum := rep.SelfSumMS()
	t.Logf("self times %.2f ms, profiler's step %.2f ms, measured step %.2f ms", sum, rep.StepMS, measured)
	if math.Abs(sum-measured) > 0.05*measured {
		t.Errorf("self times add up to %.2f ms per step; the step measured %.2f ms", sum, measured)
	}
	phases := map[string]bool{}
	for _, r := range rep.Rows {
		phases[r.Phase] = true
		switch {
		case r.Op == "(outside ops)":
		case strings.HasPrefix(r.Phase, "forward ref"):
			// The reference half is the frozen networks, off the tape.
			if !strings.HasPrefix(r.Vertex, "A/") && !strings.HasPrefix(r.Vertex, "B/") {
				t.Errorf("reference-half op %q in vertex %q", r.Op, r.Vertex)
			}
		case strings.HasPrefix(r.Vertex, "stitch "):
			// The stitch convs, and zeroing the gradient buffers of their inputs.
			if !strings.HasPrefix(r.Op, "conv1x1 ") && r.Op != "fill" || !strings.HasSuffix(r.Phase, " alt") {
				t.Errorf("stitch vertex %q runs %q in phase %q", r.Vertex, r.Op, r.Phase)
			}
		}
		if strings.HasPrefix(r.Phase, "backward") && r.Phase != "backward alt" {
			t.Errorf("backward work outside the alternative half: %+v", r)
		}
	}
	for _, ph := range []string{"forward ref", "forward alt", "backward alt", "optimizer"} {
		if !phases[ph] {
			t.Errorf("no row in phase %q", ph)
		}
	}
	var stitchBackward bool
	for _, r := range rep.Rows {
		stitchBackward = stitchBackward || strings.HasPrefix(r.Vertex, "stitch ") && strings.HasPrefix(r.Op, "conv1x1 backward-filter") && r.Phase == "backward alt"
	}
	if !stitchBackward {
		t.Error("no stitch weight gradient in the backward of the alternative half")
	}
}

// TestProfileUNetTrain: the U-Net step's phases, and the loss in its vertex.
func TestProfileUNetTrain(t *testing.T) {
	rep, err := Profile(networkCase(t, "unet/train", 32, 2), cpu.New(2), 2, profile.Options{Warmup: 1, Steps: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"forward": false, "backward": false, "optimizer": false}
	for _, r := range rep.ByPhase() {
		if _, ok := want[r.Phase]; !ok {
			t.Errorf("unexpected phase %q", r.Phase)
		}
		want[r.Phase] = true
	}
	for ph, seen := range want {
		if !seen {
			t.Errorf("no %s phase", ph)
		}
	}
	var sgd, dice bool
	for _, r := range rep.Rows {
		sgd = sgd || r.Op == "sgd nesterov" && r.Phase == "optimizer"
		dice = dice || r.Op == "dice sums" && r.Vertex == "loss"
	}
	if !sgd || !dice {
		t.Errorf("optimizer update found: %v; Dice sums in vertex loss: %v", sgd, dice)
	}
}

// TestProfileOverheadRuns checks the overhead measurement's wiring on a
// tiny case (the figures are for a quiet machine: bench/RESULTS.md).
func TestProfileOverheadRuns(t *testing.T) {
	o, err := ProfileOverhead(networkCase(t, "unet/train", 32, 1), cpu.New(2), 2, 1, Options{Warmup: 1, Reps: 3, MinSample: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.PlainMS) != 1 || len(o.TableMS) != 1 || len(o.TraceMS) != 1 || o.Table <= 0 || o.Trace <= 0 {
		t.Errorf("overhead %+v", o)
	}
}
