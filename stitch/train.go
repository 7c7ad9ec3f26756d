package stitch

import (
	"context"
	"fmt"
	"math"
	"time"

	"suture/autograd"
	"suture/kernels"
	"suture/nn"
	"suture/tensor"
)

// TrainMode selects how stitches learn.
type TrainMode uint8

const (
	// Direct matching: each stitch regresses the other network's feature at
	// its pair (MSE); all stitches in one forward/backward.
	Direct TrainMode = iota
	// Double-batched training (Appendix B, DESIGN.md 6.5).
	Double
)

// ParseMode reads "direct" or "double".
func ParseMode(s string) (TrainMode, error) {
	switch s {
	case "direct":
		return Direct, nil
	case "double":
		return Double, nil
	}
	return 0, fmt.Errorf("stitch mode %q, want direct or double", s)
}

func (m TrainMode) String() string { return [...]string{"direct", "double"}[m] }

// TrainOptions configure stitch training (AdamW, cosine annealing).
type TrainOptions struct {
	Mode          TrainMode
	Epochs        int
	BatchSize     int // unique images per step (double-batched: each runs twice)
	ItersPerEpoch int // 0: ceil(n / BatchSize)
	LR            float32
	WeightDecay   float32
	Seed          uint64
	Mirror        bool // random flips of the training images
	// Precision of the convolutions and GEMMs (kernels.Precision; "" is
	// FP32). Weights, optimizer state and the loss stay float32.
	Precision kernels.Precision `json:",omitempty"`
}

// DefaultTrainOptions returns the defaults used by the CLI.
func DefaultTrainOptions(mode TrainMode) TrainOptions {
	return TrainOptions{Mode: mode, Epochs: 10, BatchSize: 4, LR: 1e-3, WeightDecay: 1e-2, Mirror: true}
}

// StepInfo describes one training step, for tests and profiling.
type StepInfo struct {
	// Terms names every loss term, e.g. "a3 own", "a3 S(b ref)", "b0 S(a alt)".
	Terms []string
	// RefOps and AltOps count module calls on the reference half (no tape)
	// and the alternative half (on the tape).
	RefOps, AltOps int
	// StitchCalls and Selects count stitch convs and per-sample selections
	// recorded on the tape.
	StitchCalls, Selects int
	// Choices[k] holds the per-sample candidates chosen at A's and B's
	// switch k (0 own, 1 stitched reference, 2 stitched alternative).
	Choices [][2][]int
}

// Step runs one training step on the batch x (N, C, H, W) on the model's
// backend: forward, losses, backward. It returns the loss; the caller
// applies the optimizer. The tape must be recording and is reset by the caller.
//
// When the tape's backend profiles, the double-batched step runs in the
// alternative half (kernels.AltHalf) except for the reference half's
// network calls (kernels.RefHalf).
func (m *Model) Step(t *autograd.Tape, mode TrainMode, x *tensor.Tensor, g *tensor.RNG, info *StepInfo) (float64, error) {
	if p := t.Profiler(); p != nil && mode == Double {
		prev := p.Current()
		p.Restore(prev.WithHalf(kernels.AltHalf))
		defer p.Restore(prev)
	}
	var terms []*autograd.Var
	var weights []float32
	var err error
	if mode == Direct {
		terms, weights, err = m.directLosses(t, x, info)
	} else {
		terms, weights, _, err = m.doubleForward(t, x, g, info)
	}
	if err != nil {
		return 0, err
	}
	if len(terms) == 0 {
		return 0, fmt.Errorf("stitch step: no loss terms")
	}
	if p := t.Profiler(); p != nil {
		defer p.Restore(p.Enter("loss"))
	}
	loss, err := t.WeightedSum(terms, weights)
	if err != nil {
		return 0, err
	}
	v, err := t.Value(loss)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v, fmt.Errorf("stitch loss is %v (not finite); lower the learning rate", v)
	}
	return v, t.Backward(loss)
}

// directLosses: both networks run once without a tape; each stitch maps its
// source feature and is compared with the target network's feature.
func (m *Model) directLosses(t *autograd.Tape, x *tensor.Tensor, info *StepInfo) ([]*autograd.Var, []float32, error) {
	ng := t.NoGrad()
	prof := t.Profiler()
	in := autograd.Leaf(x, false)
	var vals [2][]*autograd.Var
	for net, g := range [2]*nn.Graph{m.A, m.B} {
		var prev kernels.Scope
		if prof != nil {
			prev = prof.Enter(netScopes[net])
		}
		v, err := g.Forward(ng, in)
		if prof != nil {
			prof.Restore(prev)
		}
		if err != nil {
			return nil, nil, err
		}
		vals[net] = v
	}
	va, vb := vals[0], vals[1]
	var terms []*autograd.Var
	var ws []float32
	for k, s := range m.Stitches {
		fa, fb := va[s.A.Vertex], vb[s.B.Vertex]
		for src, pair := range [][2]*autograd.Var{{fa, fb}, {fb, fa}} {
			var prev kernels.Scope
			if prof != nil {
				prev = enter(prof, -1, m.scopeNames[k][src])
			}
			y, err := m.stitchConv(k, src).Forward(t, []*autograd.Var{pair[0]})
			var l *autograd.Var
			if err == nil {
				l, err = t.MSE(y, pair[1])
			}
			if prof != nil {
				prof.Restore(prev)
			}
			if err != nil {
				return nil, nil, err
			}
			terms, ws = append(terms, l), append(ws, 1)
			if info != nil {
				info.Terms = append(info.Terms, fmt.Sprintf("%c%d S(%c)", "ba"[src], k, "ab"[src]))
				info.StitchCalls++
			}
		}
	}
	if info != nil {
		info.RefOps = countOps(m.A) + countOps(m.B)
	}
	return terms, ws, nil
}

func countOps(g *nn.Graph) int {
	n := 0
	for _, v := range g.Vertices {
		if v.Op != nil {
			n++
		}
	}
	return n
}

// halves is a node's value in double-batched training: the reference
// (no stitches, no tape) and the alternative; same means the alternative
// equals the reference because no stitch lies upstream.
type halves struct {
	ref, alt *autograd.Var
	same     bool
}

func (h halves) altOrRef() *autograd.Var {
	if h.same {
		return h.ref
	}
	return h.alt
}

// doubleNeeded marks the nodes upstream of some switch: the double-batched
// step computes nothing after the last switch (no loss lies there).
func (m *Model) doubleNeeded() []bool {
	need := make([]bool, len(m.nodes))
	for i := len(m.nodes) - 1; i >= 0; i-- {
		if m.nodes[i].kind == switchNode {
			need[i] = true
		}
		if need[i] {
			for _, u := range m.nodes[i].inputs {
				need[u] = true
			}
		}
	}
	return need
}

// doubleForward runs the double-batched forward and returns the loss
// terms, their weights and every node's (ref, alt). Every node carries
// (ref, alt). At the switch of network N after pair k, with S the stitch
// from the other network O, the candidates for alt are N_alt, S(O_ref) and
// S(O_alt); each gets the loss MSE(candidate, N_ref) (N_alt only when a
// stitch lies upstream of it); the switch passes (N_ref, one candidate per
// sample). The reference half runs on a no-grad tape, so backward never
// touches it.
func (m *Model) doubleForward(t *autograd.Tape, x *tensor.Tensor, g *tensor.RNG, info *StepInfo) ([]*autograd.Var, []float32, []halves, error) {
	d := &doublePass{m: m, t: t, ng: t.NoGrad(), prof: t.Profiler(), g: g, info: info, n: x.Shape[0]}
	need := m.doubleNeeded()
	d.vals = make([]halves, len(m.nodes))
	if info != nil {
		info.Choices = make([][2][]int, m.Pairs())
	}
	for i, nd := range m.nodes {
		if !need[i] {
			continue
		}
		var err error
		switch nd.kind {
		case vertexNode:
			d.vals[i], err = d.vertex(nd, x)
		case stitchNode:
			// computed inside the switch it feeds
		case switchNode:
			d.vals[i], err = d.switchAt(nd)
		}
		if err != nil {
			return nil, nil, nil, err
		}
	}
	return d.terms, d.ws, d.vals, nil
}

// doublePass is doubleForward's state: the tape and its no-grad twin for
// the reference half, the profiler (nil when not profiling), the random
// stream of the switches' choices, the halves of the nodes run so far, and
// the loss terms with their weights.
type doublePass struct {
	m                *Model
	t, ng            *autograd.Tape
	prof             kernels.Profiler
	g                *tensor.RNG
	info             *StepInfo // nil: not filled in
	n                int       // samples in the batch
	vals             []halves  // by node
	terms            []*autograd.Var
	ws               []float32
	refArgs, altArgs []*autograd.Var // scratch for vertex
}

// addTerm adds the loss term MSE(c, target) with weight w, named name.
func (d *doublePass) addTerm(c, target *autograd.Var, w float32, name string) error {
	l, err := d.t.MSE(c, target)
	if err != nil {
		return err
	}
	d.terms, d.ws = append(d.terms, l), append(d.ws, w)
	if d.info != nil {
		d.info.Terms = append(d.info.Terms, name)
	}
	return nil
}

// vertex runs a vertex of A or B: the reference half on the no-grad tape,
// and the alternative half on the tape only when some input's halves
// differ (else the node's halves are the same). An input vertex is x.
func (d *doublePass) vertex(nd node, x *tensor.Tensor) (halves, error) {
	vx := [2]*nn.Graph{d.m.A, d.m.B}[nd.net].Vertices[nd.v]
	if vx.Op == nil {
		return halves{ref: autograd.Leaf(x, false), same: true}, nil
	}
	d.refArgs, d.altArgs = d.refArgs[:0], d.altArgs[:0]
	same := true
	for _, u := range nd.inputs {
		d.refArgs = append(d.refArgs, d.vals[u].ref)
		d.altArgs = append(d.altArgs, d.vals[u].altOrRef())
		same = same && d.vals[u].same
	}
	var prev kernels.Scope
	if d.prof != nil {
		prev = enterHalf(d.prof, kernels.RefHalf, nd.net, vx.Name)
	}
	ref, err := vx.Op.Forward(d.ng, d.refArgs)
	if d.prof != nil {
		d.prof.Restore(prev)
	}
	if err != nil {
		return halves{}, fmt.Errorf("%s (reference): %w", vx.Name, err)
	}
	h := halves{ref: ref, same: same}
	if d.info != nil {
		d.info.RefOps++
	}
	if !same {
		if d.prof != nil {
			prev = enterHalf(d.prof, kernels.AltHalf, nd.net, vx.Name)
		}
		h.alt, err = vx.Op.Forward(d.t, d.altArgs)
		if d.prof != nil {
			d.prof.Restore(prev)
		}
		if err != nil {
			return halves{}, fmt.Errorf("%s (alternative): %w", vx.Name, err)
		}
		if d.info != nil {
			d.info.AltOps++
		}
	}
	return h, nil
}

// switchAt runs the switch of network N = nd.net after pair nd.k: the
// stitch S from the other network O on O's halves (stitchOther), the loss
// terms of the candidates (candidateLosses), and the per-sample choice of
// the alternative half (choose). The losses and the choice run in the
// switch's profiler scope.
func (d *doublePass) switchAt(nd node) (halves, error) {
	own := d.vals[nd.inputs[0]]
	other := d.vals[d.m.nodes[nd.inputs[1]].inputs[0]]
	var name string
	var oname byte
	if d.info != nil {
		name, oname = fmt.Sprintf("%c%d", "ab"[nd.net], nd.k), "ab"[1-nd.net]
	}
	sRef, sAlt, err := d.stitchOther(nd, other)
	var prev kernels.Scope
	if d.prof != nil {
		prev = enterHalf(d.prof, kernels.AltHalf, nd.net, d.m.scopeNames[nd.k][2])
	}
	if err != nil {
		return halves{}, err
	}
	if err := d.candidateLosses(name, oname, own, other, sRef, sAlt); err != nil {
		return halves{}, err
	}
	h, err := d.choose(nd, own, sRef, sAlt)
	if err != nil {
		return halves{}, err
	}
	if d.prof != nil {
		d.prof.Restore(prev)
	}
	return h, nil
}

// stitchOther runs the stitch from the other network into network nd.net
// at pair nd.k, on the tape and in the stitch's profiler scope: on the
// other network's reference (sRef) and, when it differs, its alternative
// (sAlt; else sAlt is sRef).
func (d *doublePass) stitchOther(nd node, other halves) (sRef, sAlt *autograd.Var, err error) {
	conv := d.m.stitchConv(nd.k, 1-nd.net)
	var prev kernels.Scope
	if d.prof != nil {
		prev = enterHalf(d.prof, kernels.AltHalf, -1, d.m.scopeNames[nd.k][1-nd.net])
	}
	sRef, err = conv.Forward(d.t, []*autograd.Var{other.ref})
	calls := 1
	sAlt = sRef
	if err == nil && !other.same {
		sAlt, err = conv.Forward(d.t, []*autograd.Var{other.alt})
		calls++
	}
	if d.prof != nil {
		d.prof.Restore(prev)
	}
	if err == nil && d.info != nil {
		d.info.StitchCalls += calls
	}
	return sRef, sAlt, err
}

// candidateLosses adds a switch's loss terms, each candidate against the
// own reference: the own alternative (only when a stitch lies upstream of
// it), S(O_ref) and S(O_alt); when O's halves are the same, S(O_alt) is
// S(O_ref) and its term only doubles that one's weight. name ("a3") and
// oname ('b') label the terms.
func (d *doublePass) candidateLosses(name string, oname byte, own, other halves, sRef, sAlt *autograd.Var) error {
	target := own.ref
	if !own.same {
		if err := d.addTerm(own.alt, target, 1, name+" own"); err != nil {
			return err
		}
	}
	if err := d.addTerm(sRef, target, 1, fmt.Sprintf("%s S(%c ref)", name, oname)); err != nil {
		return err
	}
	if other.same { // S(O_alt) is S(O_ref): the same term again
		d.ws[len(d.ws)-1]++
		if d.info != nil {
			d.info.Terms = append(d.info.Terms, fmt.Sprintf("%s S(%c alt)", name, oname))
		}
		return nil
	}
	return d.addTerm(sAlt, target, 1, fmt.Sprintf("%s S(%c alt)", name, oname))
}

// choose draws each sample's candidate (0 own, 1 S(O_ref), 2 S(O_alt))
// and returns the switch's halves: the own reference, and as alternative
// the chosen candidates, selected on the tape unless every sample keeps an
// own alternative that is the reference.
func (d *doublePass) choose(nd node, own halves, sRef, sAlt *autograd.Var) (halves, error) {
	choice := make([]int, d.n)
	allOwn := true
	for j := range choice {
		choice[j] = d.g.IntN(3)
		allOwn = allOwn && choice[j] == 0
	}
	if d.info != nil {
		d.info.Choices[nd.k][nd.net] = choice
	}
	h := halves{ref: own.ref, same: own.same && allOwn}
	if !h.same {
		var err error
		if h.alt, err = d.t.SelectSamples([]*autograd.Var{own.altOrRef(), sRef, sAlt}, choice); err != nil {
			return halves{}, err
		}
		if d.info != nil {
			d.info.Selects++
		}
	}
	return h, nil
}

// EpochLog is one row of the stitch training log.
type EpochLog struct {
	Epoch   int     `json:"epoch"`
	Loss    float64 `json:"loss"`
	LR      float64 `json:"lr"`
	Seconds float64 `json:"seconds"`
}

// TrainState is where stitch training stands (saved in checkpoints).
type TrainState struct {
	Epoch   int        `json:"epoch"`
	Iter    int        `json:"iter"`
	LossSum float64    `json:"loss_sum"`
	Log     []EpochLog `json:"log"`
}

// Progress reports stitch training progress.
type Progress struct {
	Epoch, Epochs, Iter, Iters int
	Loss                       float64
}

// Trainer trains all stitches of a Model at once.
type Trainer struct {
	M        *Model
	Opts     TrainOptions
	Opt      *nn.AdamW
	State    TrainState
	Progress func(Progress)
	OnEpoch  func(tr *Trainer) error

	tape  *autograd.Tape
	x     *tensor.Tensor // x: (BatchSize, C, H, W) on the backend
	hostX []float32
}

// NewTrainer prepares stitch training.
func NewTrainer(m *Model, opts TrainOptions) (*Trainer, error) {
	if opts.Epochs < 1 || opts.BatchSize < 1 {
		return nil, fmt.Errorf("stitch training: epochs %d and batch size %d must be >= 1", opts.Epochs, opts.BatchSize)
	}
	opt, err := nn.NewAdamW(m.Params, opts.WeightDecay)
	if err != nil {
		return nil, err
	}
	return &Trainer{M: m, Opts: opts, Opt: opt, tape: autograd.NewTape(m.Backend)}, nil
}

// Fit trains on images (N, C, H, W), host memory, normalised like the base
// networks' inputs. No labels are used. Cancelling ctx stops between steps;
// State then says where, and Fit resumes exactly from it.
func (tr *Trainer) Fit(ctx context.Context, images *tensor.Tensor) error {
	if images == nil || len(images.Shape) != 4 || images.Shape[0] == 0 {
		return fmt.Errorf("stitch training: images %v, want (N, C, H, W) with N >= 1", tensor.ShapeOf(images))
	}
	n, c, h, w := images.Shape[0], images.Shape[1], images.Shape[2], images.Shape[3]
	bs := tr.Opts.BatchSize
	if tr.x == nil {
		var err error
		if tr.x, err = tr.M.Backend.Alloc(bs, c, h, w); err != nil {
			return err
		}
		tr.hostX = make([]float32, bs*c*h*w)
	}
	iters := tr.Opts.ItersPerEpoch
	if iters <= 0 {
		iters = (n + bs - 1) / bs
	}
	total := iters * tr.Opts.Epochs
	sched := nn.Cosine(tr.Opts.LR, 0)
	per := c * h * w
	for tr.State.Epoch < tr.Opts.Epochs {
		start := time.Now()
		var lr float32
		for tr.State.Iter < iters {
			if err := ctx.Err(); err != nil {
				return err
			}
			g := iterRNG(tr.Opts.Seed, tr.State.Epoch, tr.State.Iter)
			loss, err := tr.step(images, g, bs, per, c, h, w)
			if err != nil {
				return fmt.Errorf("epoch %d iteration %d: %w", tr.State.Epoch, tr.State.Iter, err)
			}
			lr = sched(tr.State.Epoch*iters+tr.State.Iter, total)
			if err := tr.optimize(lr); err != nil {
				return err
			}
			tr.State.LossSum += loss
			tr.State.Iter++
			if tr.Progress != nil {
				tr.Progress(Progress{Epoch: tr.State.Epoch, Epochs: tr.Opts.Epochs, Iter: tr.State.Iter, Iters: iters, Loss: loss})
			}
		}
		tr.State.Log = append(tr.State.Log, EpochLog{Epoch: tr.State.Epoch, Loss: tr.State.LossSum / float64(iters), LR: float64(lr), Seconds: time.Since(start).Seconds()})
		tr.State.Epoch++
		tr.State.Iter, tr.State.LossSum = 0, 0
		if tr.OnEpoch != nil {
			if err := tr.OnEpoch(tr); err != nil {
				return err
			}
		}
	}
	return nil
}

// step draws a batch, uploads it and runs the model's step (forward,
// losses, backward); with a profiling backend it opens the profiler's step,
// which optimize closes.
func (tr *Trainer) step(images *tensor.Tensor, g *tensor.RNG, bs, per, c, h, w int) (float64, error) {
	n := images.Shape[0]
	prof := tr.tape.Profiler()
	if prof != nil {
		prof.BeginStep()
		kernels.SetPhase(prof, kernels.PhaseInput)
	}
	for j := 0; j < bs; j++ {
		i := g.IntN(n)
		dst := tr.hostX[j*per : (j+1)*per]
		copy(dst, images.Data[i*per:(i+1)*per])
		if tr.Opts.Mirror && g.IntN(2) == 1 {
			flipW(dst, c, h, w)
		}
	}
	if err := tr.M.Backend.Upload(tr.x, tr.hostX); err != nil {
		return 0, err
	}
	if prof != nil {
		kernels.SetPhase(prof, kernels.PhaseOptimizer)
	}
	if err := tr.M.Params.ZeroGrad(); err != nil {
		return 0, err
	}
	if prof != nil {
		kernels.SetPhase(prof, kernels.PhaseForward)
	}
	loss, err := tr.M.Step(tr.tape, tr.Opts.Mode, tr.x, g, nil)
	tr.tape.Reset()
	return loss, err
}

// optimize applies the update and closes the profiler's step.
func (tr *Trainer) optimize(lr float32) error {
	prof := tr.tape.Profiler()
	if prof != nil {
		kernels.SetPhase(prof, kernels.PhaseOptimizer)
		defer prof.EndStep()
	}
	return tr.Opt.Step(lr)
}

func iterRNG(seed uint64, epoch, iter int) *tensor.RNG {
	return tensor.NewRNG(seed*0x9e3779b97f4a7c15 ^ uint64(epoch)*0xbf58476d1ce4e5b9 ^ uint64(iter)*0x94d049bb133111eb ^ 0x5717c4)
}

// flipW mirrors each (H, W) plane of img (C, H, W) left-right.
func flipW(img []float32, c, h, w int) {
	for r := 0; r < c*h; r++ {
		row := img[r*w : (r+1)*w]
		for i, j := 0, w-1; i < j; i, j = i+1, j-1 {
			row[i], row[j] = row[j], row[i]
		}
	}
}
