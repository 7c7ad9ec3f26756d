package profile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"suture/bench/profile/internal/wrapgen"
)

// TestBackendIsGenerated regenerates backend.go from the kernels.Backend
// interface in memory and compares it with the file: a change of the
// interface or of the generator without `go generate ./bench/profile`
// fails here.
func TestBackendIsGenerated(t *testing.T) {
	want, err := wrapgen.Generate(filepath.Join("..", "..", "kernels"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("backend.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("backend.go is not what gen_wrappers.go makes of kernels.Backend now; run go generate ./bench/profile")
	}
}
