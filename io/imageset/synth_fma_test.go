package imageset

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestNoFusedMultiplyAdd guards Synth's determinism across machines: it
// compiles this package for arm64 (whose compiler fuses a*b+c into one
// rounding where the source allows it) and fails if any fused
// multiply-add instruction appears. Removing the explicit conversion in mul
// makes dozens appear, so the check is not vacuous.
func TestNoFusedMultiplyAdd(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the package for arm64; skipped in -short mode")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found (%v); skipping the arm64 code check", err)
	}
	cmd := exec.Command(goTool, "build", "-o", os.DevNull, "-gcflags=suture/io/imageset=-S", ".")
	cmd.Env = append(os.Environ(), "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build for arm64: %v\n%s", err, out)
	}
	asm := string(out)
	if !strings.Contains(asm, "synthScene STEXT") {
		t.Fatalf("no assembly listing for synthScene in the compiler output (%d bytes)", len(out))
	}
	fused := regexp.MustCompile(`(?m)^\s+0x.*\s(FMADD[DS]|FMSUB[DS]|FNMADD[DS]|FNMSUB[DS])\s.*$`)
	if found := fused.FindAllString(asm, 5); len(found) > 0 {
		t.Fatalf("fused multiply-adds in arm64 code (results would differ from amd64):\n%s", strings.Join(found, "\n"))
	}
}
