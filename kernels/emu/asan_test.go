//go:build cudaemu && asan

package emu

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"suture/kernels/cuda/launch"
)

// TestASanFindsOutOfBoundsWrite runs a kernel that writes one element past
// its buffer, in a child process (AddressSanitizer ends the process it
// reports in), and checks the report names the .cu file and line.
func TestASanFindsOutOfBoundsWrite(t *testing.T) {
	if os.Getenv("SUTURE_EMU_ASAN_CHILD") == "1" {
		d := NewDriver(Options{})
		p, err := d.Alloc(4 * 100)
		if err != nil {
			t.Fatal(err)
		}
		var a launch.Args
		a.Ptr(p).Int(100)
		d.Launch("selftest_write_past_end", dim(1, 1, 1), dim(128, 1, 1), &a)
		t.Fatal("the out-of-bounds write was not reported")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestASanFindsOutOfBoundsWrite$", "-test.v")
	cmd.Env = append(os.Environ(), "SUTURE_EMU_ASAN_CHILD=1")
	out, _ := cmd.CombinedOutput()
	report := string(out)
	if strings.Contains(report, "heap-buffer-overflow") && !strings.Contains(report, "selftest_write_past_end") {
		t.Fatalf("AddressSanitizer found the overflow but could not name the kernel: build the test with " +
			"-ldflags='-s=false -w=false -compressdwarf=false' (go test strips DWARF by default; make test-emu-asan keeps it)")
	}
	for _, want := range []string{"AddressSanitizer", "heap-buffer-overflow", "selftest_kernels.cu:30"} {
		if !strings.Contains(report, want) {
			t.Fatalf("the child's report lacks %q:\n%s", want, report)
		}
	}
	i := strings.Index(report, "WRITE of size 4")
	if i < 0 {
		t.Fatalf("the child's report does not describe a 4-byte write:\n%s", report)
	}
	t.Logf("AddressSanitizer: %s", strings.SplitN(report[i:], "\n", 3)[:2])
}
