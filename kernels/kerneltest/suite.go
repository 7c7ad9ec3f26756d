package kerneltest

import (
	"fmt"
	"testing"

	"suture/kernels"
)

// Reporter is the part of *testing.T the checks use; *testing.T satisfies it.
type Reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// opTest is the test of one Backend method.
type opTest struct {
	name string // the Backend method's name
	run  func(e *env)
}

// opTests lists one test per method of kernels.Backend, in interface order.
var opTests = []opTest{
	{"Memory", testMemory}, // Name, Alloc, Free, Upload, Download
	{"Gemm", testGemm},
	{"Conv2d", testConv2d},
	{"Conv2dBackwardData", testConv2dBackwardData},
	{"Conv2dBackwardFilter", testConv2dBackwardFilter},
	{"ConvTranspose2d", testConvTranspose2d},
	{"ConvTranspose2dBackwardData", testConvTranspose2dBackwardData},
	{"ConvTranspose2dBackwardFilter", testConvTranspose2dBackwardFilter},
	{"BiasAdd", testBiasAdd},
	{"BiasGrad", testBiasGrad},
	{"InstanceNorm", testInstanceNorm},
	{"InstanceNormBackward", testInstanceNormBackward},
	{"BatchNormTrain", testBatchNormTrain},
	{"BatchNormTrainBackward", testBatchNormTrainBackward},
	{"BatchNormFrozen", testBatchNormFrozen},
	{"BatchNormFrozenBackwardData", testBatchNormFrozenBackwardData},
	{"LeakyReLU", testLeakyReLU},
	{"LeakyReLUBackward", testLeakyReLUBackward},
	{"Concat", testConcat},
	{"ConcatBackward", testConcatBackward},
	{"Add", testAdd},
	{"Scale", testScale},
	{"Axpy", testAxpy},
	{"Fill", testFill},
	{"Copy", testCopy},
	{"Softmax", testSoftmax},
	{"SoftmaxBackward", testSoftmaxBackward},
	{"SoftmaxCrossEntropy", testSoftmaxCrossEntropy},
	{"SoftmaxCrossEntropyBackward", testSoftmaxCrossEntropyBackward},
	{"DiceSums", testDiceSums},
	{"DiceSumsBackward", testDiceSumsBackward},
	{"MSE", testMSE},
	{"MSEBackward", testMSEBackward},
	{"Sum", testSum},
	{"SumSquares", testSumSquares},
	{"SGDNesterov", testSGDNesterov},
	{"AdamW", testAdamW},
}

// Ops lists the names of the suite's op tests (the Backend method names).
func Ops() []string {
	names := make([]string, len(opTests))
	for i, o := range opTests {
		names[i] = o.name
	}
	return names
}

// RunAll runs every op test against b, one subtest per Backend method.
func RunAll(t *testing.T, b kernels.Backend) {
	t.Helper()
	for _, o := range opTests {
		t.Run(o.name, func(t *testing.T) { runOp(t, b, o) })
	}
}

// RunOp runs the test of one op (a name from Ops) against b, reporting every
// failure to r. It returns an error only for an unknown op name.
func RunOp(r Reporter, b kernels.Backend, op string) error {
	for _, o := range opTests {
		if o.name == op {
			runOp(r, b, o)
			return nil
		}
	}
	return fmt.Errorf("kerneltest: no op test named %q", op)
}

func runOp(r Reporter, b kernels.Backend, o opTest) {
	r.Helper()
	e := &env{r: r, b: b, op: o.name}
	o.run(e)
	if e.count.refused == 0 {
		return
	}
	if !listsUnsupported(b, o.name) {
		r.Errorf("%s declined %d of %d cases of %s as not implemented without listing %s as unsupported "+
			"(kernels.Limited), first %s", b.Name(), e.count.refused, e.count.cases, o.name, o.name, e.count.refusal)
		return
	}
	if l, ok := r.(interface{ Logf(string, ...any) }); ok {
		l.Logf("%s declined %d of %d cases as not implemented (listed as unsupported), first %s", b.Name(), e.count.refused, e.count.cases, e.count.refusal)
	}
}

// listsUnsupported reports whether b declares op among the methods it may
// decline (kernels.Limited).
func listsUnsupported(b kernels.Backend, op string) bool {
	l, ok := b.(kernels.Limited)
	if !ok {
		return false
	}
	for _, u := range l.Unsupported() {
		if u == op {
			return true
		}
	}
	return false
}
