package cpu

import (
	"math/bits"
	"sync"
)

// workspace is a Backend's free list of scratch buffers (packing panels,
// padded images, partial sums), so that the hot path does not allocate once
// the buffers of a workload's sizes exist. Buffers come back with arbitrary
// contents.
type workspace struct {
	mu     sync.Mutex
	floats [][]float32
	ints   [][]int
}

// roundCap rounds n up so that sizes differing a little share buffers
// (at most 1/8 more than asked).
func roundCap(n int) int {
	if n <= 256 {
		return 256
	}
	step := 1 << (bits.Len(uint(n)) - 4)
	return (n + step - 1) / step * step
}

// takeBestFit removes from list the smallest buffer holding n and returns
// it cut to n; ok is false when none is large enough.
func takeBestFit[T any](list *[][]T, n int) (buf []T, ok bool) {
	best := -1
	for i, s := range *list {
		if cap(s) >= n && (best < 0 || cap(s) < cap((*list)[best])) {
			best = i
		}
	}
	if best < 0 {
		return nil, false
	}
	l := *list
	buf = l[best][:n]
	l[best] = l[len(l)-1]
	l[len(l)-1] = nil
	*list = l[:len(l)-1]
	return buf, true
}

// maxFree bounds each free list; beyond it the smallest buffers are dropped.
const maxFree = 32

func giveBack[T any](list *[][]T, buf []T) {
	if cap(buf) == 0 {
		return
	}
	if len(*list) >= maxFree {
		small := 0
		for i, s := range *list {
			if cap(s) < cap((*list)[small]) {
				small = i
			}
		}
		if cap((*list)[small]) >= cap(buf) {
			return
		}
		(*list)[small] = buf[:0]
		return
	}
	*list = append(*list, buf[:0])
}

func (w *workspace) getFloats(n int) []float32 {
	w.mu.Lock()
	buf, ok := takeBestFit(&w.floats, n)
	w.mu.Unlock()
	if ok {
		return buf
	}
	return make([]float32, n, roundCap(n))
}

// getZeros is getFloats with the contents cleared.
func (w *workspace) getZeros(n int) []float32 {
	buf := w.getFloats(n)
	clear(buf)
	return buf
}

func (w *workspace) putFloats(buf []float32) {
	w.mu.Lock()
	giveBack(&w.floats, buf)
	w.mu.Unlock()
}

func (w *workspace) getInts(n int) []int {
	w.mu.Lock()
	buf, ok := takeBestFit(&w.ints, n)
	w.mu.Unlock()
	if ok {
		return buf
	}
	return make([]int, n, roundCap(n))
}

func (w *workspace) putInts(buf []int) {
	w.mu.Lock()
	giveBack(&w.ints, buf)
	w.mu.Unlock()
}
