package cpu

import (
	"math"
	"sync"
)

// The fast softmax and softmax+cross-entropy: the reference's arithmetic
// (softmaxRef's exponentials and divisions, so p is the same bit for bit),
// each exponential computed once, parallel over blocks of lossBlock pixels
// of a sample. The loss is summed per block in float64 and the blocks in
// order, so its value does not depend on the thread count; it differs from
// crossEntropyRef's (which takes the exponentials again, shifted in
// float64) by rounding only.

const lossBlock = 4096

type lossJob struct {
	p, x, t  []float32 // t nil: softmax only
	n, k, s  int
	partial  []float64 // per block: sum of -log p[target]
	blocksPS int       // blocks per sample
	done     partsDone
}

var lossJobs = sync.Pool{New: func() any { return new(lossJob) }}

func (j *lossJob) runPart(part, parts int) {
	units := j.n * j.blocksPS
	u0, u1 := partRange(units, 1, part, parts)
	for u := u0; u < u1; u++ {
		i, blk := u/j.blocksPS, u%j.blocksPS
		j0, j1 := blk*lossBlock, min(j.s, (blk+1)*lossBlock)
		var loss float64
		for px := j0; px < j1; px++ {
			base := i*j.k*j.s + px
			mx := float32(math.Inf(-1))
			for c := 0; c < j.k; c++ {
				mx = max(mx, j.x[base+c*j.s])
			}
			var z float64
			for c := 0; c < j.k; c++ {
				v := math.Exp(float64(j.x[base+c*j.s] - mx))
				j.p[base+c*j.s] = float32(v)
				z += v
			}
			for c := 0; c < j.k; c++ {
				j.p[base+c*j.s] = float32(float64(j.p[base+c*j.s]) / z)
			}
			if j.t != nil {
				tc := int(j.t[i*j.s+px])
				loss += float64(mx) + math.Log(z) - float64(j.x[base+tc*j.s])
			}
		}
		j.partial[u] = loss
	}
}

// softmaxLoss runs softmax (t nil) or softmax+cross-entropy over (n, k, s)
// on up to threads goroutines and returns the mean loss (0 for softmax).
func (b *Backend) softmaxLoss(p, x, t []float32, n, k, s int) float64 {
	j := lossJobs.Get().(*lossJob)
	j.p, j.x, j.t, j.n, j.k, j.s = p, x, t, n, k, s
	j.blocksPS = (s + lossBlock - 1) / lossBlock
	units := n * j.blocksPS
	if cap(j.partial) < units {
		j.partial = make([]float64, units) // kept with the pooled job
	}
	j.partial = j.partial[:units]
	runParts(j, min(b.threads, units, max(1, n*k*s/minParallel)), &j.done)
	var loss float64
	for _, v := range j.partial {
		loss += v
	}
	*j = lossJob{partial: j.partial[:0]}
	lossJobs.Put(j)
	if t == nil {
		return 0
	}
	return loss / float64(n*s)
}
