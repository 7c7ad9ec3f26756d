package experiment

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"suture/experiment/metrics"
	"suture/kernels"
	"suture/stitch"
	"suture/tensor"
	"suture/unet"
)

// jobVersion is part of every job key: raise it when a job's code changes
// what it computes, so that stored results are not reused.
const jobVersion = 1

// Job is one node of a plan's job graph.
type Job struct {
	ID   string // e.g. "fold 0: train a", unique in the graph
	Kind JobKind
	// Approach is the approach the job serves ("" for select).
	Approach string
	Fold     int // -1 for jobs over all folds
	Deps     []*Job
	// Key identifies the job's result: a SHA-256 over its kind, settings
	// and the keys of its inputs. Dir is its folder under the results
	// folder, derived from the key.
	Key, Dir string
	// Model is the checkpoint a model-producing job leaves, relative to Dir.
	Model string
	// Parties are the parties whose data the job reads: one for most jobs,
	// both for pooled training and federated averaging, none for the
	// selection (it reads the sweeps only). A runner that keeps each
	// party's data at its site sends a job only to a worker holding all of
	// them.
	Parties []string
	// Inputs are the files of its dependencies that the job reads.
	Inputs []JobFile
	// Resume names the files in its own folder from which an interrupted
	// job continues (training state saved every epoch); none for jobs that
	// simply run again.
	Resume []string

	settings any
	run      func(ctx context.Context, env *jobEnv) error
	// fed is set for federated averaging: the spec of the whole job in the
	// folder dir, for running one party's side (RunFedParty).
	fed func(dir string, load Loader) (FedSpec, error)
}

// JobFile is a file a job leaves in its folder.
type JobFile struct {
	Job  *Job
	Name string
}

// Job categories, the unit of a site's policy (what it lets run on its
// data): see Job.Category.
const (
	CatTrain    = "train"
	CatFineTune = "finetune"
	CatStitch   = "stitch"
	CatEval     = "eval"
)

// Categories lists the categories a site may allow.
var Categories = []string{CatTrain, CatFineTune, CatStitch, CatEval}

// ErrNoCategory is ParseCategories' error for a list naming no category.
var ErrNoCategory = errors.New("no job category; give one or more of " + strings.Join(Categories, ","))

// ParseCategories reads a comma-separated list of job categories (a site's
// policy); blanks are ignored, an unknown category is an error, and so is
// a list naming none (ErrNoCategory).
func ParseCategories(list string) ([]string, error) {
	var cats []string
	for _, c := range strings.Split(list, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		if !slices.Contains(Categories, c) {
			return nil, fmt.Errorf("unknown job category %q (known: %s)", c, strings.Join(Categories, ","))
		}
		cats = append(cats, c)
	}
	if len(cats) == 0 {
		return nil, ErrNoCategory
	}
	return cats, nil
}

// Category is what the job does with its parties' data: train (a new
// U-Net, pooled training, federated averaging), finetune, stitch, or eval
// (validation sweeps and test scores); "" for the selection, which reads
// no party's data.
func (j *Job) Category() string {
	switch j.Kind {
	case KindTrain, KindPooled, KindFedAvg, KindDistill:
		return CatTrain
	case KindFineTune:
		return CatFineTune
	case KindStitch:
		return CatStitch
	case KindSweep, KindTest:
		return CatEval
	}
	return ""
}

// jobEnv is what a running job gets.
type jobEnv struct {
	b        kernels.Backend
	root     string // results folder
	dir      string // the job's folder (absolute)
	job      *Job
	load     Loader
	progress func(frac float64)
}

func (e *jobEnv) path(j *Job, name string) string { return filepath.Join(e.root, j.Dir, name) }

// graph is a plan's jobs in a topological order.
type graph struct {
	plan  *Plan
	jobs  []*Job
	byID  map[string]*Job
	model map[string]*Job // "approach/fold" -> the job producing its network
	tests map[testKey]*Job
}

func (g *graph) add(j *Job) *Job {
	type keyed struct {
		Version  int      `json:"version"`
		Kind     JobKind  `json:"kind"`
		Settings any      `json:"settings"`
		Deps     []string `json:"deps"`
	}
	k := keyed{Version: jobVersion, Kind: j.Kind, Settings: j.settings}
	for _, d := range j.Deps {
		k.Deps = append(k.Deps, d.Key)
	}
	b, err := json.Marshal(k)
	if err != nil {
		panic(fmt.Sprintf("experiment: job %s settings: %v", j.ID, err)) // settings are plain structs
	}
	sum := sha256.Sum256(b)
	j.Key = hex.EncodeToString(sum[:])
	fold := "all"
	if j.Fold >= 0 {
		fold = fmt.Sprintf("fold%d", j.Fold)
	}
	j.Dir = filepath.Join("jobs", fold, fmt.Sprintf("%s-%s-%s", j.Kind, slug(j.Approach), j.Key[:12]))
	g.jobs = append(g.jobs, j)
	g.byID[j.ID] = j
	return j
}

// slug turns an approach's shorthand into a file-name part.
func slug(ap string) string {
	if ap == "" {
		return "all"
	}
	r := strings.NewReplacer(" -> ", "2", " & ", "+", " || ", "fed", " + ", "pooled", " <-[", "_", "]-> ", "_", "(", "", ")", "", " ", "")
	return r.Replace(ap)
}

// partyData is what a job records about a party's data in its settings.
type partyData struct {
	Data      string `json:"data"`
	Size      int    `json:"size"`
	SplitSeed uint64 `json:"split_seed"`
	Fold      int    `json:"fold"`
}

func (g *graph) data(party string, fold int) partyData {
	p := g.plan.party(party)
	return partyData{Data: p.Data, Size: p.Size, SplitSeed: g.plan.SplitSeed, Fold: fold}
}

// unetOpts are the training options of plan settings u, for epochs epochs.
func unetOpts(u UNetPlan, epochs int) unet.TrainOptions {
	o := unet.DefaultTrainOptions()
	o.Epochs, o.ItersPerEpoch, o.BatchSize = epochs, u.Iters, u.Batch
	o.LR, o.Momentum, o.WeightDecay, o.ClipNorm, o.NoAugment = u.LR, u.Momentum, u.WeightDecay, u.ClipNorm, !u.Augment
	return o
}

// withPrecision sets the plan's precision on U-Net training options.
func withPrecision(o unet.TrainOptions, p string) unet.TrainOptions {
	o.Precision = kernels.Precision(p).Stored()
	return o
}

// withStitchPrecision sets the plan's precision on stitch-training options.
func withStitchPrecision(o stitch.TrainOptions, p string) stitch.TrainOptions {
	o.Precision = kernels.Precision(p).Stored()
	return o
}

// stitchOpts are the stitch-training options of plan settings s.
func stitchOpts(s StitchPlan, seed uint64) stitch.TrainOptions {
	mode, _ := stitch.ParseMode(s.Mode) // checked by Plan.Validate
	o := stitch.DefaultTrainOptions(mode)
	o.Epochs, o.ItersPerEpoch, o.BatchSize = s.Epochs, s.Iters, s.Batch
	o.LR, o.WeightDecay, o.Seed = s.LR, s.WeightDecay, seed
	return o
}

// trainProgress turns a training job's steps into a fraction done.
func trainProgress(env *jobEnv) func(TrainEvent) {
	return func(e TrainEvent) {
		if e.Kind == "step" && e.Progress.Iters > 0 && e.Progress.Epochs > 0 {
			p := e.Progress
			env.progress(float64(p.Epoch*p.Iters+p.Iter) / float64(p.Epochs*p.Iters))
		}
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// modelJob returns the job producing approach ap's network on fold f
// (a, b, a -> b, b -> a, a || b, a + b), adding it and its inputs.
func (g *graph) modelJob(ap string, f int) *Job {
	key := fmt.Sprintf("%s/%d", ap, f)
	if j := g.model[key]; j != nil {
		return j
	}
	p, s := g.plan, g.plan.Seeds
	var j *Job
	switch ap {
	case ApA, ApB, ApPooled:
		parties, seed := []string{ap}, s.A
		if ap == ApB {
			seed = s.B
		}
		if ap == ApPooled {
			parties, seed = []string{"a", "b"}, s.Pooled
		}
		type settings struct {
			Data     []partyData `json:"data"`
			Seed     uint64      `json:"seed"`
			UNet     UNetPlan    `json:"unet"`
			Validate bool        `json:"validate,omitempty"`
		}
		st := settings{Seed: seed, UNet: p.UNet, Validate: p.Curves}
		for _, party := range parties {
			st.Data = append(st.Data, g.data(party, f))
		}
		kind := KindTrain
		if ap == ApPooled {
			kind = KindPooled
		}
		j = &Job{ID: fmt.Sprintf("fold %d: %s %s", f, kind, ap), Kind: kind, Approach: ap, Fold: f, Model: "last.ckpt", settings: st,
			Parties: parties, Resume: []string{"last.ckpt"}}
		j.run = func(ctx context.Context, env *jobEnv) error {
			spec := TrainSpec{Dir: env.dir, Size: st.Data[0].Size, Fold: f, SplitSeed: p.SplitSeed, Seed: st.Seed,
				Opts: withPrecision(unetOpts(st.UNet, st.UNet.Epochs), p.Precision), Features: st.UNet.Features, Loader: env.load, Resume: exists(filepath.Join(env.dir, "last.ckpt")),
				Validate: st.Validate}
			for _, d := range st.Data {
				spec.Data = append(spec.Data, d.Data)
			}
			if len(st.Data) == 2 && st.Data[0].Size != st.Data[1].Size {
				return fmt.Errorf("pooled training needs one image size: parties a and b have sizes %d and %d", st.Data[0].Size, st.Data[1].Size)
			}
			_, err := Train(ctx, env.b, spec, trainProgress(env))
			return err
		}
	case ApAtoB, ApBtoA:
		from, on, seed := ApA, "b", s.AtoB
		if ap == ApBtoA {
			from, on, seed = ApB, "a", s.BtoA
		}
		base := g.modelJob(from, f)
		type settings struct {
			Data     partyData    `json:"data"`
			Seed     uint64       `json:"seed"`
			UNet     UNetPlan     `json:"unet"`
			FineTune FineTunePlan `json:"finetune"`
			Validate bool         `json:"validate,omitempty"`
		}
		st := settings{Data: g.data(on, f), Seed: seed, UNet: p.UNet, FineTune: p.FineTune, Validate: p.Curves}
		j = &Job{ID: fmt.Sprintf("fold %d: finetune %s", f, ap), Kind: KindFineTune, Approach: ap, Fold: f, Deps: []*Job{base},
			Model: "last.ckpt", settings: st, Parties: []string{on}, Inputs: []JobFile{{base, base.Model}}, Resume: []string{"last.ckpt"}}
		j.run = func(ctx context.Context, env *jobEnv) error {
			spec := TrainSpec{Dir: env.dir, Data: []string{st.Data.Data}, Size: st.Data.Size, Fold: f, SplitSeed: p.SplitSeed,
				Seed: st.Seed, Opts: withPrecision(unetOpts(st.UNet, st.FineTune.Epochs), p.Precision), Loader: env.load, Resume: exists(filepath.Join(env.dir, "last.ckpt")),
				FineTune: &FineTuneSpec{From: env.path(base, base.Model), LRFactor: st.FineTune.LRFactor, WarmupEpochs: st.FineTune.WarmupEpochs},
				Validate: st.Validate}
			_, err := Train(ctx, env.b, spec, trainProgress(env))
			return err
		}
	case ApFed:
		type settings struct {
			Data  [2]partyData `json:"data"`
			Seed  uint64       `json:"seed"`
			Seeds [2]uint64    `json:"party_seeds"`
			UNet  UNetPlan     `json:"unet"`
			Fed   FedPlan      `json:"fedavg"`
			// Validate is not in the cluster's per-party rounds
			// (RunFedParty): only a local run scores them.
			Validate bool `json:"validate,omitempty"`
		}
		st := settings{Data: [2]partyData{g.data("a", f), g.data("b", f)}, Seed: s.FedInit, Seeds: [2]uint64{s.FedA, s.FedB},
			UNet: p.UNet, Fed: p.Fed, Validate: p.Curves}
		j = &Job{ID: fmt.Sprintf("fold %d: fedavg %s", f, ap), Kind: KindFedAvg, Approach: ap, Fold: f, Model: "last.ckpt", settings: st,
			Parties: []string{"a", "b"}, Resume: []string{"fed.ckpt"}}
		j.fed = func(dir string, load Loader) (FedSpec, error) {
			if st.Data[0].Size != st.Data[1].Size {
				return FedSpec{}, fmt.Errorf("federated averaging needs one image size: parties a and b have sizes %d and %d", st.Data[0].Size, st.Data[1].Size)
			}
			return FedSpec{Dir: dir, Data: [2]string{st.Data[0].Data, st.Data[1].Data}, Size: st.Data[0].Size, Fold: f,
				SplitSeed: p.SplitSeed, Seed: st.Seed, Seeds: st.Seeds, Opts: withPrecision(unetOpts(st.UNet, st.Fed.Rounds), p.Precision), Features: st.UNet.Features,
				Weighting: st.Fed.Weighting, Validate: st.Validate, Loader: load}, nil
		}
		j.run = func(ctx context.Context, env *jobEnv) error {
			spec, err := j.fed(env.dir, env.load)
			if err != nil {
				return err
			}
			spec.Resume = exists(filepath.Join(env.dir, "fed.ckpt"))
			_, err = FedAvg(ctx, env.b, spec, trainProgress(env))
			return err
		}
	default:
		panic("experiment: no model job for " + ap)
	}
	g.add(j)
	g.model[key] = j
	return j
}

// stitchJob adds the stitch training of a stitched approach.
func (g *graph) stitchJob(ap string, f int) *Job {
	key := fmt.Sprintf("%s/%d", ap, f)
	if j := g.model[key]; j != nil {
		return j
	}
	p := g.plan
	sa := stitchedApproaches[ap]
	ja, jb := g.modelJob(sa.a, f), g.modelJob(sa.b, f)
	type settings struct {
		Data   partyData  `json:"data"`
		Seed   uint64     `json:"seed"`
		Stitch StitchPlan `json:"stitch"`
	}
	st := settings{Data: g.data(sa.party, f), Seed: p.Seeds.Stitch, Stitch: p.Stitch}
	j := &Job{ID: fmt.Sprintf("fold %d: stitch %s", f, ap), Kind: KindStitch, Approach: ap, Fold: f, Deps: []*Job{ja, jb},
		Model: "stitched.ckpt", settings: st, Parties: []string{sa.party}, Inputs: []JobFile{{ja, ja.Model}, {jb, jb.Model}},
		Resume: []string{"stitched.ckpt"}}
	j.run = func(ctx context.Context, env *jobEnv) error {
		out := filepath.Join(env.dir, "stitched.ckpt")
		spec := StitchSpec{Out: out, A: env.path(ja, ja.Model), B: env.path(jb, jb.Model), Data: st.Data.Data, Size: st.Data.Size,
			Fold: f, SplitSeed: p.SplitSeed, Split: "train", Points: st.Stitch.Points, Opts: withStitchPrecision(stitchOpts(st.Stitch, st.Seed), p.Precision), Loader: env.load,
			Resume: exists(out)}
		_, err := StitchTrain(ctx, env.b, spec, func(e StitchEvent) {
			if e.Kind == "step" && e.Progress.Iters > 0 {
				pr := e.Progress
				env.progress(float64(pr.Epoch*pr.Iters+pr.Iter) / float64(pr.Epochs*pr.Iters))
			}
		})
		return err
	}
	g.add(j)
	g.model[key] = j
	return j
}

// sweepJob scores every stitch-ensemble of a stitched approach (and its A,
// B and a&b) on the stitching party's validation part.
func (g *graph) sweepJob(ap string, f int) *Job {
	p := g.plan
	sj := g.stitchJob(ap, f)
	party := stitchedApproaches[ap].party
	type settings struct {
		Data  partyData `json:"data"`
		Split string    `json:"split"`
		Batch int       `json:"batch"`
	}
	st := settings{Data: g.data(party, f), Split: "val", Batch: p.EvalBatch}
	j := &Job{ID: fmt.Sprintf("fold %d: sweep %s", f, ap), Kind: KindSweep, Approach: ap, Fold: f, Deps: []*Job{sj}, settings: st,
		Parties: []string{party}, Inputs: []JobFile{{sj, sj.Model}}}
	j.run = func(ctx context.Context, env *jobEnv) error {
		s, err := stitch.Load(env.path(sj, sj.Model), env.b, unet.LoadBase)
		if err != nil {
			return err
		}
		part, err := LoadFold(env.load, []string{st.Data.Data}, st.Data.Size, p.SplitSeed, f)
		if err != nil {
			return err
		}
		sw, err := RunSweep(s, part.Val, st.Batch)
		if err != nil {
			return err
		}
		return sw.WriteCSV(filepath.Join(env.dir, "sweep.csv"))
	}
	return g.add(j)
}

// selectJob reads every sweep and writes selection.json: the stitch-ensemble
// each strategy picks per stitched approach and fold.
func (g *graph) selectJob(sweeps map[string][]*Job) *Job {
	type settings struct {
		Approaches []string `json:"approaches"`
		Folds      []int    `json:"folds"`
	}
	var deps []*Job
	var aps []string
	for _, ap := range g.plan.Approaches {
		if js, ok := sweeps[ap]; ok {
			aps = append(aps, ap)
			deps = append(deps, js...)
		}
	}
	st := settings{Approaches: aps, Folds: g.plan.Folds}
	j := &Job{ID: "select stitch-ensembles", Kind: KindSelect, Fold: -1, Deps: deps, settings: st}
	for _, d := range deps {
		j.Inputs = append(j.Inputs, JobFile{d, "sweep.csv"})
	}
	j.run = func(ctx context.Context, env *jobEnv) error {
		scores := map[string][][]stitch.Score{}
		for _, ap := range aps {
			for _, sj := range sweeps[ap] {
				sw, err := ReadSweepCSV(env.path(sj, "sweep.csv"))
				if err != nil {
					return err
				}
				scores[ap] = append(scores[ap], sw.Scores)
			}
		}
		sel, err := Select(aps, g.plan.Folds, scores)
		if err != nil {
			return err
		}
		b, err := json.MarshalIndent(sel, "", "  ")
		if err != nil {
			return err
		}
		return writeText(filepath.Join(env.dir, "selection.json"), bytes.NewBuffer(append(b, '\n')))
	}
	return g.add(j)
}

// Selection is what the select job writes: per stitched approach, per fold
// (in the plan's fold order), the position each strategy picks.
type Selection struct {
	Folds []int                       `json:"folds"`
	Picks map[string]map[string][]int `json:"picks"` // approach -> strategy -> per fold
	// S3 is strategy 3's position; S3Note says why it is missing when it is.
	S3     int    `json:"s3"`
	S3Note string `json:"s3_note,omitempty"`
}

// Select applies the three strategies to the validation sweeps:
// scores[ap][i][k] is position k's score on fold folds[i].
func Select(aps []string, folds []int, scores map[string][][]stitch.Score) (*Selection, error) {
	sel := &Selection{Folds: folds, Picks: map[string]map[string][]int{}, S3: -1}
	var all [][]stitch.Score
	for _, ap := range aps {
		perFold := scores[ap]
		if len(perFold) != len(folds) {
			return nil, fmt.Errorf("select %s: %d sweeps for %d folds", ap, len(perFold), len(folds))
		}
		sel.Picks[ap] = map[string][]int{}
		for i := range folds {
			for _, s := range []struct {
				name string
				st   stitch.Strategy
			}{{"s1", stitch.BestOfFold}, {"s2", stitch.BestOverFolds}} {
				k, err := stitch.Select(s.st, perFold, i, 0)
				if err != nil {
					return nil, fmt.Errorf("select %s: %w", ap, err)
				}
				sel.Picks[ap][s.name] = append(sel.Picks[ap][s.name], k)
			}
		}
		all = append(all, perFold...)
	}
	if len(all) > 0 {
		n := len(all[0])
		same := true
		for _, sc := range all {
			same = same && len(sc) == n
		}
		if same {
			k, err := stitch.Select(stitch.BestOverFolds, all, 0, 0)
			if err != nil {
				return nil, err
			}
			sel.S3 = k
			for _, ap := range aps {
				sel.Picks[ap]["s3"] = slices.Repeat([]int{k}, len(folds))
			}
		} else {
			sel.S3Note = "the stitched networks have different numbers of matched pairs, so no position is common to all"
		}
	}
	return sel, nil
}

// member is one network of an evaluated approach: a U-Net, or a network
// extracted from a stitched model.
type member struct {
	job     *Job
	stitchK int // -1: the job's U-Net; >= 0: stitch-ensemble k of its stitched model
}

// ensembleOf lists the networks whose probabilities an ensemble averages.
var ensembleOf = map[string][2]string{ApEns: {ApA, ApB}, ApEnsA: {ApA, ApBtoA}, ApEnsB: {ApB, ApAtoB}}

// testJob scores approach ap on one party's test part, so that each
// party's own worker scores its own test set and only scores leave the
// site. It depends on the select job: no test set is scored before every
// selection is written down (DESIGN.md 7.1).
func (g *graph) testJob(ap string, f int, party string, sel *Job) *Job {
	p := g.plan
	type settings struct {
		Approach string    `json:"approach"`
		Test     partyData `json:"test"`
		Batch    int       `json:"batch"`
	}
	st := settings{Approach: ap, Test: g.data(party, f), Batch: p.EvalBatch}
	var nets []*Job
	_, stitched := stitchedApproaches[ap]
	switch {
	case g.model[fmt.Sprintf("%s/%d", ap, f)] != nil && g.model[fmt.Sprintf("%s/%d", ap, f)].Kind == KindDistill:
		nets = []*Job{g.model[fmt.Sprintf("%s/%d", ap, f)]}
	case stitched:
		nets = []*Job{g.stitchJob(ap, f)}
	case ensembleOf[ap] != [2]string{}:
		e := ensembleOf[ap]
		nets = []*Job{g.modelJob(e[0], f), g.modelJob(e[1], f)}
	default:
		nets = []*Job{g.modelJob(ap, f)}
	}
	j := &Job{ID: fmt.Sprintf("fold %d: test %s on %s", f, ap, party), Kind: KindTest, Approach: ap, Fold: f,
		Deps: append(slices.Clone(nets), sel), settings: st, Parties: []string{party}}
	for _, n := range nets {
		j.Inputs = append(j.Inputs, JobFile{n, n.Model})
	}
	if stitched {
		j.Inputs = append(j.Inputs, JobFile{sel, "selection.json"})
	}
	foldIndex := slices.Index(p.Folds, f)
	j.run = func(ctx context.Context, env *jobEnv) error {
		type variant struct {
			prefix  string
			members []member
		}
		var variants []variant
		if stitched {
			var s Selection
			if err := readJSON(env.path(sel, "selection.json"), &s); err != nil {
				return err
			}
			for _, strat := range Strategies {
				picks := s.Picks[ap][strat]
				if len(picks) <= foldIndex {
					continue // no strategy-3 position (see the selection's note)
				}
				variants = append(variants, variant{strat + "-", []member{{nets[0], picks[foldIndex]}}})
			}
		} else {
			var ms []member
			for _, n := range nets {
				ms = append(ms, member{n, -1})
			}
			variants = append(variants, variant{"", ms})
		}
		part, err := LoadFold(env.load, []string{st.Test.Data}, st.Test.Size, p.SplitSeed, f)
		if err != nil {
			return err
		}
		for i, v := range variants {
			if err := ctx.Err(); err != nil {
				return err
			}
			res, err := scoreMembers(env, v.members, part.Test, st.Batch)
			if err != nil {
				return err
			}
			if err := metrics.WriteCSV(filepath.Join(env.dir, fmt.Sprintf("%stest-%s.csv", v.prefix, party)), res); err != nil {
				return err
			}
			env.progress(float64(i+1) / float64(len(variants)))
		}
		return nil
	}
	g.tests[testKey{ap, f, party}] = j
	return g.add(j)
}

// testKey names a test job: approach, fold, party whose test set.
type testKey struct {
	approach string
	fold     int
	party    string
}

// scoreMembers averages the members' probabilities per sample and scores them.
func scoreMembers(env *jobEnv, ms []member, samples []unet.Input, batch int) ([]metrics.Score, error) {
	var sum []*tensor.Tensor
	for _, m := range ms {
		var probs []*tensor.Tensor
		if m.stitchK < 0 {
			l, err := unet.Load(env.path(m.job, m.job.Model), env.b)
			if err != nil {
				return nil, err
			}
			if probs, err = l.Model.Probabilities(samples, batch); err != nil {
				return nil, err
			}
		} else {
			s, err := stitch.Load(env.path(m.job, m.job.Model), env.b, unet.LoadBase)
			if err != nil {
				return nil, err
			}
			set, err := stitch.StitchEnsemble(s.M.Pairs(), m.stitchK)
			if err != nil {
				return nil, err
			}
			if probs, err = StitchedProbabilities(s, set, samples, batch); err != nil {
				return nil, err
			}
		}
		if sum == nil {
			sum = probs
			continue
		}
		for i := range sum {
			if !sum[i].Shape.Equal(probs[i].Shape) {
				return nil, fmt.Errorf("sample %q: ensemble members give %v and %v", samples[i].Name, sum[i].Shape, probs[i].Shape)
			}
			for k, v := range probs[i].Data {
				sum[i].Data[k] += v
			}
		}
	}
	if len(ms) > 1 {
		inv := 1 / float32(len(ms))
		for _, t := range sum {
			for k := range t.Data {
				t.Data[k] *= inv
			}
		}
	}
	return ScoreProbs(sum, samples)
}

// buildGraph lays out every job of plan p.
func buildGraph(p *Plan) *graph {
	g := &graph{plan: p, byID: map[string]*Job{}, model: map[string]*Job{}, tests: map[testKey]*Job{}}
	sweeps := map[string][]*Job{}
	for _, f := range p.Folds {
		for _, ap := range p.Approaches {
			if _, ok := stitchedApproaches[ap]; ok {
				sweeps[ap] = append(sweeps[ap], g.sweepJob(ap, f))
			}
		}
	}
	sel := g.selectJob(sweeps)
	dist := p.distilled()
	for _, f := range p.Folds {
		for _, d := range dist {
			g.distillJob(d[1], f, sel)
		}
	}
	for _, f := range p.Folds {
		for _, ap := range p.Approaches {
			for _, party := range []string{"a", "b"} {
				g.testJob(ap, f, party, sel)
			}
		}
		for _, d := range dist {
			for _, party := range []string{"a", "b"} {
				g.testJob(d[0], f, party, sel)
			}
		}
	}
	return g
}

// distillJob adds the distillation of stitched approach ap on fold f: the
// stitching party's own network (A of a <-[a]-> ..., B of ... <-[b]-> b)
// distilled on its training part from the stitch-ensemble that strategy s1
// selected on its validation part.
func (g *graph) distillJob(ap string, f int, sel *Job) *Job {
	p := g.plan
	name := DistilledName(ap)
	sa := stitchedApproaches[ap]
	sj := g.stitchJob(ap, f)
	type settings struct {
		Data     partyData   `json:"data"`
		Student  string      `json:"student"`
		Strategy string      `json:"strategy"`
		UNet     UNetPlan    `json:"unet"`
		Distill  DistillPlan `json:"distill"`
		Validate bool        `json:"validate,omitempty"`
	}
	st := settings{Data: g.data(sa.party, f), Student: sa.party, Strategy: "s1", UNet: p.UNet, Distill: *p.Distill, Validate: p.Curves}
	j := &Job{ID: fmt.Sprintf("fold %d: distill %s", f, name), Kind: KindDistill, Approach: name, Fold: f, Deps: []*Job{sj, sel},
		Model: "student.ckpt", settings: st, Parties: []string{sa.party},
		Inputs: []JobFile{{sj, sj.Model}, {sel, "selection.json"}}, Resume: []string{"student.ckpt"}}
	foldIndex := slices.Index(p.Folds, f)
	j.run = func(ctx context.Context, env *jobEnv) error {
		var s Selection
		if err := readJSON(env.path(sel, "selection.json"), &s); err != nil {
			return err
		}
		picks := s.Picks[ap][st.Strategy]
		if foldIndex < 0 || len(picks) <= foldIndex {
			return fmt.Errorf("selection.json holds no %s pick of %s for fold %d", st.Strategy, ap, f)
		}
		d := st.Distill
		opts := withPrecision(unetOpts(st.UNet, d.Epochs), p.Precision)
		opts.ItersPerEpoch, opts.BatchSize, opts.LR = d.Iters, d.Batch, float32(float64(st.UNet.LR)*d.LRFactor)
		out := filepath.Join(env.dir, "student.ckpt")
		spec := DistillSpec{Out: out, Teacher: env.path(sj, sj.Model), Net: fmt.Sprintf("stitch-ensemble:%d", picks[foldIndex]),
			Data: st.Data.Data, Size: st.Data.Size, Fold: f, SplitSeed: p.SplitSeed, Student: st.Student, Seed: d.Seed, Opts: opts,
			Temperature: d.Temperature, Alpha: d.Alpha, Validate: st.Validate, Loader: env.load, Resume: exists(out)}
		res, err := Distill(ctx, env.b, spec, func(e DistillEvent) {
			if e.Kind == "step" && e.Progress.Iters > 0 && e.Progress.Epochs > 0 {
				pr := e.Progress
				env.progress(float64(pr.Epoch*pr.Iters+pr.Iter) / float64(pr.Epochs*pr.Iters))
			}
		})
		if err != nil || !st.Validate {
			return err
		}
		// The student's whole log (resumed epochs included) is in its
		// checkpoint; log.csv is that log, for the report's curves.
		return WriteTrainLog(filepath.Join(env.dir, "log.csv"), res.State.Log)
	}
	g.add(j)
	g.model[fmt.Sprintf("%s/%d", name, f)] = j
	return j
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
