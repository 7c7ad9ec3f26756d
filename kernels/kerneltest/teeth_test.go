package kerneltest_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"suture/kernels"
	"suture/kernels/cpu"
	"suture/kernels/kerneltest"
	"suture/tensor"
)

// The suite must catch a backend that is wrong in one op. Each type below
// wraps the cpu backend and breaks one op the way real kernels go wrong;
// TestSuiteCatchesBrokenOps runs that op's test with a recording reporter and
// requires failures, and requires none from the unbroken backend.

// recorder is a Reporter that keeps the failures instead of failing a test.
type recorder struct{ errs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// offByOneConvBackwardData drops the contributions to the last input column
// (a loop bound iw < W-1 instead of iw < W).
type offByOneConvBackwardData struct{ kernels.Backend }

func (b offByOneConvBackwardData) Conv2dBackwardData(dx, dy, w *tensor.Tensor, p kernels.ConvParams) error {
	if dx == nil {
		return b.Backend.Conv2dBackwardData(dx, dy, w, p)
	}
	tmp := tensor.New(dx.Shape...)
	if err := b.Backend.Conv2dBackwardData(tmp, dy, w, p); err != nil {
		return err
	}
	width := dx.Shape[len(dx.Shape)-1]
	for i, v := range tmp.Data {
		if i%width != width-1 {
			dx.Data[i] += v
		}
	}
	return nil
}

// unwrittenTailLeakyReLU leaves the last len%8 outputs unwritten, like a
// vector loop without its scalar tail.
type unwrittenTailLeakyReLU struct{ kernels.Backend }

func (b unwrittenTailLeakyReLU) LeakyReLU(y, x *tensor.Tensor, slope float32) error {
	if y == nil {
		return b.Backend.LeakyReLU(y, x, slope)
	}
	n := len(y.Data)
	tail := append([]float32(nil), y.Data[n-n%8:]...)
	if err := b.Backend.LeakyReLU(y, x, slope); err != nil {
		return err
	}
	copy(y.Data[n-n%8:], tail)
	return nil
}

// oneUnwrittenConvTranspose leaves the very last output element unwritten.
type oneUnwrittenConvTranspose struct{ kernels.Backend }

func (b oneUnwrittenConvTranspose) ConvTranspose2d(y, x, w, bias *tensor.Tensor) error {
	if y == nil || len(y.Data) == 0 {
		return b.Backend.ConvTranspose2d(y, x, w, bias)
	}
	last := y.Data[len(y.Data)-1]
	if err := b.Backend.ConvTranspose2d(y, x, w, bias); err != nil {
		return err
	}
	y.Data[len(y.Data)-1] = last
	return nil
}

// wrongSignDgamma subtracts the gamma gradient instead of adding it.
type wrongSignDgamma struct{ kernels.Backend }

func (b wrongSignDgamma) InstanceNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *tensor.Tensor) error {
	if dgamma == nil {
		return b.Backend.InstanceNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma)
	}
	tmp := tensor.New(dgamma.Shape...)
	if err := b.Backend.InstanceNormBackward(dx, tmp, dbeta, dy, x, mean, rstd, gamma); err != nil {
		return err
	}
	for i, v := range tmp.Data {
		dgamma.Data[i] -= v
	}
	return nil
}

// overwritingConvBackwardFilter overwrites dw instead of accumulating into it.
type overwritingConvBackwardFilter struct{ kernels.Backend }

func (b overwritingConvBackwardFilter) Conv2dBackwardFilter(dw, db, dy, x *tensor.Tensor, p kernels.ConvParams) error {
	if dw != nil {
		clear(dw.Data)
	}
	return b.Backend.Conv2dBackwardFilter(dw, db, dy, x, p)
}

// gemmReadsCWhenBetaZero computes beta*c even for beta == 0, so NaN in c spreads.
type gemmReadsCWhenBetaZero struct{ kernels.Backend }

func (b gemmReadsCWhenBetaZero) Gemm(c, a, bm *tensor.Tensor, transA, transB bool, alpha, beta float32) error {
	if c == nil || beta != 0 {
		return b.Backend.Gemm(c, a, bm, transA, transB, alpha, beta)
	}
	old := append([]float32(nil), c.Data...)
	if err := b.Backend.Gemm(c, a, bm, transA, transB, alpha, beta); err != nil {
		return err
	}
	for i := range c.Data {
		c.Data[i] += beta * old[i]
	}
	return nil
}

// tf32Gemm rounds its inputs to TF32 (10 mantissa bits), as tensor cores do
// when TF32 is enabled: a precision loss, not an index bug.
type tf32Gemm struct{ kernels.Backend }

func (b tf32Gemm) Gemm(c, a, bm *tensor.Tensor, transA, transB bool, alpha, beta float32) error {
	if a == nil || bm == nil {
		return b.Backend.Gemm(c, a, bm, transA, transB, alpha, beta)
	}
	round := func(t *tensor.Tensor) *tensor.Tensor {
		r := t.Clone()
		for i, v := range r.Data {
			r.Data[i] = math.Float32frombits((math.Float32bits(v) + 1<<12) &^ (1<<13 - 1))
		}
		return r
	}
	return b.Backend.Gemm(c, round(a), round(bm), transA, transB, alpha, beta)
}

// flippedKernelConv computes a true convolution (kernel flipped) instead of
// the cross-correlation every framework calls convolution.
type flippedKernelConv struct{ kernels.Backend }

func (b flippedKernelConv) Conv2d(y, x, w, bias *tensor.Tensor, p kernels.ConvParams) error {
	if w == nil || len(w.Shape) != 4 {
		return b.Backend.Conv2d(y, x, w, bias, p)
	}
	f := tensor.New(w.Shape...)
	co, ci, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	for o := 0; o < co*ci; o++ {
		for i := 0; i < kh; i++ {
			for j := 0; j < kw; j++ {
				f.Data[(o*kh+i)*kw+j] = w.Data[(o*kh+kh-1-i)*kw+kw-1-j]
			}
		}
	}
	return b.Backend.Conv2d(y, x, f, bias, p)
}

// diceIgnoresDps drops the ps term of the Dice-sums gradient.
type diceIgnoresDps struct{ kernels.Backend }

func (b diceIgnoresDps) DiceSumsBackward(dp, target, dtp, dps *tensor.Tensor) error {
	if dps == nil {
		return b.Backend.DiceSumsBackward(dp, target, dtp, dps)
	}
	return b.Backend.DiceSumsBackward(dp, target, dtp, tensor.New(dps.Shape...))
}

// adamStepFromZero bias-corrects with step+1 (the step counted from 0).
type adamStepFromZero struct{ kernels.Backend }

func (b adamStepFromZero) AdamW(w, m, v, g *tensor.Tensor, lr, beta1, beta2, eps, wd float32, step int) error {
	if step < 1 {
		return b.Backend.AdamW(w, m, v, g, lr, beta1, beta2, eps, wd, step)
	}
	return b.Backend.AdamW(w, m, v, g, lr, beta1, beta2, eps, wd, step+1)
}

// crossEntropyMeanOverBatch averages the loss over N only, not N*H*W.
type crossEntropyMeanOverBatch struct{ kernels.Backend }

func (b crossEntropyMeanOverBatch) SoftmaxCrossEntropy(p, x, target *tensor.Tensor) (float64, error) {
	loss, err := b.Backend.SoftmaxCrossEntropy(p, x, target)
	if err != nil {
		return loss, err
	}
	return loss * float64(x.Shape[2]*x.Shape[3]), nil
}

// unshiftedSoftmax exponentiates the logits without subtracting their
// maximum, in float32, so large logits overflow.
type unshiftedSoftmax struct{ kernels.Backend }

func (b unshiftedSoftmax) Softmax(p, x *tensor.Tensor) error {
	if err := b.Backend.Softmax(p, x); err != nil {
		return err
	}
	n, k := x.Shape[0], x.Shape[1]
	s := len(x.Data) / (n * k)
	for i := 0; i < n; i++ {
		for j := 0; j < s; j++ {
			var z float32
			for c := 0; c < k; c++ {
				z += float32(math.Exp(float64(x.Data[(i*k+c)*s+j])))
			}
			for c := 0; c < k; c++ {
				o := (i*k+c)*s + j
				p.Data[o] = float32(math.Exp(float64(x.Data[o]))) / z
			}
		}
	}
	return nil
}

// unbiasedBatchNorm normalises with the unbiased variance (divides by M-1):
// off by only sqrt(M/(M-1)), a fraction of a percent for large groups.
type unbiasedBatchNorm struct{ kernels.Backend }

func (b unbiasedBatchNorm) BatchNormTrain(y, mean, rstd, x, gamma, beta *tensor.Tensor, eps float32) error {
	if err := b.Backend.BatchNormTrain(y, mean, rstd, x, gamma, beta, eps); err != nil {
		return err
	}
	n, c := x.Shape[0], x.Shape[1]
	s := len(x.Data) / (n * c)
	m := float64(n * s)
	if m < 2 {
		return nil
	}
	for j := 0; j < c; j++ {
		v := 1/(float64(rstd.Data[j])*float64(rstd.Data[j])) - float64(eps)
		r := float32(1 / math.Sqrt(v*m/(m-1)+float64(eps)))
		rstd.Data[j] = r
		g, bt := float32(1), float32(0)
		if gamma != nil {
			g, bt = gamma.Data[j], beta.Data[j]
		}
		for i := 0; i < n; i++ {
			for k := 0; k < s; k++ {
				o := (i*c+j)*s + k
				y.Data[o] = (x.Data[o]-mean.Data[j])*r*g + bt
			}
		}
	}
	return nil
}

// fixedEpsFrozenBatchNorm ignores its eps argument and uses 1e-5.
type fixedEpsFrozenBatchNorm struct{ kernels.Backend }

func (b fixedEpsFrozenBatchNorm) BatchNormFrozen(y, x, runMean, runVar, gamma, beta *tensor.Tensor, eps float32) error {
	return b.Backend.BatchNormFrozen(y, x, runMean, runVar, gamma, beta, 1e-5)
}

// panickingAdd reads its arguments before validating them.
type panickingAdd struct{ kernels.Backend }

func (b panickingAdd) Add(y, a, bb *tensor.Tensor) error {
	_ = a.Shape[0] + bb.Shape[0] + y.Shape[0]
	return b.Backend.Add(y, a, bb)
}

// modifiesInputSoftmaxBackward scribbles on its input p.
type modifiesInputSoftmaxBackward struct{ kernels.Backend }

func (b modifiesInputSoftmaxBackward) SoftmaxBackward(dx, dp, p *tensor.Tensor) error {
	if err := b.Backend.SoftmaxBackward(dx, dp, p); err != nil {
		return err
	}
	p.Data[0] = 0.5
	return nil
}

func TestSuiteCatchesBrokenOps(t *testing.T) {
	good := cpu.New(0)
	for _, c := range []struct {
		op      string
		backend kernels.Backend
		expect  string // a word every recorded failure report must contain
	}{
		{"Conv2dBackwardData", offByOneConvBackwardData{good}, "dx"},
		{"LeakyReLU", unwrittenTailLeakyReLU{good}, "y"},
		{"ConvTranspose2d", oneUnwrittenConvTranspose{good}, "y"},
		{"InstanceNormBackward", wrongSignDgamma{good}, "dgamma"},
		{"Conv2dBackwardFilter", overwritingConvBackwardFilter{good}, "dw"},
		{"Gemm", gemmReadsCWhenBetaZero{good}, "beta 0"},
		{"Gemm", tf32Gemm{good}, "elements differ"},
		{"Conv2d", flippedKernelConv{good}, "y"},
		{"DiceSumsBackward", diceIgnoresDps{good}, "dp"},
		{"AdamW", adamStepFromZero{good}, "w"},
		{"SoftmaxCrossEntropy", crossEntropyMeanOverBatch{good}, "loss"},
		{"Softmax", unshiftedSoftmax{good}, "logits+100"},
		{"BatchNormTrain", unbiasedBatchNorm{good}, "y"},
		{"BatchNormFrozen", fixedEpsFrozenBatchNorm{good}, "eps 0.001"},
		{"Add", panickingAdd{good}, "panicked instead of returning an error"},
		{"SoftmaxBackward", modifiesInputSoftmaxBackward{good}, "was modified"},
	} {
		t.Run(fmt.Sprintf("%s/%T", c.op, c.backend), func(t *testing.T) {
			var clean recorder
			if err := kerneltest.RunOp(&clean, good, c.op); err != nil {
				t.Fatal(err)
			}
			if len(clean.errs) > 0 {
				t.Fatalf("the unbroken backend fails %s: %s", c.op, clean.errs[0])
			}
			var rec recorder
			if err := kerneltest.RunOp(&rec, c.backend, c.op); err != nil {
				t.Fatal(err)
			}
			if len(rec.errs) == 0 {
				t.Fatalf("the suite did not catch the broken %s", c.op)
			}
			if !strings.Contains(strings.Join(rec.errs, "\n"), c.expect) {
				t.Errorf("no failure report mentions %q; first: %s", c.expect, rec.errs[0])
			}
			t.Logf("%d failures reported; first: %s", len(rec.errs), firstLine(rec.errs[0]))
		})
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// refusingConv declines every 1x1 convolution as not implemented, and says
// so (kernels.Limited).
type refusingConv struct{ kernels.Backend }

func (refusingConv) Unsupported() []string { return []string{"Conv2d"} }

// silentlyRefusingConv declines the same cases without listing Conv2d as
// unsupported.
type silentlyRefusingConv struct{ kernels.Backend }

func (b silentlyRefusingConv) Conv2d(y, x, w, bias *tensor.Tensor, p kernels.ConvParams) error {
	return refusingConv{b.Backend}.Conv2d(y, x, w, bias, p)
}

// refusingEverything declines every call of every op it lists, and lists them all.
type refusingEverything struct{ kernels.Backend }

func (refusingEverything) Unsupported() []string { return []string{"Gemm"} }

func (refusingEverything) Gemm(c, a, b *tensor.Tensor, transA, transB bool, alpha, beta float32) error {
	return fmt.Errorf("gemm: %w", kernels.ErrNotImplemented)
}

func (b refusingConv) Conv2d(y, x, w, bias *tensor.Tensor, p kernels.ConvParams) error {
	if w != nil && len(w.Shape) == 4 && w.Shape[2] == 1 && w.Shape[3] == 1 {
		return fmt.Errorf("conv2d 1x1: %w", kernels.ErrNotImplemented)
	}
	return b.Backend.Conv2d(y, x, w, bias, p)
}

// TestRefusalIsNotFailure: DESIGN.md section 3 lets a backend decline a case
// with ErrNotImplemented (the executor falls back to the CPU), so the suite
// must not count that as a failure, while still checking the other cases.
func TestRefusalIsNotFailure(t *testing.T) {
	var rec recorder
	if err := kerneltest.RunOp(&rec, refusingConv{cpu.New(0)}, "Conv2d"); err != nil {
		t.Fatal(err)
	}
	if len(rec.errs) > 0 {
		t.Errorf("a declined case was reported as a failure: %s", rec.errs[0])
	}
	rec = recorder{}
	if err := kerneltest.RunOp(&rec, refusingConv{flippedKernelConv{cpu.New(0)}}, "Conv2d"); err != nil {
		t.Fatal(err)
	}
	if len(rec.errs) == 0 {
		t.Error("declining the 1x1 cases hid the broken 3x3 ones")
	}
}

// TestUnlistedRefusalFails: declining cases of an op the backend does not
// list as unsupported is a failure, so a backend cannot pass the suite by
// declining what it gets wrong.
func TestUnlistedRefusalFails(t *testing.T) {
	var rec recorder
	if err := kerneltest.RunOp(&rec, silentlyRefusingConv{cpu.New(0)}, "Conv2d"); err != nil {
		t.Fatal(err)
	}
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "without listing Conv2d as unsupported") {
		t.Errorf("unlisted refusals: got %d failures %q, want one naming the unlisted op", len(rec.errs), rec.errs)
	}
	// A backend that lists an op and declines every one of its cases passes
	// that op (the CPU runs it instead) and is logged, not failed.
	lrec := logRecorder{}
	if err := kerneltest.RunOp(&lrec, refusingEverything{cpu.New(0)}, "Gemm"); err != nil {
		t.Fatal(err)
	}
	if len(lrec.errs) > 0 {
		t.Errorf("a listed op declined entirely was reported as a failure: %s", lrec.errs[0])
	}
	if len(lrec.logs) != 1 || !strings.Contains(lrec.logs[0], "declined") {
		t.Errorf("the declined Gemm cases were not logged: %q", lrec.logs)
	}
}

// logRecorder is a recorder that also keeps what the suite logs.
type logRecorder struct {
	recorder
	logs []string
}

func (r *logRecorder) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}
