package cuda

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCuLinkedOnlyWithTagCuda checks that no package or test of the module
// depends on gorgonia.org/cu unless built with -tags cuda: cu's
// initialisation calls cuInit, and binaries must run on machines without a
// GPU (or a driver).
func TestCuLinkedOnlyWithTagCuda(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command here (a test binary carried to a GPU machine)")
	}
	for _, tags := range []string{"", "cudaemu"} {
		out, err := exec.Command("go", "list", "-deps", "-test", "-tags", tags, "suture/...").CombinedOutput()
		if err != nil {
			t.Fatalf("go list -tags %q: %v\n%s", tags, err, out)
		}
		for _, p := range strings.Fields(string(out)) {
			if strings.HasPrefix(p, "gorgonia.org/cu") {
				t.Errorf("with tags %q, the module depends on %s", tags, p)
			}
		}
	}
	out, err := exec.Command("go", "list", "-deps", "-tags", "cuda", "suture/kernels/cuda").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -tags cuda: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "gorgonia.org/cu\n") {
		t.Errorf("with -tags cuda, kernels/cuda does not depend on gorgonia.org/cu:\n%s", out)
	}
}
