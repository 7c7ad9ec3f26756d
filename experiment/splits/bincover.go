package splits

import (
	"cmp"
	"slices"
)

// binCover distributes whole groups (lists of sample indices, n samples in
// all) over six bins, the paper's variant of the bidirectional bin-covering
// algorithm of Csirik et al. (1999):
//
//  1. Groups are taken largest first (stable order among equal sizes). The
//     current bin receives groups until the next one would take it past a
//     sixth of the samples; then the next bin is started. An empty bin always
//     takes the next group, so a group larger than a sixth sits alone, and a
//     bin is also closed early when only as many groups remain as there are
//     empty bins after it, so that no bin stays empty.
//  2. Once six bins have been started, the remaining (smallest) groups are
//     deferred: each, largest of them first, goes to the bin with the fewest
//     samples (the first such bin on ties).
//
// Taking the deferred groups largest first is our choice (the paper does not
// say); it is the classic greedy for balancing and gives CVC-ClinicDB parts
// of 100-105 frames.
func binCover(groups [][]int, n int) [NumParts][][]int {
	order := slices.Clone(groups)
	slices.SortStableFunc(order, func(a, b []int) int { return cmp.Compare(len(b), len(a)) })

	var bins [NumParts][][]int
	var sizes [NumParts]int
	b, next := 0, 0
	for next < len(order) && b < NumParts {
		g := order[next]
		remaining := len(order) - next
		emptyAfter := NumParts - 1 - b
		fits := NumParts*(sizes[b]+len(g)) <= n && remaining > emptyAfter
		if sizes[b] == 0 || fits {
			bins[b] = append(bins[b], g)
			sizes[b] += len(g)
			next++
			continue
		}
		b++
	}
	for ; next < len(order); next++ {
		g := order[next]
		least := 0
		for k := 1; k < NumParts; k++ {
			if sizes[k] < sizes[least] {
				least = k
			}
		}
		bins[least] = append(bins[least], g)
		sizes[least] += len(g)
	}
	return bins
}
