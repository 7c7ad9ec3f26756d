package stitch

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"

	"suture/io/ckpt"
	"suture/kernels"
	"suture/nn"
	"suture/tensor"
)

// Base is one of the two networks a stitched model joins, as a stitched
// checkpoint sees it. Package stitch knows nothing of what built the graph;
// the package that owns the network type implements Base (*unet.Model does)
// and supplies the matching BaseLoader.
type Base interface {
	// Net returns the network's graph and its parameters (bound to a backend).
	Net() (*nn.Graph, *nn.ParamSet)
	// CheckInput reports whether a (C, H, W) input fits the network.
	CheckInput(c, h, w int) error
	// Points returns the candidate filter named by points ("all": nil).
	Points(points string) (func(v int) bool, error)
	// BaseMeta is stored (as JSON) beside the parameters; with them it
	// rebuilds the network through a BaseLoader.
	BaseMeta() any
	// Fingerprint identifies the network (architecture and weights).
	Fingerprint() (string, error)
}

// BaseLoader rebuilds a base network on backend b from the JSON that its
// BaseMeta wrote and its parameters by name.
type BaseLoader[N Base] func(b kernels.Backend, meta json.RawMessage, params map[string]*tensor.Tensor) (N, error)

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

// Meta is the metadata of a stitched checkpoint (meta key "stitched";
// "kind" is "stitched"). The base networks are stored in full (their
// BaseMeta under "a" and "b", tensors a/..., b/...), so a stitched
// checkpoint stands alone; their fingerprints catch a mismatch with base
// checkpoints given alongside it.
type Meta struct {
	AFingerprint string       `json:"a_fingerprint"`
	BFingerprint string       `json:"b_fingerprint"`
	Input        [3]int       `json:"input"` // (C, H, W) used to find candidates
	Points       string       `json:"points"`
	Match        MatchOptions `json:"match"`
	Pairs        []PairInfo   `json:"pairs"`
	Train        TrainOptions `json:"train"`
	State        TrainState   `json:"state"`
	Run          ckpt.RunInfo `json:"run"`
	OptStep      int          `json:"opt_step"`
}

// Kind is the "kind" meta value of a stitched checkpoint.
const Kind = "stitched"

// Joined is a stitched model with its two base networks: what a stitched
// checkpoint holds.
type Joined[N Base] struct {
	A, B N
	M    *Model
	Meta Meta
	// adam holds AdamW moments read from a checkpoint, for resuming.
	adam []*tensor.Tensor
}

// Join matches a and b on inputs of (c, h, w) at the candidate points named
// by points (see CheckPoints and Base.Points) and joins them; stitch
// weights come from seed.
func Join[N Base](b kernels.Backend, a, bb N, c, h, w int, points string, mo MatchOptions, seed uint64) (*Joined[N], error) {
	filter, every, err := parsePoints(points)
	if err != nil {
		return nil, err
	}
	cands := [2][]Candidate{}
	var graphs [2]*nn.Graph
	var sets [2]*nn.ParamSet
	for i, m := range []N{a, bb} {
		if err := m.CheckInput(c, h, w); err != nil {
			return nil, fmt.Errorf("network %c: %w", "AB"[i], err)
		}
		graphs[i], sets[i] = m.Net()
		sh, err := Shapes(b, graphs[i], c, h, w)
		if err != nil {
			return nil, err
		}
		keep, err := m.Points(filter)
		if err != nil {
			return nil, err
		}
		if cands[i], err = Candidates(graphs[i], sh, keep); err != nil {
			return nil, err
		}
	}
	pairs := thinPairs(Align(Similarity(cands[0], cands[1], mo)), every)
	if len(pairs) == 0 {
		return nil, fmt.Errorf("networks A and B cannot be matched: they share no spatial scale at input %dx%d", h, w)
	}
	sm, err := New(b, graphs[0], graphs[1], sets[0], sets[1], cands[0], cands[1], pairs, seed)
	if err != nil {
		return nil, err
	}
	s := &Joined[N]{A: a, B: bb, M: sm, Meta: Meta{Input: [3]int{c, h, w}, Points: points, Match: mo}}
	for _, st := range sm.Stitches {
		s.Meta.Pairs = append(s.Meta.Pairs, PairInfo{
			Index: st.Index, AVertex: st.A.Vertex, BVertex: st.B.Vertex, AName: st.A.Name, BName: st.B.Name,
			AShape: [3]int{st.A.C, st.A.H, st.A.W}, BShape: [3]int{st.B.C, st.B.H, st.B.W},
			AProgress: st.A.Progress, BProgress: st.B.Progress,
		})
	}
	if s.Meta.AFingerprint, err = a.Fingerprint(); err != nil {
		return nil, err
	}
	if s.Meta.BFingerprint, err = bb.Fingerprint(); err != nil {
		return nil, err
	}
	return s, nil
}

// Checkpoint returns the checkpoint of s: both base networks, the stitches,
// and the training state when tr is not nil.
func (s *Joined[N]) Checkpoint(tr *Trainer) (*ckpt.Checkpoint, error) {
	c := &ckpt.Checkpoint{}
	for i, m := range []N{s.A, s.B} {
		prefix := string("ab"[i])
		_, set := m.Net()
		ts, err := ckpt.ParamTensors(set, prefix+"/")
		if err != nil {
			return nil, err
		}
		c.Tensors = append(c.Tensors, ts...)
		if err := c.SetMeta(prefix, m.BaseMeta()); err != nil {
			return nil, err
		}
	}
	ts, err := ckpt.ParamTensors(s.M.Params, "stitch/")
	if err != nil {
		return nil, err
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
				return nil, err
			}
			c.Tensors = append(c.Tensors, ckpt.Named{Name: fmt.Sprintf("optim/adam%d", i), T: h})
		}
	}
	if err := c.SetMeta("kind", Kind); err != nil {
		return nil, err
	}
	if err := c.SetMeta("stitched", meta); err != nil {
		return nil, err
	}
	return c, nil
}

// Save writes the checkpoint of s (see Checkpoint) to path atomically.
func (s *Joined[N]) Save(path string, tr *Trainer) error {
	c, err := s.Checkpoint(tr)
	if err != nil {
		return err
	}
	return ckpt.Write(path, c)
}

// Write encodes the checkpoint of s (see Checkpoint) to w.
func (s *Joined[N]) Write(w io.Writer, tr *Trainer) error {
	c, err := s.Checkpoint(tr)
	if err != nil {
		return err
	}
	return ckpt.Encode(w, c)
}

// Load reads a stitched checkpoint onto backend b; load rebuilds its base
// networks (unet.LoadBase for U-Nets).
func Load[N Base](path string, b kernels.Backend, load BaseLoader[N]) (*Joined[N], error) {
	c, err := ckpt.Read(path)
	if err != nil {
		return nil, err
	}
	return FromCheckpoint(path, c, b, load)
}

// Read decodes a stitched checkpoint from r (at most ckpt.DefaultMaxBytes)
// onto backend b; load rebuilds its base networks.
func Read[N Base](r io.Reader, b kernels.Backend, load BaseLoader[N]) (*Joined[N], error) {
	c, err := ckpt.Decode(r, ckpt.DefaultMaxBytes)
	if err != nil {
		return nil, err
	}
	return FromCheckpoint("stitched checkpoint", c, b, load)
}

// FromCheckpoint rebuilds the stitched model of a decoded checkpoint; name
// (a path) prefixes errors. The matching is recomputed and must give the
// recorded pairs, and the base networks must match their fingerprints.
func FromCheckpoint[N Base](name string, c *ckpt.Checkpoint, b kernels.Backend, load BaseLoader[N]) (*Joined[N], error) {
	return fromCheckpoint(name, c, b, load, Kind)
}

func fromCheckpoint[N Base](name string, c *ckpt.Checkpoint, b kernels.Backend, load BaseLoader[N], want string) (*Joined[N], error) {
	kind, err := c.Kind()
	if err != nil {
		return nil, fmt.Errorf("%s: not a Suture model checkpoint: %w", name, err)
	}
	if kind != want {
		if want == Kind {
			return nil, fmt.Errorf("%s: a %s checkpoint, not a stitched model", name, kind)
		}
		return nil, fmt.Errorf("%s: a %s checkpoint, not an extracted stitched network", name, kind)
	}
	var meta Meta
	if err := c.GetMeta("stitched", &meta); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var base [2]N
	for i := range base {
		key := string("ab"[i])
		raw, ok := c.Meta[key]
		if !ok {
			return nil, fmt.Errorf("%s: network %c: no meta entry %q", name, "AB"[i], key)
		}
		values := map[string]*tensor.Tensor{}
		for _, nt := range c.Tensors {
			if n, ok := strings.CutPrefix(nt.Name, key+"/"); ok {
				values[n] = nt.T
			}
		}
		if base[i], err = load(b, raw, values); err != nil {
			return nil, fmt.Errorf("network %c: %s: %w", "AB"[i], name, err)
		}
	}
	in := meta.Input
	s, err := Join(b, base[0], base[1], in[0], in[1], in[2], meta.Points, meta.Match, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(s.Meta.Pairs) != len(meta.Pairs) {
		return nil, fmt.Errorf("%s: the networks now match in %d pairs, the checkpoint has %d", name, len(s.Meta.Pairs), len(meta.Pairs))
	}
	for k, p := range meta.Pairs {
		q := s.Meta.Pairs[k]
		if p.AVertex != q.AVertex || p.BVertex != q.BVertex {
			return nil, fmt.Errorf("%s: pair %d joins %s and %s, the matching now gives %s and %s", name, k, p.AName, p.BName, q.AName, q.BName)
		}
	}
	if s.Meta.AFingerprint != meta.AFingerprint || s.Meta.BFingerprint != meta.BFingerprint {
		return nil, fmt.Errorf("%s: base network weights do not match their recorded fingerprints (corrupt checkpoint?)", name)
	}
	values := map[string]*tensor.Tensor{}
	for _, nt := range c.Tensors {
		if n, ok := strings.CutPrefix(nt.Name, "stitch/"); ok {
			values[n] = nt.T
		}
		if strings.HasPrefix(nt.Name, "optim/adam") {
			s.adam = append(s.adam, nt.T)
		}
	}
	if err := s.M.Params.Load(values); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s.Meta = meta
	return s, nil
}

// CheckBases verifies that base networks given alongside a stitched model
// are the ones it was built from; a nil network is not checked.
func (s *Joined[N]) CheckBases(a, b N) error {
	for i, m := range []N{a, b} {
		if v := reflect.ValueOf(m); !v.IsValid() || v.Kind() == reflect.Pointer && v.IsNil() {
			continue
		}
		fp, err := m.Fingerprint()
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
func (s *Joined[N]) Resume(tr *Trainer) error {
	if len(s.adam) != 2 {
		return fmt.Errorf("stitched checkpoint holds no training state")
	}
	tr.State = s.Meta.State
	return tr.Opt.SetState(s.adam, s.Meta.OptStep)
}

// ExtractedKind is the "kind" meta value of one network extracted from a
// stitched model (a stitch-ensemble, say) and saved as a standalone model:
// the stitched checkpoint's content without training state, plus the
// switch setting under the meta key "setting". It loads like any other
// model, with no network choice to make.
const ExtractedKind = "stitched-network"

// ExtractedCheckpoint returns the standalone checkpoint of the network that
// setting extracts from s.
func (s *Joined[N]) ExtractedCheckpoint(setting Setting) (*ckpt.Checkpoint, error) {
	if err := s.M.checkSetting(setting); err != nil {
		return nil, err
	}
	c, err := s.Checkpoint(nil)
	if err != nil {
		return nil, err
	}
	if err := c.SetMeta("kind", ExtractedKind); err != nil {
		return nil, err
	}
	if err := c.SetMeta("setting", setting.String()); err != nil {
		return nil, err
	}
	return c, nil
}

// SaveExtracted writes the network that setting extracts from s as a
// standalone model to path atomically.
func (s *Joined[N]) SaveExtracted(path string, setting Setting) error {
	c, err := s.ExtractedCheckpoint(setting)
	if err != nil {
		return err
	}
	return ckpt.Write(path, c)
}

// IsExtracted reports whether the file at path is the checkpoint of an
// extracted network (SaveExtracted).
func IsExtracted(path string) bool {
	c, err := ckpt.Read(path)
	if err != nil {
		return false
	}
	kind, _ := c.Kind()
	return kind == ExtractedKind
}

// WriteExtracted encodes the standalone model of setting's network to w.
func (s *Joined[N]) WriteExtracted(w io.Writer, setting Setting) error {
	c, err := s.ExtractedCheckpoint(setting)
	if err != nil {
		return err
	}
	return ckpt.Encode(w, c)
}

// FromExtracted reads a standalone extracted network: the stitched model
// and its setting.
func FromExtracted[N Base](name string, c *ckpt.Checkpoint, b kernels.Backend, load BaseLoader[N]) (*Joined[N], Setting, error) {
	s, err := fromCheckpoint(name, c, b, load, ExtractedKind)
	if err != nil {
		return nil, Setting{}, err
	}
	var spec string
	if err := c.GetMeta("setting", &spec); err != nil {
		return nil, Setting{}, fmt.Errorf("%s: %w", name, err)
	}
	setting, err := ParseSetting(spec, s.M.Pairs())
	if err != nil {
		return nil, Setting{}, fmt.Errorf("%s: %w", name, err)
	}
	return s, setting, nil
}
