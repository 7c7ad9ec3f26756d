package launchtest

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"sync"

	"suture/kernels"
	"suture/kernels/cpu"
	"suture/tensor"
)

// testCase is one call of one op: host tensors (inputs, and outputs with
// their initial values), which of them are outputs, and the call.
type testCase struct {
	op      string // Backend method
	label   string // sizes and variant
	tensors []*tensor.Tensor
	outputs []int // indices into tensors compared after the call
	terms   int   // length of the longest sum behind an output (tolerance)
	wantErr bool  // both backends must return an error
	call    func(b kernels.Backend, ts []*tensor.Tensor) (float64, error)
}

func (c *testCase) name() string { return c.op + " " + c.label }

// Options select the cases.
type Options struct {
	// Only keeps the cases of ops whose name starts with one of these.
	Only []string
	// Large adds cases at U-Net sizes (for real GPUs; slow in the emulator).
	Large bool
	// Trace, when set, records the kernels dev launches (its Record is the
	// backend's launch.Options.OnLaunch); a failing case's error then names
	// the kernels it ran.
	Trace *Trace
	// Workers computes the CPU references of up to this many cases ahead, in
	// parallel with each other and with the device (0 or 1: one at a time).
	Workers int
}

// Trace records kernel names as they are launched.
type Trace struct {
	mu    sync.Mutex
	names []string
}

// Record adds kernel (a launch.Options.OnLaunch function).
func (t *Trace) Record(kernel string) {
	t.mu.Lock()
	if !slices.Contains(t.names, kernel) {
		t.names = append(t.names, kernel)
	}
	t.mu.Unlock()
}

// Take returns the distinct kernels recorded since the last Take, in launch
// order, and clears them.
func (t *Trace) Take() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.names
	t.names = nil
	return n
}

// CaseError is the failure of one case.
type CaseError struct {
	Op, Label string
	Kernels   []string // launched by the case's device call (Options.Trace)
	Err       error
}

func (e *CaseError) Error() string {
	s := fmt.Sprintf("%s %s: %v", e.Op, e.Label, e.Err)
	if len(e.Kernels) > 0 {
		s += " [kernels: " + strings.Join(e.Kernels, ", ") + "]"
	}
	return s
}

func (e *CaseError) Unwrap() error { return e.Err }

func (o Options) keep(op string) bool {
	if len(o.Only) == 0 {
		return true
	}
	for _, p := range o.Only {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// Check runs every selected case on dev and on the CPU reference and returns
// one *CaseError per failing case (nil when all pass).
func Check(dev kernels.Backend, opt Options) []error {
	var sel []testCase
	for _, c := range cases(opt) {
		if opt.keep(c.op) {
			sel = append(sel, c)
		}
	}
	refs, done := references(sel, opt.Workers)
	var errs []error
	for i, c := range sel {
		r := <-refs[i]
		if opt.Trace != nil {
			opt.Trace.Take()
		}
		err := runCase(dev, c, r)
		done()
		if err != nil {
			ce := &CaseError{Op: c.op, Label: c.label, Err: err}
			if opt.Trace != nil {
				ce.Kernels = opt.Trace.Take()
			}
			errs = append(errs, ce)
		}
	}
	return errs
}

// refResult is a case's outputs on the CPU reference.
type refResult struct {
	tensors []*tensor.Tensor
	want    float64
	err     error
}

// references computes the reference side of each case, one channel per case,
// on up to workers goroutines. The consumer calls done after each case it
// has compared: at most workers cases are computed or held ahead of it, which
// bounds the memory of results not yet compared.
func references(cs []testCase, workers int) (out []chan refResult, done func()) {
	out = make([]chan refResult, len(cs))
	for i := range out {
		out[i] = make(chan refResult, 1)
	}
	slots := make(chan struct{}, max(workers, 1))
	go func() {
		for i, c := range cs {
			slots <- struct{}{}
			go func() { out[i] <- reference(c) }()
		}
	}()
	return out, func() { <-slots }
}

func reference(c testCase) (r refResult) {
	defer func() {
		if p := recover(); p != nil {
			r.err = fmt.Errorf("reference panicked: %v", p)
		}
	}()
	r.tensors = make([]*tensor.Tensor, len(c.tensors))
	for i, t := range c.tensors {
		if t != nil {
			r.tensors[i] = t.Clone()
		}
	}
	r.want, r.err = c.call(cpu.NewReference(), r.tensors)
	return r
}

// CaseCount is the number of cases Check runs with opt.
func CaseCount(opt Options) int {
	n := 0
	for _, c := range cases(opt) {
		if opt.keep(c.op) {
			n++
		}
	}
	return n
}

func runCase(dev kernels.Backend, c testCase, ref refResult) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	rts, want, rerr := ref.tensors, ref.want, ref.err
	// Device side: upload everything.
	dts := make([]*tensor.Tensor, len(c.tensors))
	defer func() {
		for _, t := range dts {
			if t != nil {
				dev.Free(t)
			}
		}
	}()
	for i, t := range c.tensors {
		if t == nil {
			continue
		}
		d, err := dev.Alloc(t.Shape...)
		if err != nil {
			return err
		}
		dts[i] = d
		if err := dev.Upload(d, t.Data); err != nil {
			return err
		}
	}
	got, derr := c.call(dev, dts)
	if c.wantErr {
		if rerr == nil {
			return fmt.Errorf("the reference accepted the arguments the case expects to be refused")
		}
		if derr == nil {
			return fmt.Errorf("accepted bad arguments the reference refuses (%v)", rerr)
		}
		return nil
	}
	if rerr != nil {
		return fmt.Errorf("reference failed: %w", rerr)
	}
	if derr != nil {
		return derr
	}
	atol, rtol := tolerance(c.terms)
	var msgs []string
	if !scalarClose(got, want, atol, rtol) {
		msgs = append(msgs, fmt.Sprintf("result %.9g, want %.9g", got, want))
	}
	for _, i := range c.outputs {
		host := make([]float32, dts[i].Numel())
		if err := dev.Download(host, dts[i]); err != nil {
			return err
		}
		if err := tensor.CloseError(fmt.Sprintf("output %d %v", i, rts[i].Shape), host, tensor.To64(rts[i].Data), atol*scaleOf(rts[i].Data), rtol); err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return nil
}

// tolerance grows with the square root of the number of float32 terms summed
// into an output: reordered sums differ by about sqrt(terms) roundings.
func tolerance(terms int) (atol, rtol float64) {
	s := 2e-6 * math.Sqrt(float64(max(terms, 1)))
	return max(s, 1e-6), max(s, 2e-6)
}

// scaleOf is the RMS of v (at least 1): atol is relative to it, so outputs
// that cancel to near zero are judged against the size of their neighbours.
func scaleOf(v []float32) float64 {
	var q float64
	n := 0
	for _, x := range v {
		if !math.IsNaN(float64(x)) {
			q += float64(x) * float64(x)
			n++
		}
	}
	if n == 0 {
		return 1
	}
	return max(1, math.Sqrt(q/float64(n)))
}

func scalarClose(got, want, atol, rtol float64) bool {
	if math.IsNaN(got) != math.IsNaN(want) {
		return false
	}
	if math.IsNaN(got) {
		return true
	}
	return math.Abs(got-want) <= atol*max(1, math.Abs(want))+rtol*math.Abs(want)
}

// gen draws a case's inputs from a generator seeded by the case's name, so a
// case sees the same inputs however the list around it changes.
type gen struct{ rng *tensor.RNG }

func newGen(op, label string) gen {
	h := fnv.New64a()
	h.Write([]byte(op + "/" + label))
	return gen{tensor.NewRNG(h.Sum64())}
}

// rand is uniform in [-1, 1).
func (g gen) rand(shape ...int) *tensor.Tensor { return g.rng.Rand(shape...) }

// pos is uniform in [0.5, 1.5): variances, scales.
func (g gen) pos(shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	g.rng.Uniform(t, 0.5, 1.5)
	return t
}

// nan is an output that must be written.
func nan(shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	tensor.NaNs(t)
	return t
}

// classes is a target (n, 1, h, w) of class indices in [0, k).
func (g gen) classes(n, k, h, w int) *tensor.Tensor {
	t := tensor.New(n, 1, h, w)
	for i := range t.Data {
		t.Data[i] = float32(g.rng.IntN(k))
	}
	return t
}
