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

// OrFP32 is p, or FP32 for the zero value (settings and checkpoints leave
// FP32 out, so that they read as they did before there was a choice).
func (p Precision) OrFP32() Precision {
	if p == "" {
		return FP32
	}
	return p
}

// Stored is p as settings and checkpoints record it: "" for FP32.
func (p Precision) Stored() Precision {
	if p == FP32 {
		return ""
	}
	return p
}

// ParsePrecision reads "fp32" or "bf16".
func ParsePrecision(s string) (Precision, error) {
	switch p := Precision(s); p {
	case FP32, BF16:
		return p, nil
	}
	return "", fmt.Errorf("unknown precision %q (want %s or %s)", s, FP32, BF16)
}

// UsePrecision makes b run in precision p unless it already does (so that
// jobs sharing a backend in one precision never write to it).
func UsePrecision(b Backend, p Precision) error {
	if PrecisionOf(b) == p.OrFP32() {
		return nil
	}
	return SetPrecision(b, p)
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
	p = p.OrFP32()
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
