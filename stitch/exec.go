package stitch

import (
	"fmt"

	"suture/autograd"
	"suture/kernels"
	"suture/nn"
	"suture/tensor"
)

// needed marks the nodes a setting uses, walking back from the output switch.
func (m *Model) needed(s Setting) []bool {
	need := make([]bool, len(m.nodes))
	if s.Out != OutB {
		need[m.outA] = true
	}
	if s.Out != OutA {
		need[m.outB] = true
	}
	for i := len(m.nodes) - 1; i >= 0; i-- {
		if !need[i] {
			continue
		}
		nd := m.nodes[i]
		if nd.kind != switchNode {
			for _, u := range nd.inputs {
				need[u] = true
			}
			continue
		}
		switch m.mode(s, nd) {
		case Own:
			need[nd.inputs[0]] = true
		case Stitched:
			need[nd.inputs[1]] = true
		default:
			need[nd.inputs[0]], need[nd.inputs[1]] = true, true
		}
	}
	return need
}

func (m *Model) mode(s Setting, nd node) Mode {
	if nd.net == 0 {
		return s.A[nd.k]
	}
	return s.B[nd.k]
}

func (m *Model) checkSetting(s Setting) error {
	if len(s.A) != m.Pairs() || len(s.B) != m.Pairs() {
		return fmt.Errorf("switch setting has %d and %d switches, the model has %d per network", len(s.A), len(s.B), m.Pairs())
	}
	return nil
}

// Forward runs the network that setting s extracts on x (N, C, H, W)
// (normalised as the base networks expect) and returns the probabilities
// (N, K, H, W) of the output switch on t. Only the nodes the setting uses
// are computed (the pruned network).
func (m *Model) Forward(t *autograd.Tape, s Setting, x *autograd.Var) (*autograd.Var, error) {
	return m.ForwardT(t, s, x, 1)
}

// ForwardT is Forward at softmax temperature temp: the output switch
// returns softmax(logits/temp) of its network, or the mean of A's and B's
// (the soft targets of a distillation). temp 1 is Forward.
func (m *Model) ForwardT(t *autograd.Tape, s Setting, x *autograd.Var, temp float32) (*autograd.Var, error) {
	if !(temp > 0) {
		return nil, fmt.Errorf("stitched forward: temperature %g must be > 0", temp)
	}
	if err := m.checkSetting(s); err != nil {
		return nil, err
	}
	need := m.needed(s)
	vals := make([]*autograd.Var, len(m.nodes))
	nets := []*nn.Graph{m.A, m.B}
	args := make([]*autograd.Var, 0, 4)
	prof := t.Profiler()
	for i, nd := range m.nodes {
		if !need[i] {
			continue
		}
		var err error
		var prev kernels.Scope
		if prof != nil {
			net, name := m.scopeOf(nd)
			prev = enter(prof, net, name)
		}
		switch nd.kind {
		case vertexNode:
			vx := nets[nd.net].Vertices[nd.v]
			if vx.Op == nil {
				vals[i] = x
				break
			}
			args = args[:0]
			for _, u := range nd.inputs {
				args = append(args, vals[u])
			}
			vals[i], err = vx.Op.Forward(t, args)
		case stitchNode:
			vals[i], err = m.stitchConv(nd.k, nd.net).Forward(t, []*autograd.Var{vals[nd.inputs[0]]})
		case switchNode:
			own, st := vals[nd.inputs[0]], vals[nd.inputs[1]]
			switch m.mode(s, nd) {
			case Own:
				vals[i] = own
			case Stitched:
				vals[i] = st
			default:
				vals[i], err = t.Mean(own, st)
			}
		}
		if prof != nil {
			prof.Restore(prev)
		}
		if err != nil {
			return nil, fmt.Errorf("stitched forward, node %d: %w", i, err)
		}
	}
	var outs []*autograd.Var
	for _, o := range []int{m.outA, m.outB} {
		if vals[o] != nil {
			z := vals[o]
			if temp != 1 {
				var err error
				if z, err = t.Scale(z, 1/temp); err != nil {
					return nil, err
				}
			}
			p, err := t.Softmax(z)
			if err != nil {
				return nil, err
			}
			outs = append(outs, p)
		}
	}
	return t.Mean(outs...)
}

// Probabilities runs Forward without gradients over x (N, C, H, W) host
// images in batches and returns host probabilities (N, K, H, W).
func (m *Model) Probabilities(s Setting, x *tensor.Tensor, batch int) (*tensor.Tensor, error) {
	if x == nil || len(x.Shape) != 4 || x.Shape[0] == 0 {
		return nil, fmt.Errorf("stitched forward: images %v, want (N, C, H, W) with N >= 1", tensor.ShapeOf(x))
	}
	batch = max(batch, 1)
	t := autograd.NewTape(m.Backend)
	t.Recording = false
	defer t.Arena().Drop()
	n, per := x.Shape[0], x.Numel()/x.Shape[0]
	var out *tensor.Tensor
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		xb, err := t.Arena().Get(hi-lo, x.Shape[1], x.Shape[2], x.Shape[3])
		if err != nil {
			return nil, err
		}
		if err := m.Backend.Upload(xb, x.Data[lo*per:hi*per]); err != nil {
			return nil, err
		}
		p, err := m.Forward(t, s, autograd.Leaf(xb, false))
		if err != nil {
			return nil, err
		}
		if out == nil {
			ps := p.Value.Shape
			out = tensor.New(n, ps[1], ps[2], ps[3])
		}
		k := p.Value.Numel() / (hi - lo)
		if err := m.Backend.Download(out.Data[lo*k:hi*k], p.Value); err != nil {
			return nil, err
		}
		t.Reset()
	}
	return out, nil
}
