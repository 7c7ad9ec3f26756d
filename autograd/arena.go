package autograd

import (
	"suture/kernels"
	"suture/tensor"
)

// Arena recycles backend tensors by element count. Training steps repeat the
// same shapes, so after the first step every request is served from the free
// lists. It is not safe for concurrent use.
type Arena struct {
	b     kernels.Backend
	free  map[int][]*tensor.Tensor
	inUse []*tensor.Tensor
}

// NewArena returns an empty arena on backend b.
func NewArena(b kernels.Backend) *Arena {
	return &Arena{b: b, free: map[int][]*tensor.Tensor{}}
}

// Get returns a tensor of the shape with unspecified contents.
func (a *Arena) Get(shape ...int) (*tensor.Tensor, error) {
	n := tensor.Shape(shape).Numel()
	if l := a.free[n]; len(l) > 0 {
		t := l[len(l)-1]
		a.free[n] = l[:len(l)-1]
		t.Shape = append(t.Shape[:0], shape...)
		a.inUse = append(a.inUse, t)
		return t, nil
	}
	t, err := a.b.Alloc(shape...)
	if err != nil {
		return nil, err
	}
	a.inUse = append(a.inUse, t)
	return t, nil
}

// Zeros is Get followed by a fill with zeros.
func (a *Arena) Zeros(shape ...int) (*tensor.Tensor, error) {
	t, err := a.Get(shape...)
	if err != nil {
		return nil, err
	}
	return t, a.b.Fill(t, 0)
}

// Release returns every tensor handed out since the last Release.
func (a *Arena) Release() {
	for _, t := range a.inUse {
		n := t.Numel()
		a.free[n] = append(a.free[n], t)
	}
	a.inUse = a.inUse[:0]
}

// Drop frees all cached tensors.
func (a *Arena) Drop() {
	a.Release()
	for n, l := range a.free {
		for _, t := range l {
			a.b.Free(t)
		}
		delete(a.free, n)
	}
}

// Put returns one tensor handed out since the last Release to the free list,
// for a caller that knows nothing reads it any more (a forward pass without
// gradients frees a vertex's value after its last reader). A tensor the
// arena did not hand out, or already returned, is left alone.
func (a *Arena) Put(t *tensor.Tensor) {
	for i, u := range a.inUse {
		if u == t {
			last := len(a.inUse) - 1
			a.inUse[i] = a.inUse[last]
			a.inUse[last] = nil
			a.inUse = a.inUse[:last]
			n := t.Numel()
			a.free[n] = append(a.free[n], t)
			return
		}
	}
}
