package profile

import (
	"fmt"
	"strings"

	"suture/kernels"
	"suture/tensor"
)

// opKind is a Backend method (convolutions also by pass).
type opKind uint8

const (
	kGemm opKind = iota
	kConvForward
	kConvBackwardData
	kConvBackwardFilter
	kConvTForward
	kConvTBackwardData
	kConvTBackwardFilter
	kBiasAdd
	kBiasGrad
	kInstanceNorm
	kInstanceNormBackward
	kBatchNormTrain
	kBatchNormTrainBackward
	kBatchNormFrozen
	kBatchNormFrozenBackward
	kLeakyReLU
	kLeakyReLUBackward
	kConcat
	kConcatBackward
	kAdd
	kScale
	kAxpy
	kFill
	kCopy
	kSoftmax
	kSoftmaxBackward
	kSoftmaxCE
	kSoftmaxCEBackward
	kDiceSums
	kDiceSumsBackward
	kMSE
	kMSEBackward
	kSum
	kSumSquares
	kSGD
	kAdamW
	kAlloc
	kFree
	kUpload
	kDownload
	numKinds
)

var kindNames = [numKinds]string{
	"gemm", "forward", "backward-data", "backward-filter", "forward", "backward-data", "backward-filter",
	"bias add", "bias grad", "instance norm forward", "instance norm backward",
	"batch norm forward", "batch norm backward", "batch norm (frozen) forward", "batch norm (frozen) backward",
	"leaky relu forward", "leaky relu backward", "concat", "concat backward",
	"add", "scale", "axpy", "fill", "copy",
	"softmax", "softmax backward", "softmax+cross-entropy", "softmax+cross-entropy backward",
	"dice sums", "dice sums backward", "mse", "mse backward", "sum", "sum of squares",
	"sgd nesterov", "adamw", "alloc", "free", "upload", "download",
}

// opKey names an op row: the kind, and for convolutions the kernel size,
// stride and algorithm.
type opKey struct {
	kind           opKind
	kh, kw, sh, sw int32
	algo           string
}

type opInfo struct {
	name string
	kind opKind
}

// opTable names the ops: it interns each op row's key and hands out its
// id. Its methods named after the kernels.Backend methods (costs.go) give
// an op call's id and cost.
type opTable struct {
	ops    []opInfo
	ids    map[opKey]int32
	simple [numKinds]int32        // op ids of kinds without variants (0: not made yet)
	algos  kernels.ConvAlgorithms // nil when the backend does not name its algorithms
	talgos kernels.ConvTransposeAlgorithms
}

func (o *opTable) init(b kernels.Backend) {
	o.ids = map[opKey]int32{}
	o.algos, _ = b.(kernels.ConvAlgorithms)
	o.talgos, _ = b.(kernels.ConvTransposeAlgorithms)
}

// name is op id's name, as its rows show it.
func (o *opTable) name(id int32) string { return o.ops[id].name }

// id interns k.
func (o *opTable) id(k opKey) int32 {
	if id, ok := o.ids[k]; ok {
		return id
	}
	name := kindNames[k.kind]
	switch k.kind {
	case kConvForward, kConvBackwardData, kConvBackwardFilter:
		stride := ""
		if k.sh != 1 || k.sw != 1 {
			stride = fmt.Sprintf("/s%d", k.sh)
			if k.sh != k.sw {
				stride = fmt.Sprintf("/s%dx%d", k.sh, k.sw)
			}
		}
		name = fmt.Sprintf("conv%dx%d%s %s", k.kh, k.kw, stride, name)
		if k.algo != "" {
			name += " (" + k.algo + ")"
		}
	case kConvTForward, kConvTBackwardData, kConvTBackwardFilter:
		name = fmt.Sprintf("conv-transpose%dx%d %s", k.kh, k.kw, name)
		if k.algo != "" {
			name += " (" + k.algo + ")"
		}
	}
	id := int32(len(o.ops))
	o.ops = append(o.ops, opInfo{name: name, kind: k.kind})
	o.ids[k] = id
	return id
}

// simpleID is the op id of a kind without variants.
func (o *opTable) simpleID(k opKind) int32 {
	if id := o.simple[k]; id > 0 {
		return id - 1
	}
	id := o.id(opKey{kind: k})
	o.simple[k] = id + 1
	return id
}

// convID names a convolution pass; x: (N, Ci, H, W) input of the forward
// pass, w: (Co, Ci, KH, KW).
func (o *opTable) convID(kind opKind, x, w *tensor.Tensor, cp kernels.ConvParams) int32 {
	k := opKey{kind: kind, kh: int32(dim(w, 2)), kw: int32(dim(w, 3)), sh: int32(cp.StrideH), sw: int32(cp.StrideW)}
	if o.algos != nil && x != nil && w != nil {
		k.algo = o.algos.ConvAlgorithm(kernels.ConvPass(kind-kConvForward), x.Shape, w.Shape, cp)
	}
	return o.id(k)
}

// convTID names a conv-transpose pass; x: (N, Ci, H, W) input of the
// forward pass, w: (Ci, Co, KH, KW).
func (o *opTable) convTID(kind opKind, x, w *tensor.Tensor) int32 {
	k := opKey{kind: kind, kh: int32(dim(w, 2)), kw: int32(dim(w, 3))}
	if o.talgos != nil && x != nil && w != nil {
		k.algo = o.talgos.ConvTransposeAlgorithm(kernels.ConvPass(kind-kConvTForward), x.Shape, w.Shape)
	}
	return o.id(k)
}

// dim is t's size along axis i, 0 when t is nil or has fewer axes (the
// wrapped backend reports such shapes; the profiler only must not fail).
func dim(t *tensor.Tensor, i int) int {
	if t == nil || i >= len(t.Shape) {
		return 0
	}
	return t.Shape[i]
}

// n is t's element count as a float (0 for nil).
func n(t *tensor.Tensor) float64 {
	if t == nil {
		return 0
	}
	return float64(t.Shape.Numel())
}

// shapes are an op's tensor shapes, kept for the trace without allocating.
type shapes struct {
	n    uint8
	rank [4]uint8
	dims [4][4]int32
}

func shapesOf(ts []*tensor.Tensor) shapes {
	var s shapes
	for _, t := range ts {
		if int(s.n) == len(s.dims) {
			break
		}
		if t != nil {
			r := min(len(t.Shape), 4)
			s.rank[s.n] = uint8(r)
			for j := 0; j < r; j++ {
				s.dims[s.n][j] = int32(t.Shape[j])
			}
		}
		s.n++
	}
	return s
}

// String writes the shapes like "(8,32,64,64) (32,32,3,3) -"; nil tensors are "-".
func (s shapes) String() string {
	var b strings.Builder
	for i := 0; i < int(s.n); i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		if s.rank[i] == 0 {
			b.WriteByte('-')
			continue
		}
		b.WriteByte('(')
		for j := 0; j < int(s.rank[i]); j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprint(&b, s.dims[i][j])
		}
		b.WriteByte(')')
	}
	return b.String()
}
