package ckpt

import "suture/nn"

// ParamTensors returns host copies of the parameters of set, named
// prefix+name, for a checkpoint.
func ParamTensors(set *nn.ParamSet, prefix string) ([]Named, error) {
	host, err := set.Host()
	if err != nil {
		return nil, err
	}
	out := make([]Named, len(host))
	for i, p := range set.Params {
		out[i] = Named{Name: prefix + p.Name, T: host[i]}
	}
	return out, nil
}
