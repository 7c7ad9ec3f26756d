package cuda

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"suture/kernels/cuda/launch"
)

// These tests need no GPU and no tag: they check the committed PTX against
// its sources and the kernel lists against each other.

// sourcesHash is ptx.sh's hash: the nvcc flags, then every *.cu and *.cuh as
// "== name" and its content, names in byte order.
func sourcesHash(t *testing.T) string {
	t.Helper()
	var names []string
	for _, pat := range []string{"*.cu", "*.cuh"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, m...)
	}
	sort.Strings(names)
	h := sha256.New()
	fmt.Fprintf(h, "nvcc -ptx -arch=compute_80 -O3\n")
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "== %s\n", n)
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestPTXMatchesSources(t *testing.T) {
	f, err := os.Open("kernels.ptx")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	got := strings.TrimSpace(strings.TrimPrefix(line, "// sources-sha256:"))
	if want := sourcesHash(t); got != want {
		t.Fatalf("kernels.ptx was generated from sources hashing to %s; they now hash to %s: run make ptx", got, want)
	}
}

// TestCubinMatchesPTX checks that kernels_sm90.cubin was compiled from the
// committed kernels.ptx, as kernels_sm90.txt records (ptx.sh check).
func TestCubinMatchesPTX(t *testing.T) {
	rec, err := os.ReadFile("kernels_sm90.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ key, file string }{{"ptx-sha256", "kernels.ptx"}, {"cubin-sha256", "kernels_sm90.cubin"}} {
		b, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		m := regexp.MustCompile(`(?m)^` + c.key + `: ([0-9a-f]{64})$`).FindSubmatch(rec)
		if m == nil {
			t.Fatalf("kernels_sm90.txt has no %s line", c.key)
		}
		if got := hex.EncodeToString(sum[:]); got != string(m[1]) {
			t.Errorf("%s hashes to %s; kernels_sm90.txt records %s: run make ptx", c.file, got, m[1])
		}
	}
}

// TestPTXHasNoLineInfo: ptxas 11.8 crashes compiling the PTX for sm_90 when
// it carries .loc/.file line information (ptx.sh).
func TestPTXHasNoLineInfo(t *testing.T) {
	b, err := os.ReadFile("kernels.ptx")
	if err != nil {
		t.Fatal(err)
	}
	if loc := regexp.MustCompile(`(?m)^\s*\.(loc|file)\s`).Find(b); loc != nil {
		t.Errorf("kernels.ptx has line information (%q): build it without -lineinfo", loc)
	}
}

// TestKernelListsAgree checks that the PTX's entry points, kernels.def and
// the names the launch code uses are the same set.
func TestKernelListsAgree(t *testing.T) {
	ptx, err := os.ReadFile("kernels.ptx")
	if err != nil {
		t.Fatal(err)
	}
	entries := set(regexp.MustCompile(`(?m)^\.visible \.entry (\w+)\(`).FindAllSubmatch(ptx, -1))
	def, err := os.ReadFile("kernels.def")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^SUTURE_(ENTRY|GEMM_ENTRIES)\((\w+)\)`).FindAllSubmatch(def, -1) {
		if string(m[1]) == "ENTRY" {
			listed[string(m[2])] = true
			continue
		}
		for _, s := range []string{"_s", "_m", "_l"} {
			listed[string(m[2])+s] = true
		}
	}
	used := map[string]bool{}
	for _, n := range launch.KernelNames() {
		used[n] = true
	}
	compare := func(an string, a map[string]bool, bn string, b map[string]bool) {
		for k := range a {
			if !b[k] {
				t.Errorf("%s has %s, %s does not", an, k, bn)
			}
		}
	}
	compare("the PTX", entries, "kernels.def", listed)
	compare("kernels.def", listed, "the PTX", entries)
	compare("the launch code", used, "kernels.def", listed)
	compare("kernels.def", listed, "the launch code", used)
	if len(entries) == 0 {
		t.Fatal("no .entry in kernels.ptx")
	}
}

func set(ms [][][]byte) map[string]bool {
	s := map[string]bool{}
	for _, m := range ms {
		s[string(m[1])] = true
	}
	return s
}
