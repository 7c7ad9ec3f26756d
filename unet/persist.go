package unet

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"suture/io/ckpt"
	"suture/kernels"
	"suture/nn"
	"suture/tensor"
)

// Meta is the metadata of a U-Net checkpoint (meta key "unet"; "kind" is "unet").
type Meta struct {
	Config    *Config      `json:"config"`
	Train     TrainOptions `json:"train"`
	State     State        `json:"state"`
	Run       ckpt.RunInfo `json:"run"`
	OptStep   int          `json:"opt_step"`
	Inference *Inference   `json:"inference,omitempty"`
}

// Kind is the "kind" meta value of a U-Net checkpoint.
const Kind = "unet"

const momentumName = "optim/momentum"

// Checkpoint returns the checkpoint of m: config, weights, and when tr is not
// nil the training state and optimizer momentum for resuming.
func (m *Model) Checkpoint(tr *Trainer, run ckpt.RunInfo) (*ckpt.Checkpoint, error) {
	c := &ckpt.Checkpoint{}
	meta := Meta{Config: m.Config, Run: run, Inference: m.Inference}
	ts, err := ckpt.ParamTensors(m.Params, "")
	if err != nil {
		return nil, err
	}
	c.Tensors = ts
	if tr != nil {
		meta.Train, meta.State = tr.Opts, tr.State
		bufs, step := tr.Opt.State()
		meta.OptStep = step
		v := tensor.New(bufs[0].Numel())
		if err := m.Backend.Download(v.Data, bufs[0]); err != nil {
			return nil, err
		}
		c.Tensors = append(c.Tensors, ckpt.Named{Name: momentumName, T: v})
	}
	if err := c.SetMeta("kind", Kind); err != nil {
		return nil, err
	}
	if err := c.SetMeta("unet", meta); err != nil {
		return nil, err
	}
	return c, nil
}

// Save writes m's checkpoint (see Checkpoint) to path atomically.
func Save(path string, m *Model, tr *Trainer, run ckpt.RunInfo) error {
	c, err := m.Checkpoint(tr, run)
	if err != nil {
		return err
	}
	return ckpt.Write(path, c)
}

// importedMeta is the checkpoint meta key that marks a model imported from
// another framework (true; SaveImported), so that a later import may
// replace it and nothing else (a trained run's checkpoint).
const importedMeta = "imported"

// SaveImported writes m's checkpoint, without training state, to path
// atomically, marked as imported.
func (m *Model) SaveImported(path string, run ckpt.RunInfo) error {
	c, err := m.Checkpoint(nil, run)
	if err != nil {
		return err
	}
	if err := c.SetMeta(importedMeta, true); err != nil {
		return err
	}
	return ckpt.Write(path, c)
}

// IsImported reports whether the file at path is a U-Net checkpoint that
// SaveImported wrote.
func IsImported(path string) bool {
	c, err := ckpt.Read(path)
	if err != nil {
		return false
	}
	kind, _ := c.Kind()
	var imported bool
	return kind == Kind && c.GetMeta(importedMeta, &imported) == nil && imported
}

// Write encodes m's checkpoint (see Checkpoint) to w.
func Write(w io.Writer, m *Model, tr *Trainer, run ckpt.RunInfo) error {
	c, err := m.Checkpoint(tr, run)
	if err != nil {
		return err
	}
	return ckpt.Encode(w, c)
}

// Loaded is a U-Net read from a checkpoint.
type Loaded struct {
	Model *Model
	Meta  Meta
	// Momentum is the SGD buffer when the checkpoint holds training state.
	Momentum *tensor.Tensor
}

// Load reads a U-Net checkpoint onto backend b.
func Load(path string, b kernels.Backend) (*Loaded, error) {
	c, err := ckpt.Read(path)
	if err != nil {
		return nil, err
	}
	return FromCheckpoint(path, c, b)
}

// Read decodes a U-Net checkpoint from r (at most ckpt.DefaultMaxBytes) onto
// backend b.
func Read(r io.Reader, b kernels.Backend) (*Loaded, error) {
	c, err := ckpt.Decode(r, ckpt.DefaultMaxBytes)
	if err != nil {
		return nil, err
	}
	return FromCheckpoint("U-Net checkpoint", c, b)
}

// FromCheckpoint builds the U-Net of a decoded checkpoint; name (a path)
// prefixes errors.
func FromCheckpoint(name string, c *ckpt.Checkpoint, b kernels.Backend) (*Loaded, error) {
	kind, err := c.Kind()
	if err != nil {
		return nil, fmt.Errorf("%s: not a Suture model checkpoint: %w", name, err)
	}
	if kind != Kind {
		return nil, fmt.Errorf("%s: a %s checkpoint, not a U-Net", name, kind)
	}
	var meta Meta
	if err := c.GetMeta("unet", &meta); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	values := map[string]*tensor.Tensor{}
	var momentum *tensor.Tensor
	for _, nt := range c.Tensors {
		switch {
		case nt.Name == momentumName:
			momentum = nt.T
		case strings.HasPrefix(nt.Name, "optim/"):
		default:
			values[nt.Name] = nt.T
		}
	}
	m, err := fromParts(name, meta.Config, values, b)
	if err != nil {
		return nil, err
	}
	if meta.Inference != nil {
		if err := meta.Inference.Validate(meta.Config); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		m.Inference = meta.Inference
	}
	return &Loaded{Model: m, Meta: meta, Momentum: momentum}, nil
}

// fromParts validates cfg, builds the network and loads values into it.
func fromParts(name string, cfg *Config, values map[string]*tensor.Tensor, b kernels.Backend) (*Model, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%s: checkpoint has no network config", name)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	m, err := NewModel(b, cfg, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := m.Params.Load(values); err != nil {
		return nil, fmt.Errorf("%s: checkpoint does not fit its architecture: %w", name, err)
	}
	return m, nil
}

// Resume restores training state from a checkpoint into a trainer of the
// same model.
func (l *Loaded) Resume(tr *Trainer) error {
	if l.Momentum == nil {
		return fmt.Errorf("checkpoint holds no training state")
	}
	tr.State = l.Meta.State
	return tr.Opt.SetState([]*tensor.Tensor{l.Momentum}, l.Meta.OptStep)
}

// Fingerprint identifies a network: SHA-256 over its config (JSON) and its
// parameters (names and float32 bits), hex-encoded.
func (m *Model) Fingerprint() (string, error) {
	h := sha256.New()
	cfg, err := json.Marshal(m.Config)
	if err != nil {
		return "", err
	}
	h.Write(cfg)
	host, err := m.Params.Host()
	if err != nil {
		return "", err
	}
	var buf [4]byte
	for i, p := range m.Params.Params {
		h.Write([]byte(p.Name))
		for _, v := range host[i].Data {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			h.Write(buf[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// The methods below let a *Model be a base network of a stitched model
// (stitch.Base) without package stitch knowing U-Nets.

// Net returns the network's graph and parameters.
func (m *Model) Net() (*nn.Graph, *nn.ParamSet) { return m.Graph, m.Params }

// CheckInput reports whether a (C, H, W) input fits the network.
func (m *Model) CheckInput(c, h, w int) error { return m.Config.CheckInput(c, h, w) }

// BaseMeta is what a stitched checkpoint stores about the network beside
// its parameters: a Meta holding only the config.
func (m *Model) BaseMeta() any { return Meta{Config: m.Config, Inference: m.Inference} }

// LoadBase rebuilds a base network of a stitched checkpoint from the JSON
// that BaseMeta wrote and its parameters by name (stitch.BaseLoader).
func LoadBase(b kernels.Backend, meta json.RawMessage, params map[string]*tensor.Tensor) (*Model, error) {
	var m Meta
	if err := json.Unmarshal(meta, &m); err != nil {
		return nil, fmt.Errorf("U-Net meta: %w", err)
	}
	model, err := fromParts("U-Net", m.Config, params, b)
	if err != nil {
		return nil, err
	}
	if m.Inference != nil {
		if err := m.Inference.Validate(m.Config); err != nil {
			return nil, fmt.Errorf("U-Net: %w", err)
		}
		model.Inference = m.Inference
	}
	return model, nil
}
