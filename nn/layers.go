package nn

import (
	"fmt"

	"suture/autograd"
	"suture/kernels"
	"suture/tensor"
)

// Conv2d is a 2-D convolution with optional bias.
type Conv2d struct {
	W *Param // W: (Co, Ci, KH, KW)
	B *Param // B: (Co), or nil without bias
	P kernels.ConvParams
}

// ConvSpec describes a convolution layer.
type ConvSpec struct {
	In, Out          int
	KH, KW           int
	StrideH, StrideW int
	PadH, PadW       int
	Bias             bool
}

// NewConv2d makes a square-kernel convolution, Kaiming-normal initialised
// (a = 0.01) with zero bias, from g.
func NewConv2d(name string, in, out, k, stride, pad int, bias bool, g *tensor.RNG) (*Conv2d, error) {
	return NewConv2dSpec(name, ConvSpec{In: in, Out: out, KH: k, KW: k, StrideH: stride, StrideW: stride, PadH: pad, PadW: pad, Bias: bias}, g)
}

// NewConv2dSpec makes a convolution from a full spec.
func NewConv2dSpec(name string, s ConvSpec, g *tensor.RNG) (*Conv2d, error) {
	if s.In < 1 || s.Out < 1 || s.KH < 1 || s.KW < 1 || s.StrideH < 1 || s.StrideW < 1 || s.PadH < 0 || s.PadW < 0 {
		return nil, fmt.Errorf("conv2d %s: invalid spec %+v", name, s)
	}
	w := tensor.New(s.Out, s.In, s.KH, s.KW)
	KaimingNormal(w, 0.01, g)
	c := &Conv2d{W: NewParam(name+".weight", w), P: kernels.ConvParams{StrideH: s.StrideH, StrideW: s.StrideW, PadH: s.PadH, PadW: s.PadW}}
	if s.Bias {
		c.B = NewParam(name+".bias", tensor.New(s.Out))
	}
	return c, nil
}

// Forward implements Module.
func (c *Conv2d) Forward(t *autograd.Tape, in []*autograd.Var) (*autograd.Var, error) {
	x, err := oneInput("conv2d", in)
	if err != nil {
		return nil, err
	}
	var b *autograd.Var
	if c.B != nil {
		b = c.B.Var()
	}
	return t.Conv2d(x, c.W.Var(), b, c.P)
}

// Params implements Module.
func (c *Conv2d) Params() []*Param {
	if c.B == nil {
		return []*Param{c.W}
	}
	return []*Param{c.W, c.B}
}

// Kind implements Module.
func (c *Conv2d) Kind() string { return "conv" }

// ConvTranspose2d up-samples with kernel == stride.
type ConvTranspose2d struct {
	W *Param // W: (Ci, Co, KH, KW)
	B *Param // B: (Co) or nil
}

// NewConvTranspose2d makes a transposed convolution with kernel = stride = (kh, kw).
func NewConvTranspose2d(name string, in, out, kh, kw int, bias bool, g *tensor.RNG) (*ConvTranspose2d, error) {
	if in < 1 || out < 1 || kh < 1 || kw < 1 {
		return nil, fmt.Errorf("conv-transpose2d %s: invalid in %d out %d kernel %dx%d", name, in, out, kh, kw)
	}
	w := tensor.New(in, out, kh, kw)
	KaimingNormal(w, 0.01, g)
	c := &ConvTranspose2d{W: NewParam(name+".weight", w)}
	if bias {
		c.B = NewParam(name+".bias", tensor.New(out))
	}
	return c, nil
}

// Forward implements Module.
func (c *ConvTranspose2d) Forward(t *autograd.Tape, in []*autograd.Var) (*autograd.Var, error) {
	x, err := oneInput("conv-transpose2d", in)
	if err != nil {
		return nil, err
	}
	var b *autograd.Var
	if c.B != nil {
		b = c.B.Var()
	}
	return t.ConvTranspose2d(x, c.W.Var(), b)
}

// Params implements Module.
func (c *ConvTranspose2d) Params() []*Param {
	if c.B == nil {
		return []*Param{c.W}
	}
	return []*Param{c.W, c.B}
}

// Kind implements Module.
func (c *ConvTranspose2d) Kind() string { return "convT" }

// InstanceNorm2d normalises each (sample, channel) plane, with affine parameters.
type InstanceNorm2d struct {
	Gamma, Beta *Param // (C)
	Eps         float32
}

// NewInstanceNorm2d makes an affine instance norm (gamma 1, beta 0).
func NewInstanceNorm2d(name string, c int, eps float32) *InstanceNorm2d {
	g := tensor.New(c)
	for i := range g.Data {
		g.Data[i] = 1
	}
	return &InstanceNorm2d{Gamma: NewParam(name+".weight", g), Beta: NewParam(name+".bias", tensor.New(c)), Eps: eps}
}

// Forward implements Module.
func (n *InstanceNorm2d) Forward(t *autograd.Tape, in []*autograd.Var) (*autograd.Var, error) {
	x, err := oneInput("instance-norm", in)
	if err != nil {
		return nil, err
	}
	return t.InstanceNorm(x, n.Gamma.Var(), n.Beta.Var(), n.Eps)
}

// Params implements Module.
func (n *InstanceNorm2d) Params() []*Param { return []*Param{n.Gamma, n.Beta} }

// Kind implements Module.
func (n *InstanceNorm2d) Kind() string { return "norm" }

// BatchNorm2d normalises with batch statistics while training and with its
// running statistics in evaluation (frozen) mode.
type BatchNorm2d struct {
	Gamma, Beta     *Param // (C)
	RunMean, RunVar *Param // (C) buffers
	Eps, Momentum   float32
	Training        bool
}

// NewBatchNorm2d makes a batch norm with PyTorch's defaults (momentum 0.1).
func NewBatchNorm2d(name string, c int, eps float32) *BatchNorm2d {
	g, v := tensor.New(c), tensor.New(c)
	for i := range g.Data {
		g.Data[i], v.Data[i] = 1, 1
	}
	return &BatchNorm2d{
		Gamma: NewParam(name+".weight", g), Beta: NewParam(name+".bias", tensor.New(c)),
		RunMean: NewBuffer(name+".running_mean", tensor.New(c)), RunVar: NewBuffer(name+".running_var", v),
		Eps: eps, Momentum: 0.1, Training: true,
	}
}

// SetTraining implements TrainingModule.
func (n *BatchNorm2d) SetTraining(training bool) { n.Training = training }

// Forward implements Module. In training mode it also updates the running
// statistics (unbiased variance, as PyTorch does).
func (n *BatchNorm2d) Forward(t *autograd.Tape, in []*autograd.Var) (*autograd.Var, error) {
	x, err := oneInput("batch-norm", in)
	if err != nil {
		return nil, err
	}
	if !n.Training {
		gamma, beta := n.Gamma.Value, n.Beta.Value
		if t.Recording && n.Gamma.Var().RequiresGrad() {
			return nil, fmt.Errorf("batch-norm %s: frozen statistics with trainable affine parameters are not supported; freeze the network", n.Gamma.Name)
		}
		return t.BatchNormFrozen(x, n.RunMean.Value, n.RunVar.Value, gamma, beta, n.Eps)
	}
	y, mean, variance, err := t.BatchNormTrain(x, n.Gamma.Var(), n.Beta.Var(), n.Eps)
	if err != nil {
		return nil, err
	}
	s := x.Value.Shape
	cnt := float32(s[0] * s[2] * s[3])
	unbias := cnt / max(cnt-1, 1)
	c := len(mean)
	rm, rv := make([]float32, c), make([]float32, c)
	if err := t.Backend.Download(rm, n.RunMean.Value); err != nil {
		return nil, err
	}
	if err := t.Backend.Download(rv, n.RunVar.Value); err != nil {
		return nil, err
	}
	for i := range rm {
		rm[i] = (1-n.Momentum)*rm[i] + n.Momentum*mean[i]
		rv[i] = (1-n.Momentum)*rv[i] + n.Momentum*variance[i]*unbias
	}
	if err := t.Backend.Upload(n.RunMean.Value, rm); err != nil {
		return nil, err
	}
	return y, t.Backend.Upload(n.RunVar.Value, rv)
}

// Params implements Module.
func (n *BatchNorm2d) Params() []*Param { return []*Param{n.Gamma, n.Beta, n.RunMean, n.RunVar} }

// Kind implements Module.
func (n *BatchNorm2d) Kind() string { return "norm" }

// LeakyReLU is max(x, slope*x).
type LeakyReLU struct{ Slope float32 }

// Forward implements Module.
func (l *LeakyReLU) Forward(t *autograd.Tape, in []*autograd.Var) (*autograd.Var, error) {
	x, err := oneInput("leaky-relu", in)
	if err != nil {
		return nil, err
	}
	return t.LeakyReLU(x, l.Slope)
}

// Params implements Module.
func (l *LeakyReLU) Params() []*Param { return nil }

// Kind implements Module.
func (l *LeakyReLU) Kind() string { return "act" }

// Concat joins its inputs along channels, in argument order.
type Concat struct{}

// Forward implements Module.
func (Concat) Forward(t *autograd.Tape, in []*autograd.Var) (*autograd.Var, error) {
	return t.Concat(in...)
}

// Params implements Module.
func (Concat) Params() []*Param { return nil }

// Kind implements Module.
func (Concat) Kind() string { return "concat" }

// Add sums its two inputs (a residual connection).
type Add struct{}

// Forward implements Module.
func (Add) Forward(t *autograd.Tape, in []*autograd.Var) (*autograd.Var, error) {
	if len(in) != 2 || in[0] == nil || in[1] == nil {
		return nil, fmt.Errorf("add: takes two inputs, got %d", len(in))
	}
	return t.Add(in[0], in[1])
}

// Params implements Module.
func (Add) Params() []*Param { return nil }

// Kind implements Module.
func (Add) Kind() string { return "add" }
