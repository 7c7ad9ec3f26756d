package experiment

import (
	"fmt"
	"strconv"
	"strings"

	"suture/experiment/splits"
	"suture/io/imageset"
	"suture/tensor"
	"suture/unet"
)

// LoadData opens a dataset folder (any layout imageset.Open detects), or
// generates the embedded synthetic data for the spec "synth:PARTY[:N[:SIZE[:SEED]]]"
// (defaults: 600 images of 64 px, seed 1).
func LoadData(spec string, size int) (*imageset.Dataset, error) {
	if rest, ok := strings.CutPrefix(spec, "synth:"); ok {
		f := strings.Split(rest, ":")
		party, n, sz, seed := f[0], 600, 64, uint64(1)
		nums := []*int{&n, &sz}
		for i, s := range f[1:] {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil || v == 0 {
				return nil, fmt.Errorf("data %q: field %d (%q) must be a positive integer", spec, i+2, s)
			}
			switch {
			case i < 2:
				*nums[i] = int(v)
			case i == 2:
				seed = v
			default:
				return nil, fmt.Errorf("data %q: too many fields, want synth:PARTY[:N[:SIZE[:SEED]]]", spec)
			}
		}
		if size > 0 {
			sz = size
		}
		return imageset.Synth(party, n, sz, seed)
	}
	return imageset.Open(spec, imageset.Options{Size: size})
}

// Partition is a dataset cut into the paper's parts for one fold.
type Partition struct {
	Train, Val, Test []unet.Input
	Splits           splits.Splits
}

// Split divides ds into six parts (seeded; grouped data by bin covering) and
// returns fold k's training (four parts), validation (the fifth) and test
// (the sixth) samples.
func Split(ds *imageset.Dataset, seed uint64, fold int) (*Partition, error) {
	sp, err := splits.Split(ds.Len(), ds.Groups(), seed)
	if err != nil {
		return nil, err
	}
	train, val, err := sp.Fold(fold)
	if err != nil {
		return nil, err
	}
	pick := func(idx []int) []unet.Input {
		out := make([]unet.Input, len(idx))
		for i, j := range idx {
			s := ds.Samples[j]
			out[i] = unet.Input{Name: s.Name, Image: s.Image, Mask: s.Mask}
		}
		return out
	}
	return &Partition{Train: pick(train), Val: pick(val), Test: pick(sp.Test()), Splits: sp}, nil
}

// Subset picks "train", "val", "test" or "all" samples of a partition.
func (p *Partition) Subset(name string) ([]unet.Input, error) {
	switch name {
	case "train":
		return p.Train, nil
	case "val":
		return p.Val, nil
	case "test":
		return p.Test, nil
	case "all":
		out := append(append(append([]unet.Input(nil), p.Train...), p.Val...), p.Test...)
		return out, nil
	}
	return nil, fmt.Errorf("split %q, want train, val, test or all", name)
}

// Stack normalises every sample's image (per-image z-score, as the U-Net
// does) into one host tensor (N, C, H, W).
func Stack(samples []unet.Input) (*tensor.Tensor, error) {
	if len(samples) == 0 {
		return nil, fmt.Errorf("no samples")
	}
	s0 := samples[0].Image.Shape
	if len(s0) != 3 {
		return nil, fmt.Errorf("sample %q: image %v, want (C, H, W)", samples[0].Name, s0)
	}
	c := s0[0]
	per := s0.Numel()
	x := tensor.New(len(samples), s0[0], s0[1], s0[2])
	for i, s := range samples {
		if !s.Image.Shape.Equal(s0) {
			return nil, fmt.Errorf("sample %q: image %v differs from %v", s.Name, s.Image.Shape, s0)
		}
		dst := x.Data[i*per : (i+1)*per]
		copy(dst, s.Image.Data)
		unet.Normalize(dst, c)
	}
	return x, nil
}
