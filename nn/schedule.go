package nn

import "math"

// Schedule gives the learning rate at step t of total steps (t counts from 0).
type Schedule func(t, total int) float32

// Poly is nnU-Net's schedule: base * (1 - t/total)^exponent (exponent 0.9).
func Poly(base float32, exponent float64) Schedule {
	return func(t, total int) float32 {
		if total <= 0 {
			return base
		}
		f := 1 - float64(t)/float64(total)
		return float32(float64(base) * math.Pow(max(f, 0), exponent))
	}
}

// Cosine anneals from base to minLR over total steps without restarts.
func Cosine(base, minLR float32) Schedule {
	return func(t, total int) float32 {
		if total <= 0 {
			return base
		}
		f := min(float64(t)/float64(total), 1)
		return minLR + float32(0.5*float64(base-minLR)*(1+math.Cos(math.Pi*f)))
	}
}

// Warmup ramps linearly from base/warm to the inner schedule's value over the
// first warm steps, then follows inner over the remaining steps.
func Warmup(warm int, inner Schedule) Schedule {
	return func(t, total int) float32 {
		if t < warm {
			return inner(0, total-warm) * float32(t+1) / float32(warm)
		}
		return inner(t-warm, total-warm)
	}
}
