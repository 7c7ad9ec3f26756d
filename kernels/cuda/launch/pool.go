package launch

import (
	"errors"
	"fmt"
	"sync"
)

// allocation is one block of device memory from the driver.
type allocation struct {
	ptr   Ptr
	bytes int64 // rounded size: the pool's free-list key
	pool  *pool
	freed bool
}

// pool is a caching allocator: freed blocks go to a free list keyed by their
// rounded size and are handed out again without a cuMemAlloc (which
// synchronises the device and costs far more than a kernel). All work runs
// on one stream, so a block freed after a launch may be reused by the next
// launch: the stream orders them.
type pool struct {
	drv     Driver
	noCache bool // every get and put goes to the driver (exact sizes for ASan)

	mu     sync.Mutex
	free   map[int64][]Ptr
	cached int64 // bytes in free lists
	inUse  int64 // bytes handed out
}

func newPool(drv Driver, noCache bool) *pool {
	return &pool{drv: drv, noCache: noCache, free: map[int64][]Ptr{}}
}

// roundSize rounds a request to its size class: multiples of 512 bytes below
// 1 MiB, eight classes per power of two above (at most 12.5% unused).
func roundSize(bytes int64) int64 {
	if bytes <= 0 {
		return 512
	}
	if bytes < 1<<20 {
		return (bytes + 511) &^ 511
	}
	step := int64(1)
	for step<<4 <= bytes {
		step <<= 1
	}
	return (bytes + step - 1) / step * step
}

// get returns a block of at least bytes.
func (p *pool) get(bytes int64) (*allocation, error) {
	size := bytes
	if !p.noCache {
		size = roundSize(bytes)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if list := p.free[size]; len(list) > 0 {
		ptr := list[len(list)-1]
		p.free[size] = list[:len(list)-1]
		p.cached -= size
		p.inUse += size
		return &allocation{ptr: ptr, bytes: size, pool: p}, nil
	}
	ptr, err := p.drv.Alloc(size)
	if errors.Is(err, ErrOutOfMemory) && p.cached > 0 {
		if terr := p.trimLocked(); terr != nil {
			return nil, terr
		}
		ptr, err = p.drv.Alloc(size)
	}
	if err != nil {
		if errors.Is(err, ErrOutOfMemory) {
			return nil, fmt.Errorf("%w: %s of %s requested with %s in use (%v)",
				ErrOutOfMemory, p.drv.Name(), formatBytes(size), formatBytes(p.inUse), err)
		}
		return nil, err
	}
	p.inUse += size
	return &allocation{ptr: ptr, bytes: size, pool: p}, nil
}

// put returns a block to the free list (or the driver, without caching).
func (p *pool) put(a *allocation) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a.freed {
		return nil
	}
	a.freed = true
	p.inUse -= a.bytes
	if p.noCache {
		return p.drv.Free(a.ptr)
	}
	p.free[a.bytes] = append(p.free[a.bytes], a.ptr)
	p.cached += a.bytes
	return nil
}

// trim releases every cached block to the driver.
func (p *pool) trim() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.trimLocked()
}

func (p *pool) trimLocked() error {
	var first error
	for size, list := range p.free {
		for _, ptr := range list {
			if err := p.drv.Free(ptr); err != nil && first == nil {
				first = err
			}
		}
		delete(p.free, size)
	}
	p.cached = 0
	return first
}

// stats reports bytes in use and bytes cached.
func (p *pool) stats() (inUse, cached int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse, p.cached
}

func formatBytes(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	default:
		return fmt.Sprintf("%d B", b)
	}
}
