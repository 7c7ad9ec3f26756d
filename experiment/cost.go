package experiment

import (
	"context"
	"fmt"
	"sort"
	"time"

	"suture/autograd"
	"suture/kernels"
	"suture/nn"
	"suture/stitch"
	"suture/tensor"
	"suture/unet"
)

// NetCost is what one network costs to run on one image.
type NetCost struct {
	Name   string  `json:"name"`
	Params int     `json:"params"` // weights and biases (norm parameters included)
	GFLOP  float64 `json:"gflop"`  // 2 x multiply-adds of the convolutions per image
	// ImgPerSec is measured: batches of Batch random images, forward
	// without gradients, the median of Rounds rounds in which every
	// network runs once in turn (side by side, so load affects all alike).
	// It is meant for the CPU backend, whose calls return when done.
	ImgPerSec float64 `json:"img_per_s"`
}

// CostOptions set the throughput measurement.
type CostOptions struct {
	Batch, Rounds int
	// Own is the party whose network heads the table: "a" (default,
	// network A of the teacher) or "b" (network B).
	Own string
}

// DistillCost measures the party's own network (o.Own), the plain ensemble
// a & b, the teacher stitch-ensemble and the student on inputs of the
// teacher's size.
func DistillCost(ctx context.Context, b kernels.Backend, tc *Teacher, student *unet.Model, o CostOptions) ([]NetCost, error) {
	if o.Batch < 1 || o.Rounds < 1 {
		return nil, fmt.Errorf("cost: batch %d and rounds %d must be >= 1", o.Batch, o.Rounds)
	}
	in := tc.S.Meta.Input
	if err := student.Config.CheckInput(in[0], in[1], in[2]); err != nil {
		return nil, fmt.Errorf("student: %w", err)
	}
	fa, err := graphFlops(b, tc.S.A.Graph, in)
	if err != nil {
		return nil, err
	}
	fb, err := graphFlops(b, tc.S.B.Graph, in)
	if err != nil {
		return nil, err
	}
	fs, err := graphFlops(b, student.Graph, in)
	if err != nil {
		return nil, err
	}
	k := indexOf(tc.Setting)
	if k < 0 || k >= len(tc.S.M.Stitches) {
		return nil, fmt.Errorf("cost: the teacher is not a stitch-ensemble")
	}
	st := tc.S.M.Stitches[k]
	stitchFlops := 2 * 2 * float64(st.A.H*st.A.W) * float64(st.A.C*st.B.C)
	stitchParams := countParams(st.AB.Params()) + countParams(st.BA.Params())
	pa, pb := countParams(tc.S.A.Params.Params), countParams(tc.S.B.Params.Params)
	ens := stitch.Ensemble(tc.S.M.Pairs())
	own, pOwn, fOwn := tc.S.A, pa, fa
	switch o.Own {
	case "", "a":
	case "b":
		own, pOwn, fOwn = tc.S.B, pb, fb
	default:
		return nil, fmt.Errorf("cost: own network %q, want a or b", o.Own)
	}
	ownName := o.Own
	if ownName == "" {
		ownName = "a"
	}
	rows := []NetCost{
		{Name: ownName, Params: pOwn, GFLOP: fOwn / 1e9},
		{Name: "a & b", Params: pa + pb, GFLOP: (fa + fb) / 1e9},
		{Name: "teacher " + tc.Net, Params: pa + pb + stitchParams, GFLOP: (fa + fb + stitchFlops) / 1e9},
		{Name: "student", Params: countParams(student.Params.Params), GFLOP: fs / 1e9},
	}
	t := autograd.NewTape(b)
	t.Recording = false
	defer t.Arena().Drop()
	x, err := t.Arena().Get(o.Batch, in[0], in[1], in[2])
	if err != nil {
		return nil, err
	}
	host := tensor.NewRNG(1).Rand(o.Batch, in[0], in[1], in[2])
	if err := b.Upload(x, host.Data); err != nil {
		return nil, err
	}
	xv := autograd.Leaf(x, false)
	unetFwd := func(g *nn.Graph) func() error {
		return func() error { _, err := g.Forward(t, xv); return err }
	}
	runs := []func() error{
		unetFwd(own.Graph),
		func() error { _, err := tc.S.M.Forward(t, ens, xv); return err },
		func() error { _, err := tc.S.M.Forward(t, tc.Setting, xv); return err },
		unetFwd(student.Graph),
	}
	student.Graph.SetTraining(false)
	times := make([][]float64, len(runs))
	for r := -1; r < o.Rounds; r++ { // round -1 warms up
		for i, run := range runs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			start := time.Now()
			if err := run(); err != nil {
				return nil, fmt.Errorf("cost: %s: %w", rows[i].Name, err)
			}
			el := time.Since(start).Seconds()
			t.Reset()
			if r >= 0 {
				times[i] = append(times[i], el)
			}
		}
	}
	for i := range rows {
		sort.Float64s(times[i])
		rows[i].ImgPerSec = float64(o.Batch) / times[i][len(times[i])/2]
	}
	return rows, nil
}

func countParams(ps []*nn.Param) int {
	n := 0
	for _, p := range ps {
		n += p.Value.Numel()
	}
	return n
}

// graphFlops counts 2 x multiply-adds of a graph's convolutions and
// transposed convolutions for one input of shape in (C, H, W).
func graphFlops(b kernels.Backend, g *nn.Graph, in [3]int) (float64, error) {
	shapes, err := stitch.Shapes(b, g, in[0], in[1], in[2])
	if err != nil {
		return 0, err
	}
	var f float64
	for i, v := range g.Vertices {
		switch op := v.Op.(type) {
		case *nn.Conv2d:
			ws, o := op.W.Value.Shape, shapes[i]
			f += 2 * float64(o[1]*o[2]*o[3]) * float64(ws[1]*ws[2]*ws[3])
		case *nn.ConvTranspose2d:
			ws, x := op.W.Value.Shape, shapes[v.Inputs[0]]
			f += 2 * float64(x[1]*x[2]*x[3]) * float64(ws[1]*ws[2]*ws[3])
		}
	}
	return f, nil
}
