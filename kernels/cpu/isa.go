package cpu

import (
	"fmt"
	"os"
	"strings"
)

// ISA names a path of the fast backend's micro-kernels. Every path has the
// same drivers (packing, blocking, parallel parts) and differs only in the
// innermost kernels, so tests cross-check each path against the plain
// references at the same sizes.
type ISA string

const (
	// ISARef runs the plain-Go micro-kernels (no assembly): the path of a
	// CPU without AVX2, and the generic path tests compare the others with.
	ISARef ISA = "ref"
	// ISAAVX2 runs the AVX2+FMA assembly kernels (8 float32 lanes).
	ISAAVX2 ISA = "avx2"
	// ISAAVX512 runs the AVX-512 kernels (16 lanes, 32 registers) where
	// there is one, and the AVX2 kernels elsewhere.
	ISAAVX512 ISA = "avx512"
)

// ISAEnv is the environment variable that forces a path: ref, avx2 or
// avx512 (any case; empty is the same as unset).
const ISAEnv = "SUTURE_ISA"

// useAVX512 selects the AVX-512 kernels where one exists; it implies useAsm.
var useAVX512 = avx512Available

// isaEnvErr is the error of a SUTURE_ISA this process cannot honour; the
// registered "cpu" backend returns it, so the command that asked for the
// cpu backend fails with it instead of running another path.
var isaEnvErr error

func init() {
	v := strings.ToLower(strings.TrimSpace(os.Getenv(ISAEnv)))
	if v == "" {
		return // unset or empty: the best path this CPU has
	}
	if err := SetISA(ISA(v)); err != nil {
		isaEnvErr = fmt.Errorf("%s=%s: %w", ISAEnv, v, err)
	}
}

// ISAs lists the paths this CPU can run, slowest first (ref is always there).
func ISAs() []ISA {
	out := []ISA{ISARef}
	if asmAvailable {
		out = append(out, ISAAVX2)
	}
	if avx512Available {
		out = append(out, ISAAVX512)
	}
	return out
}

// CurrentISA is the path the fast backend runs now.
func CurrentISA() ISA {
	switch {
	case useAVX512:
		return ISAAVX512
	case useAsm:
		return ISAAVX2
	}
	return ISARef
}

// SetISA makes the fast backend run path isa from now on, for the whole
// process; it is an error to ask for an unknown path or one this CPU lacks.
// It is not safe to call while ops run.
func SetISA(isa ISA) error {
	switch isa {
	case ISARef, ISAAVX2, ISAAVX512:
	default:
		return fmt.Errorf("unknown instruction-set path %q (want %s, %s or %s)", isa, ISARef, ISAAVX2, ISAAVX512)
	}
	for _, have := range ISAs() {
		if have == isa {
			useAsm = isa != ISARef
			useAVX512 = isa == ISAAVX512
			return nil
		}
	}
	return fmt.Errorf("this CPU cannot run the %s path (it has %s)", isa, isaList(ISAs()))
}

// HasBF16 reports whether this CPU has AVX512_BF16 (VDPBF16PS).
func HasBF16() bool { return bf16Available }

func isaList(l []ISA) string {
	s := make([]string, len(l))
	for i, v := range l {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// CPUModel is the processor's name as /proc/cpuinfo gives it, with its
// family and model numbers ("AMD EPYC (family 25, model 17)"), or "unknown".
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	var name, family, model string
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case k == "model name" && name == "":
			name = v
		case k == "cpu family" && family == "":
			family = v
		case k == "model" && model == "":
			model = v
		}
	}
	if name == "" {
		return "unknown"
	}
	if family != "" {
		return fmt.Sprintf("%s (family %s, model %s)", name, family, model)
	}
	return name
}
