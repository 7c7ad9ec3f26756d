package cpu

import "sync"

// Fast leaky ReLU: one pass over memory, parts cutting the elements into
// ranges (whole cache lines), with pooled task values so nothing allocates.
// y, x, dx, dy: same length.

type leakyJob struct {
	y, x     []float32 // forward: y = f(x); backward: y is the forward output
	dx, dy   []float32 // backward only
	slope    float32
	backward bool
	done     sync.WaitGroup
}

var leakyJobs = sync.Pool{New: func() any { return new(leakyJob) }}

func (j *leakyJob) runPart(part, parts int) {
	lo, hi := partRange(len(j.y), 16, part, parts)
	if j.backward {
		leakyReLUBackwardRef(j.dx[lo:hi], j.dy[lo:hi], j.y[lo:hi], j.slope)
		return
	}
	leakyReLURef(j.y[lo:hi], j.x[lo:hi], j.slope)
}

func (b *Backend) leakyReLUFast(y, x, dx, dy []float32, slope float32, backward bool) {
	j := leakyJobs.Get().(*leakyJob)
	j.y, j.x, j.dx, j.dy, j.slope, j.backward = y, x, dx, dy, slope, backward
	runParts(j, min(b.threads, max(1, len(y)/minParallel)), &j.done)
	*j = leakyJob{}
	leakyJobs.Put(j)
}
