package launchtest

import (
	"fmt"

	"suture/kernels"
	"suture/kernels/cpu"
	"suture/tensor"
)

var refBackend = cpu.NewReference()

// elementSizes straddle the block sizes of the geometries (32, 97, 128,
// 256, 1024) and the grid caps.
var elementSizes = [][]int{{1, 1}, {2, 3, 5, 7}, {3, 1, 33, 31}, {1, 2, 64, 33}}

func elementwiseCases() []testCase {
	var cs []testCase
	for _, sh := range elementSizes {
		label := fmt.Sprint(sh)
		g := newGen("elementwise", label)
		x, y, z := g.rand(sh...), g.rand(sh...), g.rand(sh...)
		one := func(op string, ts []*tensor.Tensor, outs []int, f func(kernels.Backend, []*tensor.Tensor) error) testCase {
			return testCase{op: op, label: label, tensors: ts, outputs: outs,
				call: func(be kernels.Backend, t []*tensor.Tensor) (float64, error) { return 0, f(be, t) }}
		}
		cs = append(cs,
			one("Add", []*tensor.Tensor{nan(sh...), x, y}, []int{0}, func(b kernels.Backend, t []*tensor.Tensor) error { return b.Add(t[0], t[1], t[2]) }),
			one("Add", []*tensor.Tensor{x, y}, []int{0}, func(b kernels.Backend, t []*tensor.Tensor) error { return b.Add(t[0], t[0], t[1]) }),
			one("Scale", []*tensor.Tensor{nan(sh...), x}, []int{0}, func(b kernels.Backend, t []*tensor.Tensor) error { return b.Scale(t[0], t[1], -2.5) }),
			one("Axpy", []*tensor.Tensor{y, x}, []int{0}, func(b kernels.Backend, t []*tensor.Tensor) error { return b.Axpy(t[0], t[1], 0.75) }),
			one("Fill", []*tensor.Tensor{nan(sh...)}, []int{0}, func(b kernels.Backend, t []*tensor.Tensor) error { return b.Fill(t[0], 3.25) }),
			one("Copy", []*tensor.Tensor{nan(sh...), x}, []int{0}, func(b kernels.Backend, t []*tensor.Tensor) error { return b.Copy(t[0], t[1]) }),
			one("LeakyReLU", []*tensor.Tensor{nan(sh...), x}, []int{0}, func(b kernels.Backend, t []*tensor.Tensor) error { return b.LeakyReLU(t[0], t[1], 0.01) }),
			one("LeakyReLU", []*tensor.Tensor{x}, []int{0}, func(b kernels.Backend, t []*tensor.Tensor) error { return b.LeakyReLU(t[0], t[0], 0.2) }),
			one("LeakyReLUBackward", []*tensor.Tensor{z, y, x}, []int{0}, func(b kernels.Backend, t []*tensor.Tensor) error {
				return b.LeakyReLUBackward(t[0], t[1], t[2], 0.01)
			}),
			one("MSEBackward", []*tensor.Tensor{z, y, x, g.rand(sh...)}, []int{0, 1}, func(b kernels.Backend, t []*tensor.Tensor) error {
				return b.MSEBackward(t[0], t[1], t[2], t[3], 1.5)
			}),
			one("MSEBackward", []*tensor.Tensor{z, x, y}, []int{0}, func(b kernels.Backend, t []*tensor.Tensor) error {
				return b.MSEBackward(t[0], nil, t[1], t[2], 0.5)
			}),
		)
		if len(sh) >= 2 {
			c := sh[1]
			cs = append(cs,
				one("BiasAdd", []*tensor.Tensor{z, g.rand(c)}, []int{0}, func(b kernels.Backend, t []*tensor.Tensor) error { return b.BiasAdd(t[0], t[1]) }),
				testCase{op: "BiasGrad", label: label, tensors: []*tensor.Tensor{g.rand(c), y}, outputs: []int{0}, terms: len(y.Data) / c,
					call: func(b kernels.Backend, t []*tensor.Tensor) (float64, error) { return 0, b.BiasGrad(t[0], t[1]) }},
			)
		}
		n := len(x.Data)
		cs = append(cs,
			testCase{op: "Sum", label: label, tensors: []*tensor.Tensor{x}, terms: n,
				call: func(b kernels.Backend, t []*tensor.Tensor) (float64, error) { return b.Sum(t[0]) }},
			testCase{op: "SumSquares", label: label, tensors: []*tensor.Tensor{x}, terms: n,
				call: func(b kernels.Backend, t []*tensor.Tensor) (float64, error) { return b.SumSquares(t[0]) }},
			testCase{op: "MSE", label: label, tensors: []*tensor.Tensor{x, y}, terms: n,
				call: func(b kernels.Backend, t []*tensor.Tensor) (float64, error) { return b.MSE(t[0], t[1]) }},
		)
	}
	// Concat: three parts of 2, 1 and 5 channels; backward into all three.
	for _, sp := range [][2]int{{1, 1}, {7, 5}, {16, 17}} {
		label := fmt.Sprintf("H=%d W=%d", sp[0], sp[1])
		g := newGen("Concat", label)
		parts := []*tensor.Tensor{g.rand(3, 2, sp[0], sp[1]), g.rand(3, 1, sp[0], sp[1]), g.rand(3, 5, sp[0], sp[1])}
		cs = append(cs,
			testCase{op: "Concat", label: label, tensors: append([]*tensor.Tensor{nan(3, 8, sp[0], sp[1])}, parts...), outputs: []int{0},
				call: func(b kernels.Backend, t []*tensor.Tensor) (float64, error) { return 0, b.Concat(t[0], t[1:]) }},
			testCase{op: "ConcatBackward", label: label,
				tensors: []*tensor.Tensor{g.rand(3, 8, sp[0], sp[1]), g.rand(3, 2, sp[0], sp[1]), g.rand(3, 1, sp[0], sp[1]), g.rand(3, 5, sp[0], sp[1])},
				outputs: []int{1, 2, 3},
				call:    func(b kernels.Backend, t []*tensor.Tensor) (float64, error) { return 0, b.ConcatBackward(t[1:], t[0]) }},
		)
	}
	return cs
}

func lossCases(opt Options) []testCase {
	type lc struct{ n, k, h, w int }
	sizes := []lc{{1, 1, 1, 1}, {2, 2, 5, 7}, {3, 4, 9, 8}, {2, 3, 33, 31}}
	if opt.Large {
		sizes = append(sizes, lc{8, 2, 128, 128})
	}
	var cs []testCase
	for _, s := range sizes {
		label := fmt.Sprintf("N=%d K=%d H=%d W=%d", s.n, s.k, s.h, s.w)
		g := newGen("loss", label)
		sh := []int{s.n, s.k, s.h, s.w}
		x := g.rand(sh...)
		for i := range x.Data {
			x.Data[i] *= 4
		}
		tgt := g.classes(s.n, s.k, s.h, s.w)
		p := tensor.New(sh...)
		if err := refBackend.Softmax(p, x); err != nil {
			panic(err)
		}
		npix := s.n * s.h * s.w
		cs = append(cs,
			testCase{op: "Softmax", label: label, tensors: []*tensor.Tensor{nan(sh...), x}, outputs: []int{0}, terms: s.k,
				call: func(b kernels.Backend, t []*tensor.Tensor) (float64, error) { return 0, b.Softmax(t[0], t[1]) }},
			testCase{op: "SoftmaxBackward", label: label, tensors: []*tensor.Tensor{g.rand(sh...), g.rand(sh...), p}, outputs: []int{0}, terms: s.k,
				call: func(b kernels.Backend, t []*tensor.Tensor) (float64, error) {
					return 0, b.SoftmaxBackward(t[0], t[1], t[2])
				}},
			testCase{op: "SoftmaxCrossEntropy", label: label, tensors: []*tensor.Tensor{nan(sh...), x, tgt}, outputs: []int{0}, terms: npix,
				call: func(b kernels.Backend, t []*tensor.Tensor) (float64, error) {
					return b.SoftmaxCrossEntropy(t[0], t[1], t[2])
				}},
			testCase{op: "SoftmaxCrossEntropyBackward", label: label, tensors: []*tensor.Tensor{g.rand(sh...), p, tgt}, outputs: []int{0},
				call: func(b kernels.Backend, t []*tensor.Tensor) (float64, error) {
					return 0, b.SoftmaxCrossEntropyBackward(t[0], t[1], t[2], 2)
				}},
			testCase{op: "DiceSums", label: label, tensors: []*tensor.Tensor{nan(s.k), nan(s.k), nan(s.k), p, tgt}, outputs: []int{0, 1, 2}, terms: npix,
				call: func(b kernels.Backend, t []*tensor.Tensor) (float64, error) {
					return 0, b.DiceSums(t[0], t[1], t[2], t[3], t[4])
				}},
			testCase{op: "DiceSumsBackward", label: label, tensors: []*tensor.Tensor{g.rand(sh...), tgt, g.rand(s.k), g.rand(s.k)}, outputs: []int{0},
				call: func(b kernels.Backend, t []*tensor.Tensor) (float64, error) {
					return 0, b.DiceSumsBackward(t[0], t[1], t[2], t[3])
				}},
		)
		if s.k > 1 {
			bad := tgt.Clone()
			bad.Data[len(bad.Data)/2] = float32(s.k) // one past the last class
			half := tgt.Clone()
			half.Data[0] = 0.5 // not an integer
			for _, tc := range []struct {
				what string
				t    *tensor.Tensor
			}{{"class out of range", bad}, {"fractional class", half}} {
				cs = append(cs,
					testCase{op: "SoftmaxCrossEntropy", label: label + " " + tc.what, wantErr: true, tensors: []*tensor.Tensor{nan(sh...), x, tc.t},
						call: func(b kernels.Backend, t []*tensor.Tensor) (float64, error) {
							return b.SoftmaxCrossEntropy(t[0], t[1], t[2])
						}},
					testCase{op: "DiceSums", label: label + " " + tc.what, wantErr: true, tensors: []*tensor.Tensor{nan(s.k), nan(s.k), nan(s.k), p, tc.t},
						call: func(b kernels.Backend, t []*tensor.Tensor) (float64, error) {
							return 0, b.DiceSums(t[0], t[1], t[2], t[3], t[4])
						}},
				)
			}
		}
	}
	return cs
}

func optimCases() []testCase {
	var cs []testCase
	for _, n := range []int{1, 97, 1000, 4099} {
		label := fmt.Sprintf("n=%d", n)
		g := newGen("optim", label)
		w, v, gr, m, v2 := g.rand(n), g.rand(n), g.rand(n), g.rand(n), g.pos(n)
		cs = append(cs, testCase{op: "SGDNesterov", label: label, tensors: []*tensor.Tensor{w, v, gr}, outputs: []int{0, 1},
			call: func(b kernels.Backend, t []*tensor.Tensor) (float64, error) {
				return 0, b.SGDNesterov(t[0], t[1], t[2], 0.01, 0.99, 3e-5)
			}})
		for _, step := range []int{1, 7} {
			step := step
			cs = append(cs, testCase{op: "AdamW", label: fmt.Sprintf("%s step=%d", label, step), tensors: []*tensor.Tensor{w, m, v2, gr}, outputs: []int{0, 1, 2},
				call: func(b kernels.Backend, t []*tensor.Tensor) (float64, error) {
					return 0, b.AdamW(t[0], t[1], t[2], t[3], 1e-3, 0.9, 0.999, 1e-8, 0.01, step)
				}})
		}
	}
	return cs
}
