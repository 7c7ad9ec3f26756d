package cpu

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"suture/tensor"
)

// StopHelpers ends the helper goroutines; the backend keeps working (new
// helpers start), including while StopHelpers runs.
func TestStopHelpers(t *testing.T) {
	b := New(4)
	g := tensor.NewRNG(1)
	a, bb := g.Rand(256, 256), g.Rand(256, 256)
	c := tensor.New(256, 256)
	want := tensor.New(256, 256)
	if err := NewReference().Gemm(want, a, bb, false, false, 1, 0); err != nil {
		t.Fatal(err)
	}
	gemm := func() {
		if err := b.Gemm(c, a, bb, false, false, 1, 0); err != nil {
			t.Error(err)
		}
	}
	gemm()
	base := runtime.NumGoroutine()
	StopHelpers()
	// Goroutines exit right after closing their channel; allow them a moment.
	var after int
	for i := 0; i < 100; i++ {
		if after = runtime.NumGoroutine(); after < base {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if after >= base {
		t.Errorf("%d goroutines before StopHelpers, %d after: none stopped", base, after)
	}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ { // calls while helpers are stopped and restarted
		wg.Add(1)
		go func() {
			defer wg.Done()
			cc := tensor.New(256, 256)
			for j := 0; j < 5; j++ {
				if err := b.Gemm(cc, a, bb, false, false, 1, 0); err != nil {
					t.Error(err)
				}
				if d := tensor.MaxAbsDiff(cc.Data, want.Data); d > 1e-3 {
					t.Errorf("gemm after StopHelpers differs by %g", d)
				}
			}
		}()
		StopHelpers()
	}
	wg.Wait()
	gemm()
	if d := tensor.MaxAbsDiff(c.Data, want.Data); d > 1e-3 {
		t.Errorf("gemm differs by %g", d)
	}
	StopHelpers()
}
