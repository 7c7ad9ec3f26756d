package nn

import (
	"fmt"

	"suture/autograd"
)

// Vertex is one module call of a Graph, or a graph input (Op == nil).
type Vertex struct {
	// Name is unique in the graph, e.g. "enc1.conv0".
	Name string
	// Op computes the vertex; nil for an input.
	Op Module
	// Inputs are the vertices whose outputs are this call's arguments, by
	// argument position (the edge labels).
	Inputs []int
}

// Graph is a network as a DAG of module calls, numbered in call order, which
// is a topological order: every vertex reads only earlier vertices.
type Graph struct {
	Vertices []*Vertex
	// Inputs are the input vertices, in argument order.
	Inputs []int
	// Outputs are the output vertices; Outputs[0] is the main output (deep
	// supervision heads follow).
	Outputs []int
}

// AddInput appends an input vertex and returns its index.
func (g *Graph) AddInput(name string) int {
	g.Vertices = append(g.Vertices, &Vertex{Name: name})
	g.Inputs = append(g.Inputs, len(g.Vertices)-1)
	return len(g.Vertices) - 1
}

// Add appends a call of op on the given vertices and returns its index.
func (g *Graph) Add(name string, op Module, inputs ...int) int {
	g.Vertices = append(g.Vertices, &Vertex{Name: name, Op: op, Inputs: append([]int(nil), inputs...)})
	return len(g.Vertices) - 1
}

// Validate checks the graph: unique names, every call reads only earlier
// vertices (so the call order is topological and the graph acyclic), inputs
// have no op, outputs exist.
func (g *Graph) Validate() error {
	names := map[string]int{}
	isInput := map[int]bool{}
	for _, i := range g.Inputs {
		if i < 0 || i >= len(g.Vertices) {
			return fmt.Errorf("graph: input %d out of range", i)
		}
		isInput[i] = true
	}
	for i, v := range g.Vertices {
		if v == nil {
			return fmt.Errorf("graph: vertex %d is nil", i)
		}
		if j, dup := names[v.Name]; dup {
			return fmt.Errorf("graph: vertices %d and %d are both named %q", j, i, v.Name)
		}
		names[v.Name] = i
		if v.Op == nil {
			if !isInput[i] {
				return fmt.Errorf("graph: vertex %d %q has no op and is not an input", i, v.Name)
			}
			continue
		}
		if len(v.Inputs) == 0 {
			return fmt.Errorf("graph: vertex %d %q has no inputs", i, v.Name)
		}
		for _, j := range v.Inputs {
			if j < 0 || j >= i {
				return fmt.Errorf("graph: vertex %d %q reads vertex %d, which is not earlier in call order", i, v.Name, j)
			}
		}
	}
	if len(g.Outputs) == 0 {
		return fmt.Errorf("graph: no outputs")
	}
	for _, o := range g.Outputs {
		if o < 0 || o >= len(g.Vertices) {
			return fmt.Errorf("graph: output %d out of range", o)
		}
	}
	return nil
}

// Forward runs the graph on tape t and returns the value of every vertex
// (indexed like Vertices). xs are the inputs, in g.Inputs order. When the
// tape's backend profiles, each call runs in its vertex's scope (its Name).
func (g *Graph) Forward(t *autograd.Tape, xs ...*autograd.Var) ([]*autograd.Var, error) {
	if len(xs) != len(g.Inputs) {
		return nil, fmt.Errorf("graph: %d inputs given, graph takes %d", len(xs), len(g.Inputs))
	}
	vals := make([]*autograd.Var, len(g.Vertices))
	for k, i := range g.Inputs {
		if xs[k] == nil || xs[k].Value == nil {
			return nil, fmt.Errorf("graph: input %d is nil", k)
		}
		vals[i] = xs[k]
	}
	args := make([]*autograd.Var, 0, 4)
	for i, v := range g.Vertices {
		if v.Op == nil {
			continue
		}
		out, err := g.forwardVertex(t, i, vals, args[:0])
		if err != nil {
			return nil, err
		}
		vals[i] = out
	}
	return vals, nil
}

// Run computes the values of the vertices in want (returned in that order)
// and only the vertices they depend on. On a tape that does not record, a
// vertex's value goes back to the tape's arena as soon as its last reader
// has run, so the memory held at once is the live activations (a U-Net's
// skips and the current stage), not every vertex's value as with Forward.
// The values in want are not recycled; the tape's next Reset or the arena's
// Release returns them.
func (g *Graph) Run(t *autograd.Tape, want []int, xs ...*autograd.Var) ([]*autograd.Var, error) {
	if len(xs) != len(g.Inputs) {
		return nil, fmt.Errorf("graph: %d inputs given, graph takes %d", len(xs), len(g.Inputs))
	}
	n := len(g.Vertices)
	needed := make([]bool, n)
	keep := make([]bool, n)
	for _, w := range want {
		if w < 0 || w >= n {
			return nil, fmt.Errorf("graph: vertex %d wanted, graph has %d", w, n)
		}
		needed[w], keep[w] = true, true
	}
	for i := n - 1; i >= 0; i-- {
		if needed[i] {
			for _, j := range g.Vertices[i].Inputs {
				needed[j] = true
			}
		}
	}
	// lastReader[j]: the last needed vertex that reads j (-1: none).
	lastReader := make([]int, n)
	for i := range lastReader {
		lastReader[i] = -1
	}
	for i, v := range g.Vertices {
		if needed[i] {
			for _, j := range v.Inputs {
				lastReader[j] = i
			}
		}
	}
	vals := make([]*autograd.Var, n)
	for k, i := range g.Inputs {
		if xs[k] == nil || xs[k].Value == nil {
			return nil, fmt.Errorf("graph: input %d is nil", k)
		}
		vals[i] = xs[k]
		keep[i] = true // the caller's: never recycled here
	}
	recycle := !t.Recording
	args := make([]*autograd.Var, 0, 4)
	for i, v := range g.Vertices {
		if v.Op == nil || !needed[i] {
			continue
		}
		out, err := g.forwardVertex(t, i, vals, args[:0])
		if err != nil {
			return nil, err
		}
		vals[i] = out
		if !recycle {
			continue
		}
		for _, j := range v.Inputs {
			if lastReader[j] == i && !keep[j] && vals[j] != nil {
				if !sharedValue(vals, j) {
					t.Arena().Put(vals[j].Value)
				}
				vals[j] = nil
			}
		}
	}
	out := make([]*autograd.Var, len(want))
	for k, w := range want {
		out[k] = vals[w]
	}
	return out, nil
}

// sharedValue reports whether another computed vertex holds the same tensor
// (or, on the host, the same storage) as vertex j: a module that passes its
// input through must not have it recycled under its reader.
func sharedValue(vals []*autograd.Var, j int) bool {
	x := vals[j].Value
	for i, v := range vals {
		if i == j || v == nil || v.Value == nil {
			continue
		}
		if v.Value == x || (len(x.Data) > 0 && len(v.Value.Data) > 0 && &x.Data[0] == &v.Value.Data[0]) {
			return true
		}
	}
	return false
}

// Params lists every parameter of the graph's modules, in call order.
func (g *Graph) Params() []*Param {
	var ps []*Param
	for _, v := range g.Vertices {
		if v.Op != nil {
			ps = append(ps, v.Op.Params()...)
		}
	}
	return ps
}

// SetTraining switches every TrainingModule between training and evaluation.
func (g *Graph) SetTraining(training bool) {
	for _, v := range g.Vertices {
		if m, ok := v.Op.(TrainingModule); ok {
			m.SetTraining(training)
		}
	}
}

// Consumers returns, for every vertex, the vertices that read it, in order.
func (g *Graph) Consumers() [][]int {
	out := make([][]int, len(g.Vertices))
	for i, v := range g.Vertices {
		for _, j := range v.Inputs {
			out[j] = append(out[j], i)
		}
	}
	return out
}

// forwardVertex runs vertex i on the values of its inputs in vals (args is
// scratch for them), under the tape's profiler when it has one.
func (g *Graph) forwardVertex(t *autograd.Tape, i int, vals, args []*autograd.Var) (*autograd.Var, error) {
	v := g.Vertices[i]
	for _, j := range v.Inputs {
		if vals[j] == nil {
			return nil, fmt.Errorf("graph: vertex %d %q reads vertex %d before it is computed", i, v.Name, j)
		}
		args = append(args, vals[j])
	}
	var out *autograd.Var
	var err error
	if p := t.Profiler(); p != nil {
		prev := p.Enter(v.Name)
		out, err = v.Op.Forward(t, args)
		p.Restore(prev)
	} else {
		out, err = v.Op.Forward(t, args)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", v.Name, err)
	}
	return out, nil
}
