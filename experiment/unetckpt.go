package experiment

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"suture/io/ckpt"
	"suture/kernels"
	"suture/nn"
	"suture/tensor"
	"suture/unet"
)

// RunInfo records where a model's training data came from.
type RunInfo struct {
	Data      string `json:"data"`
	Fold      int    `json:"fold"`
	SplitSeed uint64 `json:"split_seed"`
	Seed      uint64 `json:"seed"`
}

// UNetMeta is the metadata of a U-Net checkpoint.
type UNetMeta struct {
	Config  *unet.Config      `json:"config"`
	Train   unet.TrainOptions `json:"train"`
	State   unet.State        `json:"state"`
	Run     RunInfo           `json:"run"`
	OptStep int               `json:"opt_step"`
}

const (
	kindUNet     = "unet"
	kindStitched = "stitched"
	momentumName = "optim/momentum"
)

func paramTensors(set *nn.ParamSet, prefix string) ([]ckpt.Named, error) {
	host, err := set.Host()
	if err != nil {
		return nil, err
	}
	out := make([]ckpt.Named, len(host))
	for i, p := range set.Params {
		out[i] = ckpt.Named{Name: prefix + p.Name, T: host[i]}
	}
	return out, nil
}

// SaveUNet writes a U-Net checkpoint atomically: config, weights, and when
// tr is not nil the training state and optimizer momentum for resuming.
func SaveUNet(path string, m *unet.Model, tr *unet.Trainer, run RunInfo) error {
	c := &ckpt.Checkpoint{}
	meta := UNetMeta{Config: m.Config, Run: run}
	ts, err := paramTensors(m.Params, "")
	if err != nil {
		return err
	}
	c.Tensors = ts
	if tr != nil {
		meta.Train, meta.State = tr.Opts, tr.State
		bufs, step := tr.Opt.State()
		meta.OptStep = step
		v := tensor.New(bufs[0].Numel())
		if err := m.B.Download(v.Data, bufs[0]); err != nil {
			return err
		}
		c.Tensors = append(c.Tensors, ckpt.Named{Name: momentumName, T: v})
	}
	if err := c.SetMeta("kind", kindUNet); err != nil {
		return err
	}
	if err := c.SetMeta("unet", meta); err != nil {
		return err
	}
	return ckpt.Write(path, c)
}

// LoadedUNet is a U-Net read from a checkpoint.
type LoadedUNet struct {
	Model *unet.Model
	Meta  UNetMeta
	// Momentum is the SGD buffer when the checkpoint holds training state.
	Momentum *tensor.Tensor
}

func readKind(path string) (*ckpt.Checkpoint, string, error) {
	c, err := ckpt.Read(path)
	if err != nil {
		return nil, "", err
	}
	var kind string
	if err := c.GetMeta("kind", &kind); err != nil {
		return nil, "", fmt.Errorf("%s: not a Suture model checkpoint: %w", path, err)
	}
	return c, kind, nil
}

// LoadUNet reads a U-Net checkpoint onto backend b.
func LoadUNet(path string, b kernels.Backend) (*LoadedUNet, error) {
	c, kind, err := readKind(path)
	if err != nil {
		return nil, err
	}
	if kind != kindUNet {
		return nil, fmt.Errorf("%s: a %s checkpoint, not a U-Net", path, kind)
	}
	return unetFrom(path, c, b, "unet", "")
}

// unetFrom builds the U-Net whose metadata is under key and whose tensors
// are named prefix+name in c.
func unetFrom(path string, c *ckpt.Checkpoint, b kernels.Backend, key, prefix string) (*LoadedUNet, error) {
	var meta UNetMeta
	if err := c.GetMeta(key, &meta); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if meta.Config == nil {
		return nil, fmt.Errorf("%s: checkpoint has no network config", path)
	}
	if err := meta.Config.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m, err := unet.NewModel(b, meta.Config, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	values := map[string]*tensor.Tensor{}
	var momentum *tensor.Tensor
	for _, nt := range c.Tensors {
		name, ok := strings.CutPrefix(nt.Name, prefix)
		if !ok {
			continue
		}
		if name == momentumName {
			momentum = nt.T
			continue
		}
		if strings.HasPrefix(name, "optim/") {
			continue
		}
		values[name] = nt.T
	}
	if err := m.Params.Load(values); err != nil {
		return nil, fmt.Errorf("%s: checkpoint does not fit its architecture: %w", path, err)
	}
	return &LoadedUNet{Model: m, Meta: meta, Momentum: momentum}, nil
}

// Resume restores training state from a checkpoint into a trainer of the
// same model.
func (l *LoadedUNet) Resume(tr *unet.Trainer) error {
	if l.Momentum == nil {
		return fmt.Errorf("checkpoint holds no training state")
	}
	tr.State = l.Meta.State
	return tr.Opt.SetState([]*tensor.Tensor{l.Momentum}, l.Meta.OptStep)
}

// Fingerprint identifies a network: SHA-256 over its config and weights.
func Fingerprint(m *unet.Model) (string, error) {
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
