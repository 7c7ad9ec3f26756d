package imageset

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// forEachParallel runs f(0..n-1) on up to GOMAXPROCS goroutines. It returns
// the error of the lowest index that failed, so the error reported does not
// depend on scheduling.
func forEachParallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				errs[i] = f(i)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
