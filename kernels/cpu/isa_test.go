package cpu

import (
	"fmt"
	"strings"
	"testing"

	"suture/tensor"
)

// forEachISA runs f as a subtest on each path this CPU has, with the path
// set, and restores the path it found.
func forEachISA(t *testing.T, f func(t *testing.T, isa ISA)) {
	t.Helper()
	saved := CurrentISA()
	defer func() {
		if err := SetISA(saved); err != nil {
			t.Fatal(err)
		}
	}()
	for _, isa := range ISAs() {
		if err := SetISA(isa); err != nil {
			t.Fatal(err)
		}
		t.Run(string(isa), func(t *testing.T) { f(t, isa) })
	}
}

// TestISAPaths names the paths the tests of this package run on this CPU
// and those they cannot (CI prints this test's log, so a green run on a
// machine without AVX-512 does not pass for a test of the AVX-512 kernels),
// and checks that forcing a path is refused when it is unknown or missing.
func TestISAPaths(t *testing.T) {
	have := ISAs()
	t.Logf("CPU: %s", CPUModel())
	t.Logf("paths tested: %s", isaList(have))
	var skipped []string
	if !asmAvailable {
		skipped = append(skipped, "avx2 (this CPU lacks AVX2 or FMA)")
	}
	if !avx512Available {
		skipped = append(skipped, "avx512 (this CPU lacks AVX-512 F, BW or VL)")
	}
	if len(skipped) == 0 {
		t.Logf("paths skipped: none")
	} else {
		t.Logf("paths skipped: %s", strings.Join(skipped, "; "))
	}
	t.Logf("AVX512_BF16: %v", HasBF16())
	if have[0] != ISARef {
		t.Fatalf("ISAs() = %v: the ref path must always be there", have)
	}
	saved := CurrentISA()
	defer SetISA(saved)
	if err := SetISA("avx1024"); err == nil || !strings.Contains(err.Error(), `"avx1024"`) {
		t.Errorf("SetISA(avx1024) = %v, want an error naming the path", err)
	}
	for _, isa := range []ISA{ISAAVX2, ISAAVX512} {
		err := SetISA(isa)
		available := strings.Contains(isaList(have), string(isa))
		if available != (err == nil) {
			t.Errorf("SetISA(%s) = %v with paths %v", isa, err, have)
		}
		if err == nil && CurrentISA() != isa {
			t.Errorf("after SetISA(%s) CurrentISA() = %s", isa, CurrentISA())
		}
	}
}

// TestGemmZMatchesGeneric compares the AVX-512 12x32 kernel for 1-12 rows
// with the plain-Go kernel on the four 6x16 quarters, on both store modes,
// with and without bias, at sums around the unrolling (4) and KC, and
// checks that nothing outside the tile is written.
func TestGemmZMatchesGeneric(t *testing.T) {
	if !avx512Available {
		t.Skip("this CPU lacks AVX-512 F, BW or VL: the AVX-512 kernels cannot run here")
	}
	saved := CurrentISA()
	defer SetISA(saved)
	g := tensor.NewRNG(12)
	for rows := 1; rows <= 2*gemmMR; rows++ {
		for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 255, 256, 257} {
			for i, acc := range []bool{false, true, false, true} {
				var bias []float32
				if i >= 2 {
					bias = randSlice(g, rows)
				}
				a0, a1 := randSlice(g, gemmMR*k), randSlice(g, gemmMR*k)
				b0, b1 := randSlice(g, gemmNR*k), randSlice(g, gemmNR*k)
				ldc := 2*gemmNR + 5
				c0 := randSlice(g, (2*gemmMR+1)*ldc)
				want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
				must(t, SetISA(ISARef))
				microGemmZ(rows, k, a0, a1, b0, b1, want, ldc, bias, acc)
				must(t, SetISA(ISAAVX512))
				microGemmZ(rows, k, a0, a1, b0, b1, got, ldc, bias, acc)
				name := fmt.Sprintf("rows %d k %d acc %v bias %v", rows, k, acc, bias != nil)
				if err := tensor.CloseError(name, got, tensor.To64(want), 1e-5*float64(k), 1e-5); err != nil {
					t.Error(err)
				}
				for x := range c0 {
					inside := x < rows*ldc && x%ldc < 2*gemmNR
					if !inside && got[x] != c0[x] {
						t.Errorf("%s: element %d (row %d, column %d) outside the tile changed", name, x, x/ldc, x%ldc)
						break
					}
				}
			}
		}
	}
}

// TestDotZMatchesGeneric compares the AVX-512 8x3 backward-filter dot
// kernel with the plain-Go 4x3 kernel on both row groups, for sums of whole
// 16-lane vectors, with a half-vector tail (masked loads), and long ones,
// and checks that only the 8 outputs of each tap row change.
func TestDotZMatchesGeneric(t *testing.T) {
	if !avx512Available {
		t.Skip("this CPU lacks AVX-512 F, BW or VL: the AVX-512 kernels cannot run here")
	}
	saved := CurrentISA()
	defer SetISA(saved)
	g := tensor.NewRNG(13)
	for _, n := range []int{8, 16, 24, 32, 40, 248, 256, 1024, 1032} {
		ldy := n + 8
		dy := randSlice(g, 2*dotMR*ldy)
		x := randSlice(g, n+40)
		o := [dotNR]int{0, 1, 37}
		ldo := 2*dotMR + 3
		out0 := randSlice(g, dotNR*ldo)
		want, got := append([]float32(nil), out0...), append([]float32(nil), out0...)
		dotKernel4x3Go(n, dy, ldy, x, &o, want, ldo)
		dotKernel4x3Go(n, dy[dotMR*ldy:], ldy, x, &o, want[dotMR:], ldo)
		must(t, SetISA(ISAAVX512))
		microDotZ(n, dy, ldy, x, &o, got, ldo)
		name := fmt.Sprintf("n %d", n)
		if err := tensor.CloseError(name, got, tensor.To64(want), 1e-5*float64(n), 1e-5); err != nil {
			t.Error(err)
		}
		for i := range out0 {
			if i%ldo >= 2*dotMR && got[i] != out0[i] {
				t.Errorf("%s: output %d (tap %d, column %d) outside the 8 rows changed", name, i, i/ldo, i%ldo)
			}
		}
	}
}
