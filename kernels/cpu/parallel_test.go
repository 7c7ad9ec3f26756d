package cpu

import (
	"sync"
	"testing"

	"suture/kernels"
	"suture/tensor"
)

// TestConcurrentCallersShareHelpers: four goroutines run convolutions on
// their own backends at once, so calls find helpers busy with another
// caller's part (and run it themselves); every result must equal the one
// computed alone. Run with -race too.
func TestConcurrentCallersShareHelpers(t *testing.T) {
	g := tensor.NewRNG(19)
	x, w := g.Rand(3, 16, 24, 24), g.Rand(16, 16, 3, 3)
	p := kernels.Conv(1, 1)
	want := tensor.New(3, 16, 24, 24)
	must(t, New(3).Conv2d(want, x, w, nil, p))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	outs := make([]*tensor.Tensor, 4)
	for c := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := New(3)
			y := tensor.New(3, 16, 24, 24)
			for range 50 {
				if err := b.Conv2d(y, x, w, nil, p); err != nil {
					errs[c] = err
					return
				}
			}
			outs[c] = y
		}()
	}
	wg.Wait()
	for c := range outs {
		must(t, errs[c])
		closeTo(t, "concurrent caller", outs[c], want, 0)
	}
}
