//go:build cuda

package gpucheck

import (
	"fmt"
	"testing"

	"suture/kernels/cuda"
	"suture/kernels/cuda/launch"
)

const backendName = "cuda"

func defaultProfile() string { return "full" }

// newBackend returns the cuda backend on GPU 0.
func newBackend(opt launch.Options) (*launch.Backend, error) { return cuda.New(opt) }

// describe returns what the check prints about the device and the module.
func describe(b *launch.Backend) (lines []string, jitLog string) {
	d := b.Driver().(*cuda.Driver)
	m := d.Module()
	lines = []string{
		fmt.Sprintf("device: %s, %d SMs, %.1f GiB, L2 %d MiB", d.Name(), d.Multiprocessors(), float64(d.TotalMemory())/(1<<30), d.L2Bytes()>>20),
		"module: " + m.String(),
	}
	return lines, m.InfoLog
}

// otherImages loads the images the backend did not use, where this GPU can
// run them (the PTX beside the sm_90 cubin), and reports each.
func otherImages(t *testing.T, used *launch.Backend) []string {
	if used.Driver().(*cuda.Driver).Module().Image == "PTX compute_80 (JIT)" {
		return nil
	}
	t.Setenv(cuda.ModuleEnv, "ptx")
	b, err := cuda.New(launch.Options{})
	if err != nil {
		t.Errorf("the PTX (JIT-compiled by this driver) did not load, the cubin did: %v", err)
		return []string{"PTX: FAILED to load"}
	}
	defer b.Close()
	return []string{"also loads: " + b.Driver().(*cuda.Driver).Module().String()}
}
