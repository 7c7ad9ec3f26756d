package tensor

import (
	"math"
	"testing"
)

// TestFloat16ToFloat32 checks every binary16 value against the definition
// (sign, biased exponent 15, 10-bit fraction; exponent 0 subnormal, 31
// infinity or NaN).
func TestFloat16ToFloat32(t *testing.T) {
	for h := range 1 << 16 {
		got := Float16ToFloat32(uint16(h))
		sign := 1.0
		if h>>15 != 0 {
			sign = -1
		}
		exp, frac := h>>10&0x1f, h&0x3ff
		var want float64
		switch exp {
		case 0:
			want = sign * math.Ldexp(float64(frac), -24)
		case 0x1f:
			if frac != 0 {
				if !math.IsNaN(float64(got)) {
					t.Fatalf("%#04x: %v, want NaN", h, got)
				}
				continue
			}
			want = math.Inf(int(sign))
		default:
			want = sign * math.Ldexp(float64(1024+frac), exp-25)
		}
		if float64(got) != want || math.Signbit(float64(got)) != (sign < 0) {
			t.Fatalf("%#04x: %v, want %v", h, got, want)
		}
	}
	for h, want := range map[uint16]float32{0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x0001: 5.9604645e-08, 0x3555: 0.33325195} {
		if got := Float16ToFloat32(h); got != want {
			t.Errorf("%#04x: %v, want %v", h, got, want)
		}
	}
}
