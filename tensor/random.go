package tensor

import (
	"math"
	"math/rand/v2"
)

// RNG is a seeded random source; the same seed gives the same stream on every
// machine (PCG from math/rand/v2).
type RNG struct{ r *rand.Rand }

// NewRNG returns a generator seeded with seed.
func NewRNG(seed uint64) *RNG {
	return &RNG{r: rand.New(rand.NewPCG(seed, 0x5eed_5117_c4e5))}
}

// Float32 returns a uniform value in [0, 1).
func (g *RNG) Float32() float32 { return g.r.Float32() }

// Float64 returns a uniform value in [0, 1).
func (g *RNG) Float64() float64 { return g.r.Float64() }

// Norm returns a standard normal value.
func (g *RNG) Norm() float64 { return g.r.NormFloat64() }

// IntN returns a uniform integer in [0, n).
func (g *RNG) IntN(n int) int { return g.r.IntN(n) }

// Uint64 returns a uniform 64-bit value.
func (g *RNG) Uint64() uint64 { return g.r.Uint64() }

// Perm returns a random permutation of 0..n-1.
func (g *RNG) Perm(n int) []int { return g.r.Perm(n) }

// Shuffle permutes n items with swap.
func (g *RNG) Shuffle(n int, swap func(i, j int)) { g.r.Shuffle(n, swap) }

// Uniform fills a host tensor with values uniform in [lo, hi).
func (g *RNG) Uniform(t *Tensor, lo, hi float32) {
	for i := range t.Data {
		t.Data[i] = lo + (hi-lo)*g.r.Float32()
	}
}

// Normal fills a host tensor with values from N(mean, std^2).
func (g *RNG) Normal(t *Tensor, mean, std float64) {
	for i := range t.Data {
		t.Data[i] = float32(mean + std*g.r.NormFloat64())
	}
}

// Rand returns a new host tensor of the shape, uniform in [-1, 1).
func (g *RNG) Rand(shape ...int) *Tensor {
	t := New(shape...)
	g.Uniform(t, -1, 1)
	return t
}

// NaNs fills a host tensor with NaN: tests poison outputs this way so that an
// element a kernel forgot to write is caught.
func NaNs(t *Tensor) {
	nan := float32(math.NaN())
	for i := range t.Data {
		t.Data[i] = nan
	}
}
