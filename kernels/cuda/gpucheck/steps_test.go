//go:build cuda || cudaemu

package gpucheck

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"suture/bench"
	"suture/kernels"
	"suture/kernels/cpu"
	"suture/kernels/cuda/launch"
	"suture/stitch"
)

// Tolerances of a training step on the device against the CPU. Both run
// the same float32 arithmetic in different orders (tiles, split-K, fused
// multiply-adds, the CPU's Winograd and blocked sums), so activations differ
// by rounding, about 1e-6 relative after a few layers. Most of that stays
// rounding in the gradients, but a leaky ReLU input that lands on the other
// side of zero on one backend changes its own gradient by 99%, and moves the
// gradient of the conv below it by about 1/sqrt(M) relative (M outputs of
// the layer): measured on the emulator against the cpu backend, a U-Net of
// 16..128 features at 64 px, batch 4 (M up to 262144): up to 4.6e-3
// (dec0.up.bias; the cpu-ref backend against cpu: 2e-5; the cpu backend
// against itself with its weights scaled by 1 +- 1e-6: up to 3e-3, with
// 1 +- 1e-7: 2e-5). A wrong kernel moves them by more: leaky_relu_backward
// with half the slope (the planted fault) by 2e-2 on the small U-Net. With g the CPU's
// gradient of one parameter tensor (n elements), d the device's, and rms the
// root mean square of the CPU's whole gradient:
//
//	loss:     |loss_dev - loss_cpu| <= lossTol * max(1, |loss_cpu|)
//	gradient: ||d - g||_2 <= gradRTol*||g||_2 + gradATol*rms*sqrt(n), for every parameter tensor
//
// The absolute term covers tensors whose gradient is rounding noise (a
// conv bias in front of an instance norm has zero gradient in exact
// arithmetic).
const (
	lossTol  = 1e-4
	gradRTol = 1e-2
	gradATol = 1e-4
)

// hangEnv set to "steps" makes TestSteps hang (script_test.go checks that
// gpu-check.sh kills it within its budget and still gives a verdict).
const hangEnv = "SUTURE_GPUCHECK_HANG"

// stepCheck is one training step compared between the device and a CPU backend.
type stepCheck struct {
	name  string
	scale bench.Scale
	ref   string // "cpu-ref" (the plain reference) or "cpu" (the fast path, for sizes the reference takes minutes on)
	step  func(b kernels.Backend, s bench.Scale) (*bench.Step, error)
}

func unetStep(b kernels.Backend, s bench.Scale) (*bench.Step, error) { return bench.UNetStep(b, s) }

func doubleStitchStep(b kernels.Backend, s bench.Scale) (*bench.Step, error) {
	return bench.StitchStep(b, stitch.Double, s)
}

var (
	smallSteps = []stepCheck{
		{"unet/train small", bench.Small, "cpu-ref", unetStep},
		{"stitch/double small", bench.Small, "cpu-ref", doubleStitchStep},
	}
	fullSteps = append(smallSteps[:len(smallSteps):len(smallSteps)],
		stepCheck{"unet/train full", bench.Full, "cpu", unetStep},
		stepCheck{"stitch/double full", bench.Full, "cpu", doubleStitchStep},
	)
)

func refBackend(name string) kernels.Backend {
	if name == "cpu" {
		return cpu.New(0)
	}
	return cpu.NewReference()
}

// stepResult is a step's loss and its gradients by parameter name, in order.
type stepResult struct {
	loss  float64
	names []string
	grads [][]float32
}

func runStep(b kernels.Backend, c stepCheck) (stepResult, error) {
	st, err := c.step(b, c.scale)
	if err != nil {
		return stepResult{}, err
	}
	var r stepResult
	if r.loss, err = st.Loss(); err != nil {
		return r, err
	}
	for _, p := range st.Params.Params {
		if p.Buffer || p.Grad == nil {
			continue
		}
		g := make([]float32, p.Grad.Numel())
		if err := b.Download(g, p.Grad); err != nil {
			return r, fmt.Errorf("download the gradient of %s: %w", p.Name, err)
		}
		r.names, r.grads = append(r.names, p.Name), append(r.grads, g)
	}
	return r, nil
}

// compareSteps returns the worst gradient ratio (error over tolerance; <= 1
// passes) and its parameter, and an error for every tolerance exceeded.
func compareSteps(dev, ref stepResult) (worst float64, worstName string, errs []string) {
	if d := math.Abs(dev.loss - ref.loss); d > lossTol*math.Max(1, math.Abs(ref.loss)) || math.IsNaN(dev.loss) {
		errs = append(errs, fmt.Sprintf("loss %.9g, CPU %.9g", dev.loss, ref.loss))
	}
	if len(dev.names) != len(ref.names) {
		return 0, "", append(errs, fmt.Sprintf("%d parameters, CPU %d", len(dev.names), len(ref.names)))
	}
	var sq float64
	n := 0
	for _, g := range ref.grads {
		for _, v := range g {
			sq += float64(v) * float64(v)
		}
		n += len(g)
	}
	rms := math.Sqrt(sq / float64(max(n, 1)))
	for i, g := range ref.grads {
		d := dev.grads[i]
		var diff, norm float64
		for j := range g {
			e := float64(d[j]) - float64(g[j])
			diff += e * e
			norm += float64(g[j]) * float64(g[j])
		}
		diff, norm = math.Sqrt(diff), math.Sqrt(norm)
		tol := gradRTol*norm + gradATol*rms*math.Sqrt(float64(len(g)))
		ratio := diff / tol
		if math.IsNaN(diff) {
			ratio = math.Inf(1)
		}
		if ratio > worst || worstName == "" {
			worst, worstName = ratio, dev.names[i]
		}
		if ratio > 1 {
			errs = append(errs, fmt.Sprintf("gradient of %s (%d elements): ||device - CPU|| = %.3g, ||CPU|| = %.3g, tolerance %.3g",
				dev.names[i], len(g), diff, norm, tol))
		}
	}
	return worst, worstName, errs
}

// TestSteps runs the profile's training steps on the device and on the CPU
// and compares losses and gradients (tolerances above).
func TestSteps(t *testing.T) {
	if os.Getenv(hangEnv) == "steps" {
		time.Sleep(time.Hour) // gpu-check.sh's own test of a step killed by its budget
	}
	p := currentProfile(t)
	var failed []string
	for _, c := range p.steps {
		ok := t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			dev, err := newBackend(launch.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer dev.Close()
			d, err := runStep(dev, c)
			if err != nil {
				t.Fatalf("on %s: %v", backendName, err)
			}
			r, err := runStep(refBackend(c.ref), c)
			if err != nil {
				t.Fatalf("on %s: %v", c.ref, err)
			}
			worst, name, errs := compareSteps(d, r)
			for i, e := range errs {
				if i == 10 {
					t.Errorf("... and %d more", len(errs)-10)
					break
				}
				t.Error(e)
			}
			t.Logf("%s against %s: loss %.7g vs %.7g, %d parameter tensors, worst gradient at %.2f of its tolerance (%s)",
				c.name, c.ref, d.loss, r.loss, len(r.names), worst, name)
		})
		if !ok {
			failed = append(failed, c.name)
		}
	}
	var names []string
	for _, c := range p.steps {
		names = append(names, c.name)
	}
	verdict(t, strings.Join(names, ", ")+" match the CPU", strings.Join(failed, ", ")+" differ from the CPU")
}
