package kernels_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"suture/kernels"
)

// fakeBackend is a named placeholder; Pick only passes it on.
type fakeBackend struct{ kernels.Backend }

func TestPick(t *testing.T) {
	cpuB, gpuB := fakeBackend{}, fakeBackend{}
	errNoGPU := errors.New("no usable NVIDIA GPU: cuInit failed: CUDA_ERROR_NO_DEVICE")
	withCuda, withoutCuda := []string{"cpu", "cpu-ref", "cuda"}, []string{"cpu", "cpu-ref"}
	// get is a registry holding names, whose cuda backend fails with gpuErr.
	get := func(names []string, gpuErr error) func(string) (kernels.Backend, error) {
		return func(name string) (kernels.Backend, error) {
			if !slices.Contains(names, name) {
				return nil, fmt.Errorf("backend %q is not built into this binary", name)
			}
			switch {
			case name == "cpu":
				return &cpuB, nil
			case name == "cuda" && gpuErr == nil:
				return &gpuB, nil
			case name == "cuda":
				return nil, gpuErr
			}
			return nil, fmt.Errorf("unexpected backend %q", name)
		}
	}
	for _, c := range []struct {
		what, name string
		names      []string
		gpuErr     error
		want       kernels.Backend
		wantErr    string
		wantGPUErr error
	}{
		{"auto, GPU usable", "auto", withCuda, nil, &gpuB, "", nil},
		{"auto, GPU built in but unusable", "auto", withCuda, errNoGPU, &cpuB, "", errNoGPU},
		{"auto, no GPU backend built in", "auto", withoutCuda, nil, &cpuB, "", nil},
		{"cuda asked for, usable", "cuda", withCuda, nil, &gpuB, "", nil},
		{"cuda asked for, unusable", "cuda", withCuda, errNoGPU, nil, "no usable NVIDIA GPU", nil},
		{"cuda asked for, not built in", "cuda", withoutCuda, nil, nil, `backend "cuda" is not built into this binary`, nil},
		{"cpu asked for", "cpu", withCuda, errNoGPU, &cpuB, "", nil},
	} {
		b, gpuErr, err := kernels.Pick(c.name, get(c.names, c.gpuErr), c.names)
		switch {
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: err %v, want one containing %q", c.what, err, c.wantErr)
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", c.what, err)
		case b != c.want:
			t.Errorf("%s: got backend %p, want %p (cpu %p, gpu %p)", c.what, b, c.want, &cpuB, &gpuB)
		case gpuErr != c.wantGPUErr:
			t.Errorf("%s: the GPU's error %v, want %v", c.what, gpuErr, c.wantGPUErr)
		}
	}
}
