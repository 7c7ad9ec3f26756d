package experiment

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"suture/io/ckpt"
	"suture/kernels"
	"suture/nn"
	"suture/stitch"
	"suture/tensor"
	"suture/unet"
)

// PairInfo records one matched pair in a stitched checkpoint.
type PairInfo struct {
	Index     int     `json:"index"`
	AVertex   int     `json:"a_vertex"`
	BVertex   int     `json:"b_vertex"`
	AName     string  `json:"a_name"`
	BName     string  `json:"b_name"`
	AShape    [3]int  `json:"a_shape"` // (C, H, W)
	BShape    [3]int  `json:"b_shape"`
	AProgress float64 `json:"a_progress"`
	BProgress float64 `json:"b_progress"`
}

// StitchedMeta is the metadata of a stitched checkpoint. The base networks
// are stored in full (metadata under "a" and "b", tensors a/..., b/...), so
// a stitched checkpoint stands alone; their fingerprints catch a mismatch
// with base checkpoints given alongside it.
type StitchedMeta struct {
	AFingerprint string              `json:"a_fingerprint"`
	BFingerprint string              `json:"b_fingerprint"`
	Input        [3]int              `json:"input"` // (C, H, W) used to find candidates
	Points       string              `json:"points"`
	Match        stitch.MatchOptions `json:"match"`
	Pairs        []PairInfo          `json:"pairs"`
	Train        stitch.TrainOptions `json:"train"`
	State        stitch.TrainState   `json:"state"`
	Run          RunInfo             `json:"run"`
	OptStep      int                 `json:"opt_step"`
}

// Stitched is a stitched model with its two base U-Nets.
type Stitched struct {
	A, B *unet.Model
	M    *stitch.Model
	Meta StitchedMeta
	// adam holds AdamW moments read from a checkpoint, for resuming.
	adam []*tensor.Tensor
}

var stagePoint = regexp.MustCompile(`^(enc|dec)(\d+)\.act(\d+)$`)

// PointFilter returns the candidate filter named by points: "all" (every
// vertex) or "stage" (the output of every encoder and decoder stage, as in
// the benchmark's stitch case).
func PointFilter(g *nn.Graph, cfg *unet.Config, points string) (func(v int) bool, error) {
	switch points {
	case "", "all":
		return nil, nil
	case "stage":
		return func(v int) bool {
			m := stagePoint.FindStringSubmatch(g.Vertices[v].Name)
			if m == nil {
				return false
			}
			s, _ := strconv.Atoi(m[2])
			j, _ := strconv.Atoi(m[3])
			if m[1] == "enc" {
				return j == cfg.NConvPerStage[s]-1
			}
			return j == cfg.NConvPerStageDecoder[s]-1
		}, nil
	}
	return nil, fmt.Errorf("stitch points %q, want all or stage", points)
}

// NewStitched matches a and b on inputs of (c, h, w) and joins them.
func NewStitched(b kernels.Backend, a, bb *unet.Model, c, h, w int, points string, mo stitch.MatchOptions, seed uint64) (*Stitched, error) {
	cands := [2][]stitch.Candidate{}
	for i, m := range []*unet.Model{a, bb} {
		if err := m.Config.CheckInput(c, h, w); err != nil {
			return nil, fmt.Errorf("network %c: %w", "AB"[i], err)
		}
		sh, err := stitch.Shapes(b, m.Graph, c, h, w)
		if err != nil {
			return nil, err
		}
		keep, err := PointFilter(m.Graph, m.Config, points)
		if err != nil {
			return nil, err
		}
		if cands[i], err = stitch.Candidates(m.Graph, sh, keep); err != nil {
			return nil, err
		}
	}
	pairs := stitch.Align(stitch.Similarity(cands[0], cands[1], mo))
	if len(pairs) == 0 {
		return nil, fmt.Errorf("networks A and B cannot be matched: they share no spatial scale at input %dx%d", h, w)
	}
	sm, err := stitch.New(b, a.Graph, bb.Graph, a.Params, bb.Params, cands[0], cands[1], pairs, seed)
	if err != nil {
		return nil, err
	}
	s := &Stitched{A: a, B: bb, M: sm, Meta: StitchedMeta{Input: [3]int{c, h, w}, Points: points, Match: mo}}
	for _, st := range sm.Stitches {
		s.Meta.Pairs = append(s.Meta.Pairs, PairInfo{
			Index: st.Index, AVertex: st.A.Vertex, BVertex: st.B.Vertex, AName: st.A.Name, BName: st.B.Name,
			AShape: [3]int{st.A.C, st.A.H, st.A.W}, BShape: [3]int{st.B.C, st.B.H, st.B.W},
			AProgress: st.A.Progress, BProgress: st.B.Progress,
		})
	}
	if s.Meta.AFingerprint, err = Fingerprint(a); err != nil {
		return nil, err
	}
	if s.Meta.BFingerprint, err = Fingerprint(bb); err != nil {
		return nil, err
	}
	return s, nil
}

// Save writes the stitched model (both base networks, the stitches, and the
// training state when tr is not nil) atomically.
func (s *Stitched) Save(path string, tr *stitch.Trainer) error {
	c := &ckpt.Checkpoint{}
	for i, m := range []*unet.Model{s.A, s.B} {
		prefix := string("ab"[i])
		ts, err := paramTensors(m.Params, prefix+"/")
		if err != nil {
			return err
		}
		c.Tensors = append(c.Tensors, ts...)
		if err := c.SetMeta(prefix, UNetMeta{Config: m.Config}); err != nil {
			return err
		}
	}
	ts, err := paramTensors(s.M.Params, "stitch/")
	if err != nil {
		return err
	}
	c.Tensors = append(c.Tensors, ts...)
	meta := s.Meta
	if tr != nil {
		meta.Train, meta.State = tr.Opts, tr.State
		bufs, step := tr.Opt.State()
		meta.OptStep = step
		for i, buf := range bufs {
			h := tensor.New(buf.Numel())
			if err := s.M.Backend.Download(h.Data, buf); err != nil {
				return err
			}
			c.Tensors = append(c.Tensors, ckpt.Named{Name: fmt.Sprintf("optim/adam%d", i), T: h})
		}
	}
	if err := c.SetMeta("kind", kindStitched); err != nil {
		return err
	}
	if err := c.SetMeta("stitched", meta); err != nil {
		return err
	}
	return ckpt.Write(path, c)
}

// LoadStitched reads a stitched checkpoint onto backend b.
func LoadStitched(path string, b kernels.Backend) (*Stitched, error) {
	c, kind, err := readKind(path)
	if err != nil {
		return nil, err
	}
	if kind != kindStitched {
		return nil, fmt.Errorf("%s: a %s checkpoint, not a stitched model", path, kind)
	}
	var meta StitchedMeta
	if err := c.GetMeta("stitched", &meta); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var base [2]*unet.Model
	for i := range base {
		l, err := unetFrom(path, c, b, string("ab"[i]), string("ab"[i])+"/")
		if err != nil {
			return nil, fmt.Errorf("network %c: %w", "AB"[i], err)
		}
		base[i] = l.Model
	}
	in := meta.Input
	s, err := NewStitched(b, base[0], base[1], in[0], in[1], in[2], meta.Points, meta.Match, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(s.Meta.Pairs) != len(meta.Pairs) {
		return nil, fmt.Errorf("%s: the networks now match in %d pairs, the checkpoint has %d", path, len(s.Meta.Pairs), len(meta.Pairs))
	}
	for k, p := range meta.Pairs {
		q := s.Meta.Pairs[k]
		if p.AVertex != q.AVertex || p.BVertex != q.BVertex {
			return nil, fmt.Errorf("%s: pair %d joins %s and %s, the matching now gives %s and %s", path, k, p.AName, p.BName, q.AName, q.BName)
		}
	}
	if s.Meta.AFingerprint != meta.AFingerprint || s.Meta.BFingerprint != meta.BFingerprint {
		return nil, fmt.Errorf("%s: base network weights do not match their recorded fingerprints (corrupt checkpoint?)", path)
	}
	values := map[string]*tensor.Tensor{}
	for _, nt := range c.Tensors {
		if name, ok := strings.CutPrefix(nt.Name, "stitch/"); ok {
			values[name] = nt.T
		}
		if strings.HasPrefix(nt.Name, "optim/adam") {
			s.adam = append(s.adam, nt.T)
		}
	}
	if err := s.M.Params.Load(values); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.Meta = meta
	return s, nil
}

// CheckBases verifies that base networks given alongside a stitched model
// are the ones it was built from.
func (s *Stitched) CheckBases(a, b *unet.Model) error {
	for i, m := range []*unet.Model{a, b} {
		if m == nil {
			continue
		}
		fp, err := Fingerprint(m)
		if err != nil {
			return err
		}
		want := []string{s.Meta.AFingerprint, s.Meta.BFingerprint}[i]
		if fp != want {
			return fmt.Errorf("network %c given does not match the one this stitched model was built from (fingerprint %.12s, want %.12s)", "AB"[i], fp, want)
		}
	}
	return nil
}

// Resume restores stitch training state into tr.
func (s *Stitched) Resume(tr *stitch.Trainer) error {
	if len(s.adam) != 2 {
		return fmt.Errorf("stitched checkpoint holds no training state")
	}
	tr.State = s.Meta.State
	return tr.Opt.SetState(s.adam, s.Meta.OptStep)
}
