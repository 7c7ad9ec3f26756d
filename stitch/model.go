package stitch

import (
	"fmt"

	"suture/kernels"
	"suture/nn"
	"suture/tensor"
)

// Stitch is one matched pair with its two 1x1 convs.
type Stitch struct {
	// Index k counts matched pairs in A's call order.
	Index int
	A, B  Candidate
	// AB maps A's feature into B's space (C_a -> C_b); BA the reverse.
	AB, BA *nn.Conv2d
}

// Model is two frozen networks joined by stitches and switches.
type Model struct {
	Backend  kernels.Backend
	A, B     *nn.Graph
	Stitches []*Stitch
	// Params holds every stitch parameter in one flat buffer.
	Params *nn.ParamSet

	nodes []node // the combined graph in an execution (topological) order
	outA  int    // node of A's main output
	outB  int

	// scopeNames[k] are the profiling scopes of pair k: "stitch k a->b",
	// "stitch k b->a", "switch k" (made once, so profiling allocates nothing).
	scopeNames [][3]string
}

type nodeKind uint8

const (
	vertexNode nodeKind = iota // a vertex of A or B
	stitchNode                 // S_ab(a_k) (net 0) or S_ba(b_k) (net 1), feeding the other net's switch
	switchNode                 // the switch after a_k (net 0) or b_k (net 1)
)

// node is one vertex of the combined graph.
type node struct {
	kind   nodeKind
	net    int   // 0: A, 1: B; for stitch nodes the SOURCE network
	v      int   // vertex index in its network (vertex and switch nodes)
	k      int   // pair index (stitch and switch nodes)
	inputs []int // node indices, by argument position
}

// New joins a and b, whose parameters must already be bound to backend be
// (their ParamSets are frozen here), with stitches at the matched pairs of
// the candidate lists; stitch weights are Kaiming-initialised from seed.
// It builds the combined graph and proves it acyclic.
func New(be kernels.Backend, a, b *nn.Graph, setA, setB *nn.ParamSet, candA, candB []Candidate, pairs []Pair, seed uint64) (*Model, error) {
	if len(pairs) == 0 {
		return nil, fmt.Errorf("stitch: no matched pairs (the networks share no spatial scale)")
	}
	if setA != nil {
		setA.Freeze(true)
	}
	if setB != nil {
		setB.Freeze(true)
	}
	a.SetTraining(false)
	b.SetTraining(false)
	g := tensor.NewRNG(seed)
	m := &Model{Backend: be, A: a, B: b}
	var params []*nn.Param
	for k, p := range pairs {
		if p.A < 0 || p.A >= len(candA) || p.B < 0 || p.B >= len(candB) {
			return nil, fmt.Errorf("stitch: pair %d (%d, %d) outside the candidate lists", k, p.A, p.B)
		}
		ca, cb := candA[p.A], candB[p.B]
		if ca.H != cb.H || ca.W != cb.W {
			return nil, fmt.Errorf("stitch: pair %d joins %s (%dx%d) and %s (%dx%d): spatial sizes differ", k, ca.Name, ca.H, ca.W, cb.Name, cb.H, cb.W)
		}
		if k > 0 && (p.A <= pairs[k-1].A || p.B <= pairs[k-1].B) {
			return nil, fmt.Errorf("stitch: pair %d (%d, %d) breaks the call order of pair %d", k, p.A, p.B, k-1)
		}
		ab, err := nn.NewConv2d(fmt.Sprintf("stitch%d.ab", k), ca.C, cb.C, 1, 1, 0, true, g)
		if err != nil {
			return nil, err
		}
		ba, err := nn.NewConv2d(fmt.Sprintf("stitch%d.ba", k), cb.C, ca.C, 1, 1, 0, true, g)
		if err != nil {
			return nil, err
		}
		m.Stitches = append(m.Stitches, &Stitch{Index: k, A: ca, B: cb, AB: ab, BA: ba})
		m.scopeNames = append(m.scopeNames, [3]string{fmt.Sprintf("stitch %d a->b", k), fmt.Sprintf("stitch %d b->a", k), fmt.Sprintf("switch %d", k)})
		params = append(params, ab.Params()...)
		params = append(params, ba.Params()...)
	}
	var err error
	if m.Params, err = nn.NewParamSet(be, params); err != nil {
		return nil, err
	}
	return m, m.buildNodes()
}

// buildNodes lays out the combined graph and orders it topologically
// (Kahn's algorithm); a cycle is an error, so a Model is acyclic by check,
// not only by the order-preserving construction.
func (m *Model) buildNodes() error {
	nets := []*nn.Graph{m.A, m.B}
	var raw []node
	vid := [2][]int{} // node index of each vertex
	for n, g := range nets {
		vid[n] = make([]int, len(g.Vertices))
		for v := range g.Vertices {
			vid[n][v] = len(raw)
			raw = append(raw, node{kind: vertexNode, net: n, v: v})
		}
	}
	swid := [2]map[int]int{{}, {}} // vertex -> switch node
	for k, s := range m.Stitches {
		verts := [2]int{s.A.Vertex, s.B.Vertex}
		st := [2]int{}
		for n := 0; n < 2; n++ {
			st[n] = len(raw)
			raw = append(raw, node{kind: stitchNode, net: n, k: k, inputs: []int{vid[n][verts[n]]}})
		}
		for n := 0; n < 2; n++ {
			swid[n][verts[n]] = len(raw)
			raw = append(raw, node{kind: switchNode, net: n, v: verts[n], k: k, inputs: []int{vid[n][verts[n]], st[1-n]}})
		}
	}
	for n, g := range nets {
		for v, vx := range g.Vertices {
			in := make([]int, len(vx.Inputs))
			for i, u := range vx.Inputs {
				if sw, ok := swid[n][u]; ok {
					in[i] = sw
				} else {
					in[i] = vid[n][u]
				}
			}
			raw[vid[n][v]].inputs = in
		}
	}
	order, err := topoOrder(raw)
	if err != nil {
		return err
	}
	pos := make([]int, len(raw))
	m.nodes = make([]node, len(raw))
	for i, r := range order {
		pos[r] = i
	}
	for i, r := range order {
		nd := raw[r]
		in := make([]int, len(nd.inputs))
		for j, u := range nd.inputs {
			in[j] = pos[u]
		}
		nd.inputs = in
		m.nodes[i] = nd
	}
	m.outA, m.outB = pos[vid[0][m.A.Outputs[0]]], pos[vid[1][m.B.Outputs[0]]]
	return nil
}

// topoOrder returns a topological order of nodes (smallest index first among
// the ready ones, so the call orders are kept), or an error naming a cycle.
func topoOrder(nodes []node) ([]int, error) {
	indeg := make([]int, len(nodes))
	users := make([][]int, len(nodes))
	for i, nd := range nodes {
		indeg[i] = len(nd.inputs)
		for _, u := range nd.inputs {
			users[u] = append(users[u], i)
		}
	}
	// A binary heap would do; n is small (hundreds), a sorted scan is clear.
	ready := []int{}
	for i := range nodes {
		if indeg[i] == 0 {
			ready = append(ready, i)
		}
	}
	var order []int
	for len(ready) > 0 {
		bi := 0
		for i, r := range ready {
			if r < ready[bi] {
				bi = i
			}
		}
		r := ready[bi]
		ready = append(ready[:bi], ready[bi+1:]...)
		order = append(order, r)
		for _, u := range users[r] {
			if indeg[u]--; indeg[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(order) != len(nodes) {
		return nil, fmt.Errorf("stitch: the combined graph has a cycle (%d of %d nodes orderable); the matching must preserve call order", len(order), len(nodes))
	}
	return order, nil
}

// Pairs returns the number of matched pairs (switches per network).
func (m *Model) Pairs() int { return len(m.Stitches) }

// stitchConv returns the conv of stitch k that reads network src.
func (m *Model) stitchConv(k, src int) *nn.Conv2d {
	if src == 0 {
		return m.Stitches[k].AB
	}
	return m.Stitches[k].BA
}

// netScopes are the profiling scopes of the two networks' vertices.
var netScopes = [2]string{"A", "B"}

// scopeOf returns the profiling scope of a node: (net, name) as enter takes it.
func (m *Model) scopeOf(nd node) (int, string) {
	switch nd.kind {
	case stitchNode:
		return -1, m.scopeNames[nd.k][nd.net]
	case switchNode:
		return nd.net, m.scopeNames[nd.k][2]
	}
	nets := [2]*nn.Graph{m.A, m.B}
	return nd.net, nets[nd.net].Vertices[nd.v].Name
}

// enter makes scope net/name current on p and returns the scope to
// restore; net < 0 enters name alone.
func enter(p kernels.Profiler, net int, name string) kernels.Scope {
	prev := p.Current()
	if net >= 0 {
		p.Enter(netScopes[net])
	}
	p.Enter(name)
	return prev
}

// enterHalf is enter in half h.
func enterHalf(p kernels.Profiler, h kernels.Half, net int, name string) kernels.Scope {
	prev := p.Current()
	p.Restore(prev.WithHalf(h))
	enter(p, net, name)
	return prev
}
