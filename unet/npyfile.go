package unet

import (
	"fmt"
	"path/filepath"
	"strings"

	"suture/io/npy"
	"suture/tensor"
)

// ForwardFile runs the network on the .npy file at path: a float32 array
// (N, C, H, W), already normalised. It returns the main output's logits
// (N, K, H, W) and, with all, every deep-supervision output after them (as
// Forward); OutputFiles names their files.
func (m *Model) ForwardFile(path string, all bool) ([]*tensor.Tensor, error) {
	x, err := npy.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(x.Shape) != 4 {
		return nil, fmt.Errorf("%s: shape %v: want rank 4 (N, C, H, W)", path, x.Shape)
	}
	var outs []*tensor.Tensor
	if all {
		outs, err = m.Forward(x)
	} else {
		var y *tensor.Tensor
		y, err = m.ForwardMain(x)
		outs = []*tensor.Tensor{y}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return outs, nil
}

// OutputFiles names the .npy files of n outputs of ForwardFile written to
// dst: dst itself, then STEM_ds1.npy, STEM_ds2.npy, ... for the
// deep-supervision outputs (STEM is dst without its extension).
func OutputFiles(dst string, n int) []string {
	stem := strings.TrimSuffix(dst, filepath.Ext(dst))
	paths := make([]string, n)
	for i := range paths {
		paths[i] = dst
		if i > 0 {
			paths[i] = fmt.Sprintf("%s_ds%d.npy", stem, i)
		}
	}
	return paths
}
