package cpu

import "sync"

// minParallel is the element count below which splitting work over
// goroutines costs more than it saves for memory-bound loops.
const minParallel = 1 << 15

// task is work cut into parts that may run concurrently; runPart(i, parts)
// does part i. Parts must write disjoint memory, so results do not depend on
// which goroutine runs which part or when.
type task interface{ runPart(part, parts int) }

type partCall struct {
	t           task
	part, parts int
	done        *sync.WaitGroup
}

// helpers are long-lived goroutines, shared by all backends, that run parts
// 1.. of a task (part 0 runs on the caller). Reusing them avoids a goroutine
// start per call and, with pooled task values, any allocation per call.
// Parts never start tasks of their own, so helpers cannot wait on themselves.
var helpers struct {
	mu    sync.Mutex
	calls []chan partCall
}

func helper(i int) chan partCall {
	helpers.mu.Lock()
	defer helpers.mu.Unlock()
	for len(helpers.calls) <= i {
		ch := make(chan partCall)
		helpers.calls = append(helpers.calls, ch)
		go func() {
			for c := range ch {
				c.t.runPart(c.part, c.parts)
				c.done.Done()
			}
		}()
	}
	return helpers.calls[i]
}

// runParts runs t's parts 0..parts-1 concurrently and returns when all are
// done; done is a WaitGroup owned by the caller's (pooled) task value.
func runParts(t task, parts int, done *sync.WaitGroup) {
	if parts <= 1 {
		t.runPart(0, 1)
		return
	}
	done.Add(parts - 1)
	for i := 1; i < parts; i++ {
		helper(i - 1) <- partCall{t: t, part: i, parts: parts, done: done}
	}
	t.runPart(0, parts)
	done.Wait()
}

// partRange is part i of [0, n) cut into parts nearly equal ranges whose
// bounds are multiples of unit (except n itself).
func partRange(n, unit, part, parts int) (lo, hi int) {
	units := (n + unit - 1) / unit
	lo = min(n, units*part/parts*unit)
	hi = min(n, units*(part+1)/parts*unit)
	return lo, hi
}
