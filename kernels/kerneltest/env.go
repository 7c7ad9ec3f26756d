package kerneltest

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"runtime/debug"

	"suture/kernels"
	"suture/tensor"
)

// env is the working state of one op test: the backend under test, the
// reporter, and for the current case its label, seeded random source, the
// device tensors to free and the inputs that must come out unchanged.
type env struct {
	r  Reporter
	b  kernels.Backend
	op string

	label  string
	seed   uint64
	rng    *tensor.RNG
	allocs []*tensor.Tensor
	inputs []deviceInput

	count counts
}

// counts tallies what an op test checked, so the suite's own tests can show
// that every op is covered the way the package documentation claims.
type counts struct {
	cases, compared, fd, errs int
	// refused counts cases the backend declined with ErrNotImplemented;
	// refusal names the first.
	refused int
	refusal string
}

// deviceInput is an input tensor and the values it was given.
type deviceInput struct {
	t    *tensor.Tensor
	host []float32
}

// abortCase is panicked by must to end the current case once it has reported.
type abortCase struct{}

// seedFor derives a case's seed from its op and label, so a case draws the
// same inputs however the cases around it change.
func seedFor(op, label string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(op + "/" + label))
	return h.Sum64()
}

// run runs one case: fresh seeded inputs, failures reported with the label,
// a panic in the backend reported instead of ending the test binary.
func (e *env) run(label string, body func()) {
	e.r.Helper()
	e.label = label
	e.seed = seedFor(e.op, label)
	e.rng = tensor.NewRNG(e.seed)
	e.count.cases++
	defer e.finish()
	body()
	e.checkInputs()
}

func (e *env) finish() {
	if p := recover(); p != nil {
		if _, ok := p.(abortCase); !ok {
			e.fail("panicked: %v\n%s", p, debug.Stack())
		}
	}
	for _, t := range e.allocs {
		e.b.Free(t)
	}
	e.allocs, e.inputs = nil, nil
}

func (e *env) fail(format string, args ...any) {
	e.r.Helper()
	e.r.Errorf("%s [%s, seed %#x]: %s", e.b.Name(), e.label, e.seed, fmt.Sprintf(format, args...))
}

// must reports a non-nil err and ends the case. A backend may decline a
// case with kernels.ErrNotImplemented (callers then fall back to the CPU):
// that ends the case and is counted; runOp fails the op unless the backend
// lists it as unsupported (kernels.Limited).
func (e *env) must(err error, what string) {
	e.r.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, kernels.ErrNotImplemented) {
		if e.count.refused == 0 {
			e.count.refusal = fmt.Sprintf("[%s] %s: %v", e.label, what, err)
		}
		e.count.refused++
		panic(abortCase{})
	}
	e.fail("%s: %v", what, err)
	panic(abortCase{})
}

// vals returns n random values with magnitude in [minScale, 1) and random sign:
// never zero, and away from the kink of leaky ReLU by more than the
// finite-difference step.
func (e *env) vals(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		m := minScale + (1-minScale)*e.rng.Float32()
		if e.rng.IntN(2) == 0 {
			m = -m
		}
		v[i] = m
	}
	return v
}

// uniform returns n values uniform in [lo, hi).
func (e *env) uniform(n int, lo, hi float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = lo + (hi-lo)*e.rng.Float32()
	}
	return v
}

// classes returns n random class indices in [0, k) as float32.
func (e *env) classes(n, k int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(e.rng.IntN(k))
	}
	return v
}

// alloc makes a backend tensor that is freed at the end of the case.
func (e *env) alloc(shape ...int) *tensor.Tensor {
	e.r.Helper()
	t, err := e.b.Alloc(shape...)
	e.must(err, fmt.Sprintf("alloc %v", tensor.Shape(shape)))
	e.allocs = append(e.allocs, t)
	return t
}

// zeros is alloc under a name that reads well in the error cases.
func (e *env) zeros(shape ...int) *tensor.Tensor {
	e.r.Helper()
	return e.alloc(shape...)
}

// tryAlloc is alloc for shapes a backend may refuse (empty ones).
func (e *env) tryAlloc(shape ...int) (*tensor.Tensor, bool) {
	t, err := e.b.Alloc(shape...)
	if err != nil {
		return nil, false
	}
	e.allocs = append(e.allocs, t)
	return t, true
}

func (e *env) upload(t *tensor.Tensor, v []float32) {
	e.r.Helper()
	e.must(e.b.Upload(t, v), fmt.Sprintf("upload to %v", t.Shape))
}

// in uploads an input; the case checks at its end that the op left it unchanged.
func (e *env) in(v []float32, shape ...int) *tensor.Tensor {
	e.r.Helper()
	t := e.alloc(shape...)
	e.upload(t, v)
	e.inputs = append(e.inputs, deviceInput{t, v})
	return t
}

// inOrNil is in, or nil when v is nil (optional arguments).
func (e *env) inOrNil(v []float32, shape ...int) *tensor.Tensor {
	if v == nil {
		return nil
	}
	return e.in(v, shape...)
}

// acc uploads a tensor the op reads and writes: an accumulated gradient, an
// in-place output, optimizer state.
func (e *env) acc(v []float32, shape ...int) *tensor.Tensor {
	e.r.Helper()
	t := e.alloc(shape...)
	e.upload(t, v)
	return t
}

// accOrNil is acc, or nil when v is nil (optional gradients).
func (e *env) accOrNil(v []float32, shape ...int) *tensor.Tensor {
	if v == nil {
		return nil
	}
	return e.acc(v, shape...)
}

// out allocates a forward output poisoned with NaN, so that any element the
// op does not write fails the comparison.
func (e *env) out(shape ...int) *tensor.Tensor {
	e.r.Helper()
	t := e.alloc(shape...)
	e.upload(t, nans(t.Numel()))
	return t
}

func (e *env) down(t *tensor.Tensor) []float32 {
	e.r.Helper()
	v := make([]float32, t.Numel())
	e.must(e.b.Download(v, t), fmt.Sprintf("download %v", t.Shape))
	return v
}

func (e *env) checkInputs() {
	e.r.Helper()
	for _, in := range e.inputs {
		got := e.down(in.t)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(in.host[i]) {
				e.fail("input %v was modified: [%d] is %g, was %g", in.t.Shape, i, got[i], in.host[i])
				break
			}
		}
	}
}

// expectError checks that call returns an error and does not panic.
func (e *env) expectError(what string, call func() error) {
	e.r.Helper()
	e.count.errs++
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(abortCase); ok {
				panic(p) // the case's own set-up failed and has reported
			}
			e.fail("%s: panicked instead of returning an error: %v", what, p)
		}
	}()
	if err := call(); err == nil {
		e.fail("%s: no error", what)
	}
}

func nans(n int) []float32 {
	v := make([]float32, n)
	nan := float32(math.NaN())
	for i := range v {
		v[i] = nan
	}
	return v
}

// to64 widens v; nil stays nil (an absent optional argument).
func to64(v []float32) []float64 {
	if v == nil {
		return nil
	}
	return tensor.To64(v)
}

// plus returns a + b element-wise: prefilled gradient plus contribution.
func plus(a []float32, b []float64) []float64 {
	s := make([]float64, len(a))
	for i := range a {
		s[i] = float64(a[i]) + b[i]
	}
	return s
}

func numel(shape ...int) int { return tensor.Shape(shape).Numel() }
