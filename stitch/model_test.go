package stitch

import (
	"math"
	"strings"
	"testing"

	"suture/autograd"
	"suture/kernels"
	"suture/kernels/cpu"
	"suture/nn"
	"suture/tensor"
)

// chain builds a small network: conv-act, strided conv-act, up-sample,
// concat with the skip, conv-act, 1x1 head. widths sets the channels.
func chain(t *testing.T, b kernels.Backend, c1, c2 int, seed uint64) (*nn.Graph, *nn.ParamSet) {
	t.Helper()
	g := tensor.NewRNG(seed)
	k1, _ := nn.NewConv2d("k1", 3, c1, 3, 1, 1, true, g)
	k2, _ := nn.NewConv2d("k2", c1, c2, 3, 2, 1, true, g)
	up, _ := nn.NewConvTranspose2d("up", c2, c1, 2, 2, true, g)
	k3, _ := nn.NewConv2d("k3", 2*c1, c1, 3, 1, 1, true, g)
	head, _ := nn.NewConv2d("head", c1, 2, 1, 1, 0, true, g)
	gr := &nn.Graph{}
	x := gr.AddInput("input")
	v := gr.Add("k1", k1, x)
	skip := gr.Add("a1", &nn.LeakyReLU{Slope: 0.2}, v)
	v = gr.Add("k2", k2, skip)
	v = gr.Add("a2", &nn.LeakyReLU{Slope: 0.2}, v)
	v = gr.Add("up", up, v)
	v = gr.Add("cat", nn.Concat{}, v, skip)
	v = gr.Add("k3", k3, v)
	v = gr.Add("a3", &nn.LeakyReLU{Slope: 0.2}, v)
	gr.Outputs = []int{gr.Add("head", head, v)}
	set, err := nn.NewParamSet(b, gr.Params())
	if err != nil {
		t.Fatal(err)
	}
	return gr, set
}

func joined(t *testing.T, b kernels.Backend, ca1, ca2, cb1, cb2 int, seedB uint64) *Model {
	t.Helper()
	a, sa := chain(t, b, ca1, ca2, 1)
	bb, sb := chain(t, b, cb1, cb2, seedB)
	sha, err := Shapes(b, a, 3, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	shb, _ := Shapes(b, bb, 3, 8, 8)
	candA, err := Candidates(a, sha, nil)
	if err != nil {
		t.Fatal(err)
	}
	candB, _ := Candidates(bb, shb, nil)
	pairs := Align(Similarity(candA, candB, DefaultMatchOptions()))
	m, err := New(b, a, bb, sa, sb, candA, candB, pairs, 5)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCandidates(t *testing.T) {
	b := cpu.NewReference()
	a, _ := chain(t, b, 4, 6, 1)
	sh, _ := Shapes(b, a, 3, 8, 8)
	cs, err := Candidates(a, sh, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, " "); got != "k1 a1 k2 a2 up cat k3 a3" {
		t.Fatalf("candidates %q (input and output must be excluded)", got)
	}
	for i := 1; i < len(cs); i++ {
		if cs[i].Progress <= cs[i-1].Progress {
			t.Errorf("progress not increasing along the chain: %s %g, %s %g", cs[i-1].Name, cs[i-1].Progress, cs[i].Name, cs[i].Progress)
		}
	}
	// a1 is a skip source (out-degree 2), cat has two inputs: both branch points.
	for _, c := range cs {
		want := c.Name == "a1" || c.Name == "cat"
		if c.Branch != want {
			t.Errorf("%s: branch %v, want %v", c.Name, c.Branch, want)
		}
	}
	if cs[2].H != 4 || cs[2].C != 6 || cs[0].H != 8 {
		t.Errorf("shapes: %+v", cs)
	}
	// Longest paths: a1 lies 2 hops from the input and 7 from the head via
	// the bottleneck, so its progress is 2/9, not 2/5 via the skip.
	if math.Abs(cs[1].Progress-2.0/9) > 1e-12 {
		t.Errorf("a1 progress %g, want 2/9", cs[1].Progress)
	}
}

func TestMatchingDifferentWidthsAndNoCommonScale(t *testing.T) {
	b := cpu.NewReference()
	m := joined(t, b, 4, 6, 3, 5, 2)
	if m.Pairs() != 8 {
		t.Errorf("%d pairs between two chains of 8 candidates, want 8 (one-to-one)", m.Pairs())
	}
	for _, s := range m.Stitches {
		if s.A.Name != s.B.Name || s.A.H != s.B.H {
			t.Errorf("pair %d joins %s and %s", s.Index, s.A.Name, s.B.Name)
		}
		if s.AB.W.Value.Shape[0] != s.B.C || s.AB.W.Value.Shape[1] != s.A.C {
			t.Errorf("stitch %d ab weight %v for %d -> %d channels", s.Index, s.AB.W.Value.Shape, s.A.C, s.B.C)
		}
	}
	// No common scale: candidates at different sizes never match.
	ca := []Candidate{{Name: "x", H: 8, W: 8, Progress: 0.5}}
	cb := []Candidate{{Name: "y", H: 4, W: 4, Progress: 0.5}}
	a, sa := chain(t, b, 2, 2, 1)
	bb, sb := chain(t, b, 2, 2, 2)
	_, err := New(b, a, bb, sa, sb, ca, cb, Align(Similarity(ca, cb, DefaultMatchOptions())), 1)
	if err == nil || !strings.Contains(err.Error(), "no matched pairs") {
		t.Errorf("no common scale: %v", err)
	}
}

func TestCrossingPairsAreRejected(t *testing.T) {
	b := cpu.NewReference()
	m := joined(t, b, 4, 6, 3, 5, 2)
	// Swap the B ends of two pairs: a crossing matching. The combined graph
	// then has a cycle, which buildNodes must detect.
	m.Stitches[1].B, m.Stitches[5].B = m.Stitches[5].B, m.Stitches[1].B
	if err := m.buildNodes(); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("crossing matching: %v", err)
	}
}

func forwardSoftmax(t *testing.T, b kernels.Backend, g *nn.Graph, x *tensor.Tensor) []float32 {
	t.Helper()
	tp := autograd.NewTape(b)
	tp.Recording = false
	vals, err := g.Forward(tp, autograd.Leaf(x, false))
	if err != nil {
		t.Fatal(err)
	}
	p, err := tp.Softmax(vals[g.Outputs[0]])
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), p.Value.Data...)
}

func TestAllOwnIsNetworkA(t *testing.T) {
	b := cpu.New(0)
	m := joined(t, b, 4, 6, 3, 5, 2)
	x := tensor.NewRNG(4).Rand(3, 3, 8, 8)
	want := forwardSoftmax(t, b, m.A, x)
	got, err := m.Probabilities(NetA(m.Pairs()), x, 2)
	if err != nil {
		t.Fatal(err)
	}
	if d := tensor.MaxAbsDiff(got.Data, want); d != 0 {
		t.Errorf("all switches own, output A differs from network A by %g", d)
	}
	wantB := forwardSoftmax(t, b, m.B, x)
	got, _ = m.Probabilities(NetB(m.Pairs()), x, 3)
	if d := tensor.MaxAbsDiff(got.Data, wantB); d != 0 {
		t.Errorf("output B differs from network B by %g", d)
	}
	got, _ = m.Probabilities(Ensemble(m.Pairs()), x, 3)
	for i := range got.Data {
		if math.Abs(float64(got.Data[i]-(want[i]+wantB[i])/2)) > 1e-6 {
			t.Fatalf("ensemble[%d] = %g, want %g", i, got.Data[i], (want[i]+wantB[i])/2)
		}
	}
}

// setIdentity makes every stitch the identity (requires equal channels).
func setIdentity(t *testing.T, m *Model) {
	t.Helper()
	for _, s := range m.Stitches {
		for _, c := range []*nn.Conv2d{s.AB, s.BA} {
			w := c.W.Value
			for i := range w.Data {
				w.Data[i] = 0
			}
			for j := 0; j < w.Shape[0]; j++ {
				w.Data[j*w.Shape[1]+j] = 1
			}
			for i := range c.B.Value.Data {
				c.B.Value.Data[i] = 0
			}
		}
	}
}

func TestIdentityStitchEnsembleOfCopiesIsTheNetwork(t *testing.T) {
	b := cpu.New(0)
	m := joined(t, b, 4, 6, 4, 6, 1) // B is a copy of A: same widths, same seed
	setIdentity(t, m)
	x := tensor.NewRNG(5).Rand(2, 3, 8, 8)
	want := forwardSoftmax(t, b, m.A, x)
	for k := 0; k < m.Pairs(); k++ {
		s, _ := StitchEnsemble(m.Pairs(), k)
		got, err := m.Probabilities(s, x, 2)
		if err != nil {
			t.Fatal(err)
		}
		if d := tensor.MaxAbsDiff(got.Data, want); d > 1e-6 {
			t.Errorf("stitch-ensemble %d differs from the network by %g", k, d)
		}
	}
	all := NetA(m.Pairs())
	for k := range all.A {
		all.A[k], all.B[k] = Stitched, Stitched
	}
	got, _ := m.Probabilities(all, x, 2)
	if d := tensor.MaxAbsDiff(got.Data, want); d > 1e-6 {
		t.Errorf("all switches stitched with identity stitches differ by %g", d)
	}
}

func TestDirectStepTerms(t *testing.T) {
	b := cpu.New(0)
	m := joined(t, b, 4, 6, 3, 5, 2)
	x := tensor.NewRNG(6).Rand(2, 3, 8, 8)
	tp := autograd.NewTape(b)
	var info StepInfo
	if _, err := m.Step(tp, Direct, x, tensor.NewRNG(1), &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Terms) != 2*m.Pairs() || info.Terms[0] != "b0 S(a)" || info.Terms[1] != "a0 S(b)" {
		t.Errorf("direct terms %v", info.Terms)
	}
	// Only stitches and losses are on the tape: both networks ran without it.
	n := len(info.Terms)
	if want := info.StitchCalls + n + (2*n - 1); tp.Len() != want {
		t.Errorf("tape holds %d steps %v, want %d (stitches, losses, weighted sum)", tp.Len(), tp.Ops(), want)
	}
	for _, s := range m.Stitches {
		if s.AB.W.Grad == nil || !anyNonZero(s.AB.W.Grad.Data) || !anyNonZero(s.BA.W.Grad.Data) {
			t.Errorf("stitch %d got no gradient", s.Index)
		}
	}
}

func anyNonZero(x []float32) bool {
	for _, v := range x {
		if v != 0 {
			return true
		}
	}
	return false
}

// TestDoubleBatchedSemantics checks which loss terms exist, what every switch
// outputs, and that the reference half put nothing on the tape.
func TestDoubleBatchedSemantics(t *testing.T) {
	b := cpu.New(0)
	m := joined(t, b, 4, 6, 3, 5, 2)
	x := tensor.NewRNG(7).Rand(4, 3, 8, 8)
	tp := autograd.NewTape(b)
	var info StepInfo
	terms, ws, vals, err := m.doubleForward(tp, x, tensor.NewRNG(3), &info)
	if err != nil {
		t.Fatal(err)
	}
	if info.RefOps == 0 || info.AltOps == 0 || info.AltOps >= info.RefOps {
		t.Errorf("ref ops %d, alt ops %d: the alt half should start after the first switch", info.RefOps, info.AltOps)
	}
	// Switch 0 of each network: nothing stitched upstream, so no "own" term
	// and S(other alt) is S(other ref) counted twice.
	if info.Terms[0] != "a0 S(b ref)" || info.Terms[1] != "a0 S(b alt)" || ws[0] != 2 {
		t.Errorf("first terms %v, weights %v", info.Terms[:4], ws[:2])
	}
	wantTerms := 0
	for i, nd := range m.nodes {
		if nd.kind != switchNode {
			continue
		}
		own := vals[nd.inputs[0]]
		h := vals[i]
		// The reference passes through unchanged and never requires a gradient.
		if h.ref != own.ref || h.ref.RequiresGrad() {
			t.Errorf("switch %c%d: reference half changed or on the tape", "ab"[nd.net], nd.k)
		}
		wantTerms += 3
		if own.same {
			wantTerms--
		}
		other := vals[m.nodes[nd.inputs[1]].inputs[0]]
		choice := info.Choices[nd.k][nd.net]
		if h.same {
			continue
		}
		// Recompute the candidates and check the per-sample choice.
		ng := autograd.NewTape(b)
		ng.Recording = false
		conv := m.stitchConv(nd.k, 1-nd.net)
		sRef, _ := conv.Forward(ng, []*autograd.Var{other.ref})
		sAlt, _ := conv.Forward(ng, []*autograd.Var{other.altOrRef()})
		cands := []*tensor.Tensor{own.altOrRef().Value, sRef.Value, sAlt.Value}
		per := h.alt.Value.Numel() / 4
		for s, c := range choice {
			got := h.alt.Value.Data[s*per : (s+1)*per]
			want := cands[c].Data[s*per : (s+1)*per]
			if d := tensor.MaxAbsDiff(got, want); d > 1e-6 {
				t.Errorf("switch %c%d sample %d: output differs from candidate %d by %g", "ab"[nd.net], nd.k, s, c, d)
			}
		}
	}
	if len(info.Terms) != wantTerms {
		t.Errorf("%d loss terms %v, want %d", len(info.Terms), info.Terms, wantTerms)
	}
	// The tape holds exactly the alt half, the stitches, the selections and
	// the losses: the reference half recorded nothing.
	if want := info.AltOps + info.StitchCalls + info.Selects + len(terms); tp.Len() != want {
		t.Errorf("tape holds %d steps, want %d (alt %d, stitches %d, selects %d, losses %d)", tp.Len(), want, info.AltOps, info.StitchCalls, info.Selects, len(terms))
	}
}

// TestStitchGradientThroughFrozenLayers checks the double-batched gradient of
// the first stitch, which reaches later losses only through frozen layers,
// against central differences.
func TestStitchGradientThroughFrozenLayers(t *testing.T) {
	b := cpu.NewReference()
	m := joined(t, b, 4, 6, 3, 5, 2)
	x := tensor.NewRNG(8).Rand(3, 3, 8, 8)
	loss := func() (float64, error) {
		tp := autograd.NewTape(b)
		if err := m.Params.ZeroGrad(); err != nil {
			return 0, err
		}
		return m.Step(tp, Double, x, tensor.NewRNG(11), nil)
	}
	if _, err := loss(); err != nil {
		t.Fatal(err)
	}
	w := m.Stitches[0].BA.W // B's first feature into A's space
	grad := append([]float32(nil), w.Grad.Data...)
	g := tensor.NewRNG(2)
	const eps = 1e-2
	for trial := 0; trial < 10; trial++ {
		i := g.IntN(len(w.Value.Data))
		orig := w.Value.Data[i]
		w.Value.Data[i] = orig + eps
		up, _ := loss()
		w.Value.Data[i] = orig - eps
		down, _ := loss()
		w.Value.Data[i] = orig
		num := (up - down) / (2 * eps)
		if math.Abs(num-float64(grad[i])) > 2e-2*math.Max(1, math.Abs(num)) {
			t.Errorf("element %d: tape %g, finite difference %g", i, grad[i], num)
		}
	}
}

func TestSettingSpec(t *testing.T) {
	s, err := ParseSetting("out=a,a2=stitched,b0=avg", 4)
	if err != nil {
		t.Fatal(err)
	}
	if s.Out != OutA || s.A[2] != Stitched || s.B[0] != Average || s.StitchedCount() != 2 {
		t.Errorf("parsed %+v", s)
	}
	if back, _ := ParseSetting(s.String(), 4); back.String() != s.String() {
		t.Errorf("round trip %q -> %q", s.String(), back.String())
	}
	for _, bad := range []string{"a4=s", "c1=s", "a1=maybe", "out=c", "a1"} {
		if _, err := ParseSetting(bad, 4); err == nil {
			t.Errorf("spec %q accepted", bad)
		}
	}
	if _, err := ParseSetting("a9=s", 4); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("out-of-range switch: %v", err)
	}
	if _, err := StitchEnsemble(4, 4); err == nil {
		t.Error("stitch-ensemble 4 of 4 accepted")
	}
}
