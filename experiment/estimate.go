package experiment

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"suture/internal/stats"
	"suture/kernels"
	"suture/stitch"
	"suture/unet"
)

// Estimate is a plan's expected machine time per job kind, from a few
// steps timed on this machine.
type Estimate struct {
	Rows []EstimateRow
	// Jobs are the plan's jobs in its order, each with its estimate.
	Jobs []JobEstimate
	StepTimes
}

// StepTimes are the timings an estimate rests on (seconds), measured with
// the plan's precision on the backend given: a U-Net training step (the
// plan's batch), a stitch-training step (the plan's stitch batch, Pairs
// stitches), and inference per image of a U-Net and of a stitched network.
type StepTimes struct {
	UNetStep, StitchStep, InferImage, StitchInferImage float64
	Pairs                                              int
}

// partSizes are the numbers of images in a party's fold parts.
type partSizes struct{ train, val, test int }

// JobEstimate is one job's expected seconds; Deps index Estimate.Jobs.
type JobEstimate struct {
	ID      string
	Seconds float64
	Deps    []int
}

// Wall is the expected wall time (seconds) of the plan on workers workers
// that each run a job at the speed measured: it replays the runner's
// schedule (a free worker takes the first job in plan order whose inputs
// are done) with every job taking its estimate.
func (e *Estimate) Wall(workers int) float64 {
	n := len(e.Jobs)
	end := make([]float64, n) // finish time of a started job
	started := make([]bool, n)
	free := make([]float64, max(workers, 1)) // when each worker is next free
	var now float64
	for left := n; left > 0; {
		// The earliest free worker takes the first ready job at that time;
		// with none ready it waits for the next job to finish.
		w := slices.Index(free, slices.Min(free))
		now = max(now, free[w])
		pick, next := -1, math.Inf(1)
		for i, j := range e.Jobs {
			if started[i] {
				continue
			}
			at := now
			for _, d := range j.Deps {
				if !started[d] {
					at = math.Inf(1)
					break
				}
				at = max(at, end[d])
			}
			if at <= now {
				pick = i
				break
			}
			next = min(next, at)
		}
		if pick < 0 {
			if math.IsInf(next, 1) {
				return math.NaN() // a job waits on one never started: no schedule
			}
			now = next
			continue
		}
		started[pick], end[pick] = true, now+e.Jobs[pick].Seconds
		free[w] = end[pick]
		left--
	}
	return slices.Max(free)
}

// EstimateRow is one job kind.
type EstimateRow struct {
	Kind    JobKind
	Jobs    int
	Seconds float64 // all jobs of this kind
}

// Total is the whole plan's estimate in seconds.
func (e *Estimate) Total() float64 {
	var s float64
	for _, r := range e.Rows {
		s += r.Seconds
	}
	return s
}

// timeIt runs f once to warm up and then reps times, returning the median.
func timeIt(reps int, f func() error) (float64, error) {
	if err := f(); err != nil {
		return 0, err
	}
	var ts []float64
	for range reps {
		t0 := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ts = append(ts, time.Since(t0).Seconds())
	}
	return stats.Median(ts), nil
}

// EstimatePlan times a U-Net training step, a stitch-training step and
// inference on party a's images with the plan's settings and precision,
// and scales them by the plan's work: epochs of training, the validation
// passes of a plan with curves, a student's teacher forward passes. It
// reads both datasets (sizes of the fold parts). The times are those of
// backend b: for a run of W workers, give it the threads one worker gets.
func EstimatePlan(ctx context.Context, b kernels.Backend, p *Plan) (*Estimate, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := kernels.UsePrecision(b, kernels.Precision(p.Precision)); err != nil {
		return nil, err
	}
	defer kernels.UsePrecision(b, "")
	var parts [2]*Partition
	var sizes [2]partSizes
	for i, party := range []Party{p.A, p.B} {
		var err error
		if parts[i], err = LoadFold(nil, []string{party.Data}, party.Size, p.SplitSeed, p.Folds[0]); err != nil {
			return nil, err
		}
		sizes[i] = partSizes{len(parts[i].Train), len(parts[i].Val), len(parts[i].Test)}
	}
	t, err := measureSteps(ctx, b, p, parts[0])
	if err != nil {
		return nil, err
	}
	return costModel(p, t, sizes)
}

// measureSteps times the steps of plan p on b with party a's fold part pa.
func measureSteps(ctx context.Context, b kernels.Backend, p *Plan, pa *Partition) (StepTimes, error) {
	var t StepTimes
	cfg, err := planFor(pa, classesOf(pa), p.UNet.Features)
	if err != nil {
		return t, err
	}
	m, err := unet.NewModel(b, cfg, 1)
	if err != nil {
		return t, err
	}
	few := pa.Train[:min(len(pa.Train), 4*p.UNet.Batch)]
	uo := unetOpts(p.UNet, 1)
	uo.ItersPerEpoch = 2
	if t.UNetStep, err = timeIt(2, func() error {
		tr, err := unet.NewTrainer(m, uo)
		if err != nil {
			return err
		}
		return tr.Fit(ctx, few, nil)
	}); err != nil {
		return t, err
	}
	t.UNetStep /= 2
	if t.InferImage, err = timeIt(2, func() error {
		_, err := m.Probabilities(few, p.EvalBatch)
		return err
	}); err != nil {
		return t, err
	}
	t.InferImage /= float64(len(few))
	m2, err := unet.NewModel(b, cfg, 2)
	if err != nil {
		return t, err
	}
	x, err := Stack(few)
	if err != nil {
		return t, err
	}
	s, err := stitch.Join(b, m, m2, x.Shape[1], x.Shape[2], x.Shape[3], p.Stitch.Points, stitch.DefaultMatchOptions(), 1)
	if err != nil {
		return t, err
	}
	t.Pairs = s.M.Pairs()
	if t.Pairs == 0 {
		return t, fmt.Errorf("estimate: the networks have no matched pairs")
	}
	so := stitchOpts(p.Stitch, 1)
	so.Epochs, so.ItersPerEpoch = 1, 2
	if t.StitchStep, err = timeIt(2, func() error {
		tr, err := stitch.NewTrainer(s.M, so)
		if err != nil {
			return err
		}
		return tr.Fit(ctx, x)
	}); err != nil {
		return t, err
	}
	t.StitchStep /= 2
	se, _ := stitch.StitchEnsemble(t.Pairs, t.Pairs/2)
	if t.StitchInferImage, err = timeIt(2, func() error {
		_, err := s.M.Probabilities(se, x, p.EvalBatch)
		return err
	}); err != nil {
		return t, err
	}
	t.StitchInferImage /= float64(x.Shape[0])
	return t, nil
}

// costModel scales the step times t by the work of every job of plan p,
// whose parties' fold parts have the sizes given: no measurement, so the
// same inputs give the same estimate.
func costModel(p *Plan, t StepTimes, sizes [2]partSizes) (*Estimate, error) {
	e := &Estimate{StepTimes: t}
	g := buildGraph(p)
	n := func(party string, which string) int {
		pt := sizes[0]
		if party == "b" {
			pt = sizes[1]
		}
		switch which {
		case "train":
			return pt.train
		case "val":
			return pt.val
		}
		return pt.test
	}
	iters := func(images, batch, fixed int) int {
		if fixed > 0 {
			return fixed
		}
		return (images + batch - 1) / batch
	}
	rows := map[JobKind]*EstimateRow{}
	var kinds []JobKind
	index := map[*Job]int{}
	add := func(kind JobKind, sec float64) {
		r := rows[kind]
		if r == nil {
			r = &EstimateRow{Kind: kind}
			rows[kind] = r
			kinds = append(kinds, kind)
		}
		r.Jobs++
		r.Seconds += sec
		j := g.jobs[len(e.Jobs)]
		je := JobEstimate{ID: j.ID, Seconds: sec}
		for _, d := range j.Deps {
			je.Deps = append(je.Deps, index[d])
		}
		index[j] = len(e.Jobs)
		e.Jobs = append(e.Jobs, je)
	}
	// val is the seconds of the validation passes of epochs epochs over
	// the validation parts of parties (none without curves).
	val := func(epochs int, parties ...string) float64 {
		if !p.Curves {
			return 0
		}
		images := 0
		for _, party := range parties {
			images += n(party, "val")
		}
		return float64(epochs*images) * e.InferImage
	}
	u := p.UNet
	for _, j := range g.jobs {
		switch j.Kind {
		case KindTrain:
			add(KindTrain, float64(u.Epochs*iters(n(j.Approach, "train"), u.Batch, u.Iters))*e.UNetStep+val(u.Epochs, j.Approach))
		case KindPooled:
			add(KindPooled, float64(u.Epochs*iters(n("a", "train")+n("b", "train"), u.Batch, u.Iters))*e.UNetStep+val(u.Epochs, "a", "b"))
		case KindFineTune:
			on := "b"
			if j.Approach == ApBtoA {
				on = "a"
			}
			add(KindFineTune, float64(p.FineTune.Epochs*iters(n(on, "train"), u.Batch, u.Iters))*e.UNetStep+val(p.FineTune.Epochs, on))
		case KindFedAvg:
			add(KindFedAvg, float64(p.Fed.Rounds*(iters(n("a", "train"), u.Batch, u.Iters)+iters(n("b", "train"), u.Batch, u.Iters)))*e.UNetStep+
				val(p.Fed.Rounds, "a", "b"))
		case KindDistill:
			// A student step is a U-Net step at the student's batch plus
			// the teacher's forward pass over that batch.
			d, party := p.Distill, j.Parties[0]
			step := e.UNetStep*float64(d.Batch)/float64(u.Batch) + float64(d.Batch)*e.StitchInferImage
			add(KindDistill, float64(d.Epochs*iters(n(party, "train"), d.Batch, d.Iters))*step+val(d.Epochs, party))
		case KindStitch:
			party := stitchedApproaches[j.Approach].party
			add(KindStitch, float64(p.Stitch.Epochs*iters(n(party, "train"), p.Stitch.Batch, p.Stitch.Iters))*e.StitchStep)
		case KindSweep:
			party := stitchedApproaches[j.Approach].party
			add(KindSweep, float64((e.Pairs+3)*n(party, "val"))*e.StitchInferImage)
		case KindSelect:
			add(KindSelect, 0)
		case KindTest:
			per := 2 * e.InferImage
			if _, ok := stitchedApproaches[j.Approach]; ok {
				per = 3 * e.StitchInferImage
			} else if ensembleOf[j.Approach] == [2]string{} {
				per = e.InferImage
			}
			// A test job scores the test sets of its parties (one: its own).
			images := 0
			for _, party := range j.Parties {
				images += n(party, "test")
			}
			add(KindTest, float64(images)*per)
		default:
			return nil, fmt.Errorf("estimate: no cost model for %s (kind %q)", j.ID, j.Kind)
		}
	}
	for _, k := range kinds {
		e.Rows = append(e.Rows, *rows[k])
	}
	return e, nil
}
