package experiment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"suture/kernels"
	"suture/stitch"
	"suture/unet"
)

// The approaches of the paper's Table 2 (DESIGN.md 7.1), by their shorthand.
const (
	ApA        = "a"
	ApB        = "b"
	ApAtoB     = "a -> b"
	ApBtoA     = "b -> a"
	ApEns      = "a & b"
	ApEnsA     = "a & (b -> a)"
	ApEnsB     = "b & (a -> b)"
	ApFed      = "a || b"
	ApPooled   = "a + b"
	ApStitchA  = "a <-[a]-> b"
	ApStitchB  = "a <-[b]-> b"
	ApStitchAF = "a <-[a]-> (b -> a)"
	ApStitchBF = "(a -> b) <-[b]-> b"
)

// Approaches lists every approach in the report's order.
var Approaches = []string{ApA, ApB, ApAtoB, ApBtoA, ApEns, ApEnsA, ApEnsB, ApFed, ApPooled, ApStitchA, ApStitchB, ApStitchAF, ApStitchBF}

// stitchedApproaches are the approaches that train stitches, with the party
// whose data trains the stitches (and selects the stitch-ensemble), and the
// approaches giving their networks A and B.
var stitchedApproaches = map[string]struct {
	party string
	a, b  string
}{
	ApStitchA:  {"a", ApA, ApB},
	ApStitchB:  {"b", ApA, ApB},
	ApStitchAF: {"a", ApA, ApBtoA},
	ApStitchBF: {"b", ApAtoB, ApB},
}

// Strategies names the stitch-selection strategies (DESIGN.md 7.1).
var Strategies = []string{"s1", "s2", "s3"}

// StrategyNames describes them for the report.
var StrategyNames = map[string]string{
	"s1": "best mean rank on this fold",
	"s2": "best mean rank over the folds",
	"s3": "best position over all stitched networks, folds and both parties (uses data a party would not have)",
}

// Plan is an evaluation protocol with every setting spelled out: the two
// parties, the folds, the approaches and how each is trained. Written by
// `suture experiment plan`, edited by the user, run by `suture experiment
// run`. Results are tied to the plan's name: a plan changed after test
// scores were computed must get a new name (DESIGN.md 7.1).
type Plan struct {
	Name       string   `json:"name"`
	Note       string   `json:"note,omitempty"`
	A          Party    `json:"a"`
	B          Party    `json:"b"`
	SplitSeed  uint64   `json:"split_seed"`
	Folds      []int    `json:"folds"`
	Approaches []string `json:"approaches"`
	// UNet trains a, b and a + b (nnU-Net's settings unless changed).
	UNet     UNetPlan     `json:"unet"`
	FineTune FineTunePlan `json:"finetune"`
	Fed      FedPlan      `json:"fedavg"`
	Stitch   StitchPlan   `json:"stitch"`
	Seeds    SeedPlan     `json:"seeds"`
	// EvalBatch is the number of images per forward pass when scoring.
	EvalBatch int `json:"eval_batch"`
	// Precision of the trainings' convolutions and GEMMs: "" or "fp32",
	// or "bf16" (kernels.Precision). Recorded in every checkpoint; scoring
	// runs FP32.
	Precision string `json:"precision,omitempty"`
	// Distill, when set, adds for every stitched approach its distilled
	// student (DistilledName): the party's own network distilled from the
	// stitch-ensemble that strategy s1 selected (docs/distill.md). Absent
	// (the default), a plan's jobs, keys and report are as without it.
	Distill *DistillPlan `json:"distill,omitempty"`
	// Curves, when set, scores every trained network's validation part
	// after each epoch (U-Nets, fine-tunings, pooled training, the rounds
	// of a local federated run, students; log.csv), which changes no
	// weight, and adds the training curves to the report. Absent (the
	// default), jobs, keys and report are as without it.
	Curves bool `json:"curves,omitempty"`
}

// DistillPlan are the distillation settings of a plan.
type DistillPlan struct {
	Epochs      int     `json:"epochs"`
	Iters       int     `json:"iters_per_epoch"` // 0: one pass over the training part
	Batch       int     `json:"batch"`
	LRFactor    float64 `json:"lr_factor"` // times the unet lr (the student starts trained)
	Temperature float64 `json:"temperature"`
	Alpha       float64 `json:"alpha"`
	Seed        uint64  `json:"seed"`
}

// DefaultDistillPlan is `suture distill`'s defaults for plan p.
func DefaultDistillPlan(p *Plan) *DistillPlan {
	return &DistillPlan{Epochs: p.UNet.Epochs, Batch: p.UNet.Batch, LRFactor: 0.1, Temperature: 2, Alpha: 1, Seed: 10}
}

// DistilledName is the approach of the student distilled from stitched
// approach ap's selected stitch-ensemble: "distil(a <-[a]-> b)".
func DistilledName(ap string) string { return "distil(" + ap + ")" }

// distilled lists the distilled approaches of plan p with their stitched
// approach, in the plan's order (none unless p.Distill is set).
func (p *Plan) distilled() [][2]string {
	if p.Distill == nil {
		return nil
	}
	var out [][2]string
	for _, ap := range p.Approaches {
		if _, ok := stitchedApproaches[ap]; ok {
			out = append(out, [2]string{DistilledName(ap), ap})
		}
	}
	return out
}

// Party is one party's dataset.
type Party struct {
	Name string `json:"name"`
	Data string `json:"data"` // dataset folder or synth:PARTY[:N[:SIZE[:SEED]]]
	Size int    `json:"size"` // resize original Kvasir/CVC frames (0: as stored)
}

// UNetPlan are the U-Net training settings.
type UNetPlan struct {
	Epochs      int     `json:"epochs"`
	Iters       int     `json:"iters_per_epoch"` // 0: one pass over the training part
	Batch       int     `json:"batch"`
	LR          float32 `json:"lr"`
	Momentum    float32 `json:"momentum"`
	WeightDecay float32 `json:"weight_decay"`
	ClipNorm    float64 `json:"clip_norm"`
	Augment     bool    `json:"augment"`
	Features    []int   `json:"features,omitempty"` // nil: the planner's
}

// FineTunePlan are the settings of "a -> b" and "b -> a" (docs/evaluation.md).
type FineTunePlan struct {
	Epochs       int     `json:"epochs"`
	LRFactor     float64 `json:"lr_factor"`
	WarmupEpochs int     `json:"warmup_epochs"`
}

// FedPlan are the settings of "a || b".
type FedPlan struct {
	Rounds    int    `json:"rounds"`
	Weighting string `json:"weighting"` // samples or equal
}

// StitchPlan are the stitch-training settings.
type StitchPlan struct {
	Mode        string  `json:"mode"` // double or direct
	Points      string  `json:"points"`
	Epochs      int     `json:"epochs"`
	Iters       int     `json:"iters_per_epoch"`
	Batch       int     `json:"batch"`
	LR          float32 `json:"lr"`
	WeightDecay float32 `json:"weight_decay"`
}

// SeedPlan gives each trained thing its seed; the same seed serves every
// fold (the folds' data differ).
type SeedPlan struct {
	A      uint64 `json:"a"`
	B      uint64 `json:"b"`
	AtoB   uint64 `json:"a -> b"`
	BtoA   uint64 `json:"b -> a"`
	Pooled uint64 `json:"a + b"`
	// FedInit is the shared initialisation of a || b; FedA and FedB the
	// parties' batches and augmentation.
	FedInit uint64 `json:"a || b init"`
	FedA    uint64 `json:"a || b party a"`
	FedB    uint64 `json:"a || b party b"`
	Stitch  uint64 `json:"stitch"`
}

// DefaultPlan is the protocol of DESIGN.md 7.1 for parties a and b, with
// the settings sized for this project's 2-core machine (docs/evaluation.md
// gives the reasons).
func DefaultPlan(name, a, b string) *Plan {
	u := unet.DefaultTrainOptions()
	st := stitch.DefaultTrainOptions(stitch.Double)
	return &Plan{
		Name: name, A: Party{Name: "a", Data: a}, B: Party{Name: "b", Data: b},
		Folds: []int{0, 1, 2, 3, 4}, Approaches: slices.Clone(Approaches),
		UNet: UNetPlan{Epochs: 25, Batch: u.BatchSize, LR: u.LR, Momentum: u.Momentum, WeightDecay: u.WeightDecay,
			ClipNorm: u.ClipNorm, Augment: true},
		FineTune: FineTunePlan{Epochs: 8, LRFactor: 0.1, WarmupEpochs: 2},
		Fed:      FedPlan{Rounds: 25, Weighting: "samples"},
		Stitch: StitchPlan{Mode: "double", Points: "all", Epochs: 5, Batch: st.BatchSize, LR: st.LR,
			WeightDecay: st.WeightDecay},
		Seeds:     SeedPlan{A: 1, B: 2, AtoB: 3, BtoA: 4, Pooled: 5, FedInit: 6, FedA: 7, FedB: 8, Stitch: 9},
		EvalBatch: 32,
	}
}

// QuickPlan is a tiny plan for trying the pipeline out and for tests: two
// folds, a few short epochs; synthetic parties get 16-pixel images.
func QuickPlan(name, a, b string) *Plan {
	p := DefaultPlan(name, quickData(a), quickData(b))
	p.Folds = []int{0, 1}
	p.UNet.Epochs, p.UNet.Iters, p.UNet.Batch, p.UNet.Features = 2, 2, 4, []int{4, 8}
	p.FineTune.Epochs, p.FineTune.WarmupEpochs = 2, 1
	p.Fed.Rounds = 2
	p.Stitch.Epochs, p.Stitch.Iters = 1, 2
	return p
}

// PlanName is the name of a plan stored at path: its file name without
// ".json".
func PlanName(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		path = path[i+1:]
	}
	return strings.TrimSuffix(path, ".json")
}

// Drop leaves approach out of the plan.
func (p *Plan) Drop(approach string) error {
	i := slices.Index(p.Approaches, approach)
	if i < 0 {
		return fmt.Errorf("%q: not an approach of the plan (%s)", approach, strings.Join(p.Approaches, ", "))
	}
	p.Approaches = slices.Delete(p.Approaches, i, i+1)
	return nil
}

// quickData shrinks a synthetic spec to 48 images of 16 pixels.
func quickData(spec string) string {
	rest, ok := strings.CutPrefix(spec, "synth:")
	if !ok {
		return spec
	}
	party, _, _ := strings.Cut(rest, ":")
	return "synth:" + party + ":48:16"
}

// Validate checks a plan, and that its datasets exist here, and names the
// first thing at fault.
func (p *Plan) Validate() error {
	if err := p.ValidateSettings(); err != nil {
		return err
	}
	for _, party := range []Party{p.A, p.B} {
		if !strings.HasPrefix(party.Data, "synth:") {
			if _, err := os.Stat(party.Data); err != nil {
				return fmt.Errorf("plan: party %s: dataset %s: %w", party.Name, party.Data, err)
			}
		}
	}
	return nil
}

// ValidateSettings checks a plan's settings but not its datasets, which
// need not exist where the plan is coordinated or reported (a consortium's
// data stays at its sites).
func (p *Plan) ValidateSettings() error {
	if p.Name == "" || strings.ContainsAny(p.Name, "/\\\n") {
		return fmt.Errorf("plan: name %q must be non-empty, one line, without slashes", p.Name)
	}
	if p.Precision != "" {
		if _, err := kernels.ParsePrecision(p.Precision); err != nil {
			return fmt.Errorf("plan: %w", err)
		}
	}
	for _, party := range []Party{p.A, p.B} {
		if party.Data == "" {
			return fmt.Errorf("plan: party %s has no dataset", party.Name)
		}
		if party.Size < 0 {
			return fmt.Errorf("plan: party %s: negative size %d", party.Name, party.Size)
		}
	}
	if p.A.Name != "a" || p.B.Name != "b" {
		return fmt.Errorf("plan: the parties are named a and b (got %q and %q)", p.A.Name, p.B.Name)
	}
	if len(p.Folds) == 0 {
		return fmt.Errorf("plan: no folds")
	}
	seen := map[int]bool{}
	for _, f := range p.Folds {
		if f < 0 || f > 4 {
			return fmt.Errorf("plan: fold %d outside 0..4", f)
		}
		if seen[f] {
			return fmt.Errorf("plan: fold %d listed twice", f)
		}
		seen[f] = true
	}
	if len(p.Approaches) == 0 {
		return fmt.Errorf("plan: no approaches")
	}
	for _, a := range p.Approaches {
		if !slices.Contains(Approaches, a) {
			return fmt.Errorf("plan: unknown approach %q (known: %s)", a, strings.Join(Approaches, ", "))
		}
	}
	if !slices.Contains(p.Approaches, ApA) || !slices.Contains(p.Approaches, ApB) {
		return fmt.Errorf("plan: approaches a and b are each perspective's reference and cannot be left out")
	}
	u := p.UNet
	switch {
	case u.Epochs < 1 || u.Batch < 1 || u.Iters < 0:
		return fmt.Errorf("plan: unet epochs %d and batch %d must be >= 1, iters_per_epoch %d >= 0", u.Epochs, u.Batch, u.Iters)
	case !(u.LR > 0):
		return fmt.Errorf("plan: unet lr %v must be > 0", u.LR)
	case p.FineTune.Epochs < 1 || !(p.FineTune.LRFactor > 0) || p.FineTune.WarmupEpochs < 0:
		return fmt.Errorf("plan: finetune epochs %d >= 1, lr_factor %v > 0 and warmup_epochs %d >= 0 required",
			p.FineTune.Epochs, p.FineTune.LRFactor, p.FineTune.WarmupEpochs)
	case p.Fed.Rounds < 1:
		return fmt.Errorf("plan: fedavg rounds %d must be >= 1", p.Fed.Rounds)
	case p.Stitch.Epochs < 1 || p.Stitch.Batch < 1 || p.Stitch.Iters < 0 || !(p.Stitch.LR > 0):
		return fmt.Errorf("plan: stitch epochs %d and batch %d must be >= 1, lr %v > 0", p.Stitch.Epochs, p.Stitch.Batch, p.Stitch.LR)
	case p.EvalBatch < 1:
		return fmt.Errorf("plan: eval_batch %d must be >= 1", p.EvalBatch)
	}
	if d := p.Distill; d != nil {
		switch {
		case d.Epochs < 1 || d.Batch < 1 || d.Iters < 0:
			return fmt.Errorf("plan: distill epochs %d and batch %d must be >= 1, iters_per_epoch %d >= 0", d.Epochs, d.Batch, d.Iters)
		case !(d.LRFactor > 0) || !(d.Temperature > 0) || !(d.Alpha >= 0):
			return fmt.Errorf("plan: distill lr_factor %v and temperature %v must be > 0, alpha %v >= 0", d.LRFactor, d.Temperature, d.Alpha)
		}
	}
	if _, err := fedWeights(p.Fed.Weighting, 1, 1); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	if _, err := stitch.ParseMode(p.Stitch.Mode); err != nil {
		return fmt.Errorf("plan: stitch mode: %w", err)
	}
	if err := stitch.CheckPoints(p.Stitch.Points); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	return nil
}

// Encode is the plan as indented JSON (the file format).
func (p *Plan) Encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep "a -> b" readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Save writes the plan atomically.
func (p *Plan) Save(path string) error {
	b, err := p.Encode()
	if err != nil {
		return err
	}
	return writeText(path, bytes.NewBuffer(b))
}

// LoadPlan reads and validates a plan file; unknown fields are errors (a
// misspelt setting must not be silently ignored).
func LoadPlan(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParsePlan(b, path)
}

// IsPlanFile reports whether the file at path is a valid plan (LoadPlan).
func IsPlanFile(path string) bool {
	_, err := LoadPlan(path)
	return err == nil
}

// ParsePlan decodes and validates a plan; name is used in errors.
func ParsePlan(b []byte, name string) (*Plan, error) {
	p, err := ParsePlanUnchecked(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// ParseStoredPlan decodes a plan and checks its settings, not its datasets
// (a results folder's or a queue's plan, reported where the data is not).
func ParseStoredPlan(b []byte, name string) (*Plan, error) {
	p, err := ParsePlanUnchecked(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := p.ValidateSettings(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// LoadStoredPlan reads a stored plan: a results folder's, or one for a
// queue, whose datasets are elsewhere (ParseStoredPlan).
func LoadStoredPlan(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseStoredPlan(b, path)
}

// ParsePlanUnchecked decodes a plan without validating it (its datasets
// need not exist here).
func ParsePlanUnchecked(b []byte) (*Plan, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, err
	}
	return &p, nil
}

// party returns party a's or b's settings.
func (p *Plan) party(name string) Party {
	if name == "a" {
		return p.A
	}
	return p.B
}

// has reports whether the plan lists approach ap.
func (p *Plan) has(ap string) bool { return slices.Contains(p.Approaches, ap) }
