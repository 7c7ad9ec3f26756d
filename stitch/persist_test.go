package stitch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"suture/kernels"
	"suture/kernels/cpu"
	"suture/nn"
	"suture/tensor"
)

// chainNet is a Base over the test network of chain: its meta is the two
// widths and its seed, its fingerprint the widths and the weights.
type chainNet struct {
	g      *nn.Graph
	set    *nn.ParamSet
	C1, C2 int
}

func (c *chainNet) Net() (*nn.Graph, *nn.ParamSet) { return c.g, c.set }
func (c *chainNet) CheckInput(ch, h, w int) error {
	if ch != 3 || h%2 != 0 || w%2 != 0 {
		return fmt.Errorf("chain: input (%d, %d, %d)", ch, h, w)
	}
	return nil
}
func (c *chainNet) Points(points string) (func(v int) bool, error) {
	if points != "all" {
		return nil, fmt.Errorf("points %q", points)
	}
	return nil, nil
}
func (c *chainNet) BaseMeta() any { return map[string]int{"c1": c.C1, "c2": c.C2} }
func (c *chainNet) Fingerprint() (string, error) {
	host, err := c.set.Host()
	if err != nil {
		return "", err
	}
	sum := 0.0
	for _, h := range host {
		for i, v := range h.Data {
			sum += float64(v) * float64(i%7+1)
		}
	}
	return fmt.Sprintf("%d-%d-%.9g", c.C1, c.C2, sum), nil
}

func newChainNet(t *testing.T, b kernels.Backend, c1, c2 int, seed uint64) *chainNet {
	g, set := chain(t, b, c1, c2, seed)
	return &chainNet{g: g, set: set, C1: c1, C2: c2}
}

func loadChain(t *testing.T) BaseLoader[*chainNet] {
	return func(b kernels.Backend, meta json.RawMessage, params map[string]*tensor.Tensor) (*chainNet, error) {
		var m map[string]int
		if err := json.Unmarshal(meta, &m); err != nil {
			return nil, err
		}
		c := newChainNet(t, b, m["c1"], m["c2"], 99)
		return c, c.set.Load(params)
	}
}

func TestJoinedSaveLoad(t *testing.T) {
	b := cpu.NewReference()
	a, bb := newChainNet(t, b, 4, 6, 1), newChainNet(t, b, 3, 5, 2)
	s, err := Join(b, a, bb, 3, 8, 8, "all", DefaultMatchOptions(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Meta.Pairs) != s.M.Pairs() || s.M.Pairs() == 0 {
		t.Fatalf("%d pairs recorded for %d", len(s.Meta.Pairs), s.M.Pairs())
	}
	x := tensor.NewRNG(3).Rand(2, 3, 8, 8)
	// Train one epoch so the checkpoint carries optimizer state.
	o := DefaultTrainOptions(Double)
	o.Epochs = 1
	tr, err := NewTrainer(s.M, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Fit(t.Context(), x); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Write(&buf, tr); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	l, err := Read(bytes.NewReader(raw), b, loadChain(t))
	if err != nil {
		t.Fatal(err)
	}
	set, _ := StitchEnsemble(s.M.Pairs(), 1)
	p1, _ := s.M.Probabilities(set, x, 2)
	p2, _ := l.M.Probabilities(set, x, 2)
	if p1 == nil || p2 == nil || tensor.MaxAbsDiff(p1.Data, p2.Data) != 0 {
		t.Error("the loaded stitched model computes something else")
	}
	if err := l.CheckBases(a, bb); err != nil {
		t.Errorf("its own bases rejected: %v", err)
	}
	if err := l.CheckBases(bb, a); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("swapped bases: %v", err)
	}
	if err := l.CheckBases(nil, nil); err != nil {
		t.Errorf("no bases given: %v", err)
	}
	tr2, _ := NewTrainer(l.M, o)
	if err := l.Resume(tr2); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := l.Write(&again, tr2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), raw) {
		t.Error("a loaded and re-written checkpoint differs")
	}
	// A base whose weights changed no longer matches its fingerprint.
	bad := func(b kernels.Backend, meta json.RawMessage, params map[string]*tensor.Tensor) (*chainNet, error) {
		c, err := loadChain(t)(b, meta, params)
		if err == nil {
			_ = c.set.Backend.Fill(c.set.Value, 0.5)
		}
		return c, err
	}
	if _, err := Read(bytes.NewReader(raw), b, bad); err == nil || !strings.Contains(err.Error(), "fingerprints") {
		t.Errorf("changed base weights: %v", err)
	}
	if _, err := Read(bytes.NewReader(raw[:len(raw)-3]), b, loadChain(t)); err == nil {
		t.Error("truncated checkpoint accepted")
	}
}
