//go:build cuda

package cuda

import (
	"errors"
	"strings"
	"testing"

	"suture/kernels"
	"suture/kernels/cuda/launch"
	"suture/kernels/cuda/launch/launchtest"
	"suture/kernels/kerneltest"
)

// newOrSkip returns a backend on GPU 0, or skips when this machine has no
// usable GPU (the reason is in the skip message).
func newOrSkip(t testing.TB, opt launch.Options) *launch.Backend {
	t.Helper()
	b, err := New(opt)
	if errors.Is(err, ErrNoGPU) {
		t.Skipf("skipped: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNoGPUErrorIsClear runs where there is no GPU (CI): gorgonia.org/cu's
// initialisation would have ended the process; instead New must return an
// error that says why. On a GPU machine it checks that New succeeds.
func TestNoGPUErrorIsClear(t *testing.T) {
	b, err := New(launch.Options{})
	if err == nil {
		t.Logf("GPU present: %s", b.Driver().Name())
		b.Close()
		return
	}
	if !errors.Is(err, ErrNoGPU) || !strings.Contains(err.Error(), "cuInit failed") {
		t.Fatalf("New on a machine without a usable GPU: %v; want an error wrapping ErrNoGPU that names cuInit", err)
	}
	t.Logf("as expected without a GPU: %v", err)
}

// TestKernelsMatchReference runs every op on the GPU against the CPU
// reference at every launch geometry, with U-Net-sized cases added.
func TestKernelsMatchReference(t *testing.T) {
	for _, geo := range launchtest.Geometries() {
		t.Run(geo.Name, func(t *testing.T) {
			opt := geo.Options
			opt.SyncEachLaunch = true // pin a failure to its kernel
			b := newOrSkip(t, opt)
			defer b.Close()
			lopt := launchtest.Options{Large: !testing.Short()}
			errs := launchtest.Check(b, lopt)
			for _, err := range errs {
				t.Error(err)
			}
			t.Logf("%s: %d cases, %d failed", b.Driver().Name(), launchtest.CaseCount(lopt), len(errs))
		})
	}
}

// TestConformance runs the conformance suite every backend passes on the
// GPU backend, as registered ("cuda").
func TestConformance(t *testing.T) {
	b, err := kernels.Get("cuda")
	if errors.Is(err, ErrNoGPU) {
		t.Skipf("skipped: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	kerneltest.RunAll(t, b)
}

// TestReductionsAreDeterministic runs every reduction twice on the GPU, at
// every geometry, and compares the bits: no float atomics, fixed orders.
func TestReductionsAreDeterministic(t *testing.T) {
	for _, geo := range launchtest.Geometries() {
		t.Run(geo.Name, func(t *testing.T) {
			b := newOrSkip(t, geo.Options)
			defer b.Close()
			for _, err := range launchtest.CheckDeterminism(b, launchtest.Options{Large: !testing.Short()}) {
				t.Error(err)
			}
		})
	}
}
