package stitch

import (
	"fmt"

	"suture/autograd"
	"suture/kernels"
	"suture/nn"
)

// Candidate is a vertex whose output may be stitched.
type Candidate struct {
	Vertex   int    // index in the graph
	Name     string // the vertex's name
	C, H, W  int    // output channels and spatial size
	Progress float64
	Branch   bool // in- or out-degree > 1 (concat inputs, skip sources)
}

// Shapes runs g once without gradients on an input of (1, c, h, w) and
// returns every vertex's output shape (nil for vertices that do not reach
// the main output).
func Shapes(b kernels.Backend, g *nn.Graph, c, h, w int) ([][]int, error) {
	tape := autograd.NewTape(b)
	tape.Recording = false
	defer tape.Arena().Drop()
	x, err := b.Alloc(1, c, h, w)
	if err != nil {
		return nil, err
	}
	defer b.Free(x)
	g.SetTraining(false)
	vals, err := g.Forward(tape, autograd.Leaf(x, false))
	if err != nil {
		return nil, err
	}
	out := make([][]int, len(vals))
	for i, v := range vals {
		out[i] = v.Value.Shape.Clone()
	}
	return out, nil
}

// reachesOutput marks the vertices on some path to the main output.
func reachesOutput(g *nn.Graph) []bool {
	keep := make([]bool, len(g.Vertices))
	keep[g.Outputs[0]] = true
	for i := len(g.Vertices) - 1; i >= 0; i-- {
		if !keep[i] {
			continue
		}
		for _, j := range g.Vertices[i].Inputs {
			keep[j] = true
		}
	}
	return keep
}

// Candidates lists the stitchable vertices of g in call order: every vertex
// on a path to the main output except the inputs and the main output itself
// (the output switch stands there). Progress is d_in/(d_in+d_out) with d_in
// and d_out the longest hop counts from the input and to the main output;
// longest paths measure depth, so an encoder's skip source counts as early
// although a skip connection leads from it to the decoder. keep, when not
// nil, filters the vertices further.
func Candidates(g *nn.Graph, shapes [][]int, keep func(v int) bool) ([]Candidate, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if len(shapes) != len(g.Vertices) {
		return nil, fmt.Errorf("candidates: %d shapes for %d vertices", len(shapes), len(g.Vertices))
	}
	live := reachesOutput(g)
	n := len(g.Vertices)
	din := make([]int, n)
	for i, v := range g.Vertices {
		for _, j := range v.Inputs {
			din[i] = max(din[i], din[j]+1)
		}
	}
	dout := make([]int, n)
	for i := range dout {
		dout[i] = -1
	}
	out := g.Outputs[0]
	dout[out] = 0
	for i := n - 1; i >= 0; i-- {
		if dout[i] < 0 || !live[i] {
			continue
		}
		for _, j := range g.Vertices[i].Inputs {
			dout[j] = max(dout[j], dout[i]+1)
		}
	}
	indeg := make([]int, n)
	outdeg := make([]int, n)
	for i, v := range g.Vertices {
		if !live[i] {
			continue
		}
		indeg[i] = len(v.Inputs)
		for _, j := range v.Inputs {
			outdeg[j]++
		}
	}
	var cs []Candidate
	for i, v := range g.Vertices {
		if v.Op == nil || !live[i] || i == out || (keep != nil && !keep(i)) {
			continue
		}
		s := shapes[i]
		if len(s) != 4 {
			return nil, fmt.Errorf("candidates: vertex %q has output shape %v, want (N, C, H, W)", v.Name, s)
		}
		cs = append(cs, Candidate{
			Vertex: i, Name: v.Name, C: s[1], H: s[2], W: s[3],
			Progress: float64(din[i]) / float64(din[i]+dout[i]),
			Branch:   indeg[i] > 1 || outdeg[i] > 1,
		})
	}
	return cs, nil
}
