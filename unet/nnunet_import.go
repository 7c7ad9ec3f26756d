package unet

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"suture/io/pth"
	"suture/io/safetensors"
	"suture/kernels"
	"suture/tensor"
)

// ImportNNUNet reads fold `fold` of an nnU-Net v2 trained-model folder
// (DatasetNNN_Name/TRAINER__PLANS__2d: plans.json, dataset.json,
// fold_K/checkpoint_<which>.pth) onto backend b: the 2D configuration's
// network (PlainConvUNet or ResidualEncoderUNet) with the checkpoint's
// weights, and the inference settings (patch size, normalisation, labels,
// mirroring axes). When checkpoint_<which>.safetensors lies beside the .pth
// (the layout of nnU-Net pull request 3011), the weights come from it and
// the pickle is not read. The .pth is read without Python (package pth:
// only allow-listed globals).
func ImportNNUNet(dir string, fold int, which string, b kernels.Backend) (*Model, error) {
	f, err := FindNNUNetFolder(dir, fold, which)
	if err != nil {
		return nil, err
	}
	dsRaw, err := os.ReadFile(f.Dataset)
	if err != nil {
		return nil, err
	}
	ds, err := ParseDataset(dsRaw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Dataset, err)
	}
	plRaw, err := os.ReadFile(f.Plans)
	if err != nil {
		return nil, err
	}
	plans, err := ParsePlans(plRaw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Plans, err)
	}
	_, cfg, err := plans.Architecture(len(ds.ChannelNames), len(ds.Labels))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Plans, err)
	}
	inf, err := plans.Inference(len(ds.ChannelNames))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Plans, err)
	}
	inf.Labels, inf.ChannelNames, inf.FileEnding = ds.Labels, ds.ChannelNames, ds.FileEnding
	m, err := NewModel(b, cfg, 0)
	if err != nil {
		return nil, err
	}
	var src StateDictSource
	if f.Safetensors != "" {
		st, err := safetensors.ReadFile(f.Safetensors)
		if err != nil {
			return nil, err
		}
		src = safetensorsSource{st}
		inf.Source = "nnU-Net v2 " + filepath.Join(filepath.Base(filepath.Dir(dir)), filepath.Base(dir), filepath.Base(filepath.Dir(f.Safetensors)), filepath.Base(f.Safetensors))
	} else {
		a, err := pth.Open(f.Checkpoint)
		if err != nil {
			return nil, err
		}
		defer a.Close()
		ps, err := newPthSource(a)
		if err != nil {
			return nil, err
		}
		src = ps
		if axes, ok := mirrorAxes(a); ok {
			inf.MirrorAxes = axes
		}
		inf.Source = "nnU-Net v2 " + filepath.Join(filepath.Base(filepath.Dir(dir)), filepath.Base(dir), filepath.Base(filepath.Dir(f.Checkpoint)), filepath.Base(f.Checkpoint))
	}
	if err := inf.Validate(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if err := m.LoadNNUNet(src); err != nil {
		where := f.Checkpoint
		if f.Safetensors != "" {
			where = f.Safetensors
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	m.Inference = inf
	return m, nil
}

// mirrorAxes reads the checkpoint's inference_allowed_mirroring_axes.
func mirrorAxes(a *pth.Archive) ([]int, bool) {
	d, ok := a.Root.(*pth.Dict)
	if !ok {
		return nil, false
	}
	v, ok := d.Get("inference_allowed_mirroring_axes")
	if !ok {
		return nil, false
	}
	var items []any
	switch t := v.(type) {
	case pth.Tuple:
		items = t
	case *pth.List:
		items = t.Items
	case nil:
		return []int{}, true // None: no mirroring
	default:
		return nil, false
	}
	out := []int{}
	for _, it := range items {
		n, ok := it.(int64)
		if !ok || n < 0 || n > 1 {
			return nil, false
		}
		out = append(out, int(n))
	}
	return out, true
}

// pthSource serves a .pth state dict; tensors that are views of the same
// storage with the same geometry (nnU-Net's aliases) are read once.
type pthSource struct {
	a     *pth.Archive
	names []string
	refs  map[string]*pth.TensorRef
	cache map[string]*tensor.Tensor
}

func newPthSource(a *pth.Archive) (*pthSource, error) {
	key := "network_weights"
	if d, ok := a.Root.(*pth.Dict); ok {
		if _, ok := d.Get(key); !ok {
			if _, ok := d.Get("state_dict"); ok {
				key = "state_dict"
			} else if isStateDict(d) {
				key = "" // the root is the state dict itself
			} else {
				return nil, fmt.Errorf("%s: no %q entry, where an nnU-Net checkpoint keeps the network's weights (keys: %s)",
					a.Name, key, strings.Join(d.StringKeys(), ", "))
			}
		}
	}
	names, refs, err := a.StateDict(key)
	if err != nil {
		return nil, err
	}
	return &pthSource{a: a, names: names, refs: refs, cache: map[string]*tensor.Tensor{}}, nil
}

// isStateDict tells whether every value of d is a tensor (a bare state dict).
func isStateDict(d *pth.Dict) bool {
	for _, v := range d.Values {
		if _, ok := v.(*pth.TensorRef); !ok {
			return false
		}
	}
	return len(d.Values) > 0
}

func (s *pthSource) Names() []string { return s.names }

func (s *pthSource) Tensor(name string) (*tensor.Tensor, error) {
	r, ok := s.refs[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", s.a.Name, name)
	}
	id := fmt.Sprintf("%s/%d/%v/%v", r.Storage.Key, r.Offset, r.Size, r.Stride)
	if t, ok := s.cache[id]; ok {
		return t, nil
	}
	t, err := s.a.Tensor(r)
	if err != nil {
		return nil, err
	}
	s.cache[id] = t
	return t, nil
}

type safetensorsSource struct{ f *safetensors.File }

func (s safetensorsSource) Names() []string {
	out := make([]string, len(s.f.Tensors))
	for i, t := range s.f.Tensors {
		out[i] = t.Name
	}
	sort.Strings(out)
	return out
}

func (s safetensorsSource) Tensor(name string) (*tensor.Tensor, error) {
	t, ok := s.f.Get(name)
	if !ok {
		return nil, fmt.Errorf("safetensors: no tensor %q", name)
	}
	return t, nil
}
