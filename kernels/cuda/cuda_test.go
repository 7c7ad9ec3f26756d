//go:build cuda

package cuda

import (
	"errors"
	"strings"
	"testing"

	"suture/kernels/cuda/launch"
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

// TestChooseImages needs no GPU: the sm_90 cubin first on compute capability
// 9.0 (the PTX after it), the PTX elsewhere, and the override.
func TestChooseImages(t *testing.T) {
	names := func(ims []moduleImage) string {
		var s []string
		for _, im := range ims {
			s = append(s, im.name)
		}
		return strings.Join(s, ", ")
	}
	for _, c := range []struct {
		major, minor int
		mode, want   string
	}{
		{9, 0, "", "cubin sm_90, PTX compute_80 (JIT)"},
		{9, 0, "auto", "cubin sm_90, PTX compute_80 (JIT)"},
		{9, 0, "ptx", "PTX compute_80 (JIT)"},
		{9, 0, "cubin", "cubin sm_90"},
		{8, 0, "", "PTX compute_80 (JIT)"},
		{12, 0, "auto", "PTX compute_80 (JIT)"},
		{8, 6, "cubin", "error"},
		{9, 0, "fatbin", "error"},
	} {
		ims, err := chooseImages(c.major, c.minor, c.mode)
		got := names(ims)
		if err != nil {
			got = "error"
		}
		if got != c.want {
			t.Errorf("sm_%d%d, %s=%q: %s (%v), want %s", c.major, c.minor, ModuleEnv, c.mode, got, err, c.want)
		}
	}
	if len(cubinSM90) < 1<<20 || !strings.HasPrefix(cubinSM90, "\x7fELF") {
		t.Errorf("the embedded cubin is %d bytes and does not start with an ELF header", len(cubinSM90))
	}
}
