package launchtest

import (
	"fmt"
	"math"

	"suture/kernels"
	"suture/tensor"
)

// reductionOps are the ops whose results come from sums across threads and
// blocks: the ones a float atomic or a timing-dependent order would make
// vary from run to run.
var reductionOps = []string{"Gemm", "Conv2dBackwardFilter", "ConvTranspose2dBackwardFilter", "BiasGrad",
	"InstanceNorm", "InstanceNormBackward", "BatchNormTrain", "BatchNormTrainBackward", "SoftmaxCrossEntropy",
	"DiceSums", "MSE", "Sum", "SumSquares"}

// CheckDeterminism runs every reduction case twice on dev from the same
// inputs and returns one error per case whose outputs or result differ in
// any bit (DESIGN.md: GPU runs can be made bitwise reproducible).
func CheckDeterminism(dev kernels.Backend, opt Options) []error {
	opt.Only = reductionOps
	var errs []error
	for _, c := range cases(opt) {
		if !opt.keep(c.op) || c.wantErr {
			continue
		}
		r1, o1, err := runOnce(dev, c)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name(), err))
			continue
		}
		r2, o2, err := runOnce(dev, c)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name(), err))
			continue
		}
		if math.Float64bits(r1) != math.Float64bits(r2) {
			errs = append(errs, fmt.Errorf("%s: result %v then %v", c.name(), r1, r2))
		}
		for i := range o1 {
			for j := range o1[i] {
				if math.Float32bits(o1[i][j]) != math.Float32bits(o2[i][j]) {
					errs = append(errs, fmt.Errorf("%s: output %d element %d: %v then %v", c.name(), c.outputs[i], j, o1[i][j], o2[i][j]))
					break
				}
			}
		}
	}
	return errs
}

// runOnce runs c on dev from fresh uploads and returns its result and outputs.
func runOnce(dev kernels.Backend, c testCase) (float64, [][]float32, error) {
	dts := make([]*tensor.Tensor, len(c.tensors))
	defer func() {
		for _, t := range dts {
			if t != nil {
				dev.Free(t)
			}
		}
	}()
	for i, t := range c.tensors {
		if t == nil {
			continue
		}
		d, err := dev.Alloc(t.Shape...)
		if err != nil {
			return 0, nil, err
		}
		dts[i] = d
		if err := dev.Upload(d, t.Data); err != nil {
			return 0, nil, err
		}
	}
	r, err := c.call(dev, dts)
	if err != nil {
		return 0, nil, err
	}
	outs := make([][]float32, len(c.outputs))
	for k, i := range c.outputs {
		outs[k] = make([]float32, dts[i].Numel())
		if err := dev.Download(outs[k], dts[i]); err != nil {
			return 0, nil, err
		}
	}
	return r, outs, nil
}
