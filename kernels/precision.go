package kernels

import "fmt"

// Precision names the arithmetic a backend's convolutions and GEMMs use.
type Precision string

const (
	// FP32: float32 operands and sums (every backend's default).
	FP32 Precision = "fp32"
	// BF16: operands rounded to bfloat16 (to nearest even), products summed
	// in float32; weights, optimizer state, norms and losses stay float32.
	BF16 Precision = "bf16"
)

// ParsePrecision reads "fp32" or "bf16".
func ParsePrecision(s string) (Precision, error) {
	switch p := Precision(s); p {
	case FP32, BF16:
		return p, nil
	}
	return "", fmt.Errorf("unknown precision %q (want %s or %s)", s, FP32, BF16)
}

// PrecisionSetter is a backend whose convolutions and GEMMs can run in
// another precision than FP32.
type PrecisionSetter interface {
	SetPrecision(Precision) error
	Precision() Precision
}

// SetPrecision makes b run in precision p: FP32 is every backend's own;
// another precision is an error on a backend that cannot run it.
func SetPrecision(b Backend, p Precision) error {
	if s, ok := b.(PrecisionSetter); ok {
		return s.SetPrecision(p)
	}
	if p == FP32 {
		return nil
	}
	return fmt.Errorf("precision %s: backend %s runs %s only", p, b.Name(), FP32)
}

// PrecisionOf is the precision b runs (FP32 for a backend without a choice).
func PrecisionOf(b Backend) Precision {
	if s, ok := b.(PrecisionSetter); ok {
		return s.Precision()
	}
	return FP32
}
