package segment

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A program that uses only the embedding API (testdata/embed: load a
// model, segment an image, write the mask) links neither the plotting
// libraries nor package experiment, and its binary stays under 6.5 MB (6.0
// MB at the end of 2026-12-06; the stride-2 and conv-transpose kernels of
// 2026-12-07 took it to 6,001,735 bytes).
func TestEmbeddingProgramLinksLittle(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	deps, err := exec.Command(goTool, "list", "-deps", "./testdata/embed").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, deps)
	}
	for _, p := range strings.Fields(string(deps)) {
		if strings.HasPrefix(p, "gonum.org/v1/plot") || p == "suture/experiment" || strings.HasPrefix(p, "suture/experiment/") {
			t.Errorf("the embedding program links %s", p)
		}
	}
	if !strings.Contains(string(deps), "suture/segment") {
		t.Fatalf("go list -deps does not list suture/segment:\n%s", deps)
	}
	bin := filepath.Join(t.TempDir(), "embed")
	if out, err := exec.Command(goTool, "build", "-o", bin, "./testdata/embed").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("embedding program: %d bytes (default build flags)", st.Size())
	if st.Size() >= 6_500_000 {
		t.Errorf("embedding program is %d bytes, want under 6.5 MB", st.Size())
	}
}
