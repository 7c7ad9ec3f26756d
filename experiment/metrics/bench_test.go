package metrics

import (
	"testing"

	"suture/tensor"
)

// BenchmarkHD95 scores one 128x128 prediction with a few blobs against
// another, the size of the paper's larger polyp images.
func BenchmarkHD95(b *testing.B) {
	const h, w = 128, 128
	rng := tensor.NewRNG(3)
	blobs := func() []uint8 {
		m := make([]uint8, h*w)
		for range 3 {
			cy, cx, r := rng.IntN(h), rng.IntN(w), 5+rng.IntN(25)
			for y := range h {
				for x := range w {
					if (y-cy)*(y-cy)+(x-cx)*(x-cx) <= r*r {
						m[y*w+x] = 1
					}
				}
			}
		}
		return m
	}
	pred, ref := blobs(), blobs()
	for b.Loop() {
		if _, err := HD95(pred, ref, h, w, PixelSpacing); err != nil {
			b.Fatal(err)
		}
	}
}
