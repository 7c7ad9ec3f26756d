package cpu

import "golang.org/x/sync/errgroup"

// minParallel is the element count below which splitting work over
// goroutines costs more than it saves for memory-bound loops.
const minParallel = 1 << 15

// forRanges calls fn over [0, n) split into contiguous ranges, one per
// goroutine, when the fast path is on and n is large enough.
func (b *Backend) forRanges(n int, fn func(lo, hi int)) {
	t := b.Threads()
	if t <= 1 || n < minParallel {
		fn(0, n)
		return
	}
	b.forChunks(n, t, fn)
}

// forChunks splits [0, n) into at most parts contiguous ranges run concurrently.
func (b *Backend) forChunks(n, parts int, fn func(lo, hi int)) {
	parts = min(parts, n)
	if parts <= 1 {
		fn(0, n)
		return
	}
	var g errgroup.Group
	for p := 0; p < parts; p++ {
		lo, hi := p*n/parts, (p+1)*n/parts
		g.Go(func() error { fn(lo, hi); return nil })
	}
	_ = g.Wait()
}

// forEach runs fn(i, worker) for i in [0, n), with at most Threads workers;
// worker indexes per-worker scratch space.
func (b *Backend) forEach(n int, fn func(i, worker int)) {
	t := min(b.Threads(), n)
	if t <= 1 {
		for i := 0; i < n; i++ {
			fn(i, 0)
		}
		return
	}
	var g errgroup.Group
	for w := 0; w < t; w++ {
		g.Go(func() error {
			for i := w; i < n; i += t {
				fn(i, w)
			}
			return nil
		})
	}
	_ = g.Wait()
}
