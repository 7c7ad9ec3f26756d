package launchtest

import (
	"fmt"

	"suture/kernels"
	"suture/tensor"
)

// cases lists every case. Sizes straddle the GEMM tiles (32, 64, 128) and
// the block sizes the geometries use, with odd spatial sizes and channel
// counts; Large adds U-Net-sized cases.
func cases(opt Options) []testCase {
	var cs []testCase
	cs = append(cs, gemmCases(opt)...)
	cs = append(cs, convCases(opt)...)
	cs = append(cs, convTCases(opt)...)
	cs = append(cs, normCases(opt)...)
	cs = append(cs, elementwiseCases()...)
	cs = append(cs, lossCases(opt)...)
	cs = append(cs, optimCases()...)
	return cs
}

func gemmCases(opt Options) []testCase {
	type mnk struct{ m, n, k int }
	sizes := []mnk{{1, 1, 1}, {33, 17, 40}, {65, 70, 9}, {7, 129, 33}}
	if opt.Large {
		sizes = append(sizes, mnk{1024, 1024, 1024}, mnk{300, 257, 1000})
	}
	var cs []testCase
	for _, s := range sizes {
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for _, beta := range []float32{0, 0.5} {
				label := fmt.Sprintf("m=%d n=%d k=%d transA=%v transB=%v beta=%g", s.m, s.n, s.k, tr[0], tr[1], beta)
				g := newGen("Gemm", label)
				ash, bsh := []int{s.m, s.k}, []int{s.k, s.n}
				if tr[0] {
					ash = []int{s.k, s.m}
				}
				if tr[1] {
					bsh = []int{s.n, s.k}
				}
				c := g.rand(s.m, s.n)
				if beta == 0 {
					c = nan(s.m, s.n) // beta == 0 must not read c
				}
				transA, transB, b := tr[0], tr[1], beta
				cs = append(cs, testCase{
					op: "Gemm", label: label, tensors: []*tensor.Tensor{c, g.rand(ash...), g.rand(bsh...)},
					outputs: []int{0}, terms: s.k,
					call: func(be kernels.Backend, t []*tensor.Tensor) (float64, error) {
						return 0, be.Gemm(t[0], t[1], t[2], transA, transB, 1.5, b)
					},
				})
			}
		}
	}
	return cs
}

type convCase struct{ n, ci, co, h, w, kh, kw, s, p int }

func convCases(opt Options) []testCase {
	sizes := []convCase{
		{1, 1, 1, 1, 1, 1, 1, 1, 0},   // smallest: the pointwise path
		{2, 3, 5, 7, 9, 3, 3, 1, 1},   // 3x3 same padding
		{2, 4, 33, 6, 5, 3, 3, 2, 1},  // stride 2, Co past a 32 tile
		{2, 17, 9, 5, 4, 1, 1, 1, 0},  // 1x1 stitch
		{1, 3, 4, 8, 7, 2, 2, 2, 0},   // 2x2 stride 2
		{2, 5, 3, 5, 6, 1, 1, 2, 0},   // 1x1 with stride: the general path
		{1, 2, 65, 3, 3, 3, 3, 1, 1},  // Co past a 64 tile
		{3, 6, 7, 9, 11, 3, 2, 1, 2},  // non-square kernel, padding 2
		{2, 40, 12, 4, 4, 3, 3, 1, 1}, // K = 360 > several BK steps
	}
	if opt.Large {
		sizes = append(sizes, convCase{8, 32, 32, 128, 128, 3, 3, 1, 1}, convCase{8, 256, 320, 8, 8, 3, 3, 1, 1},
			convCase{8, 64, 128, 64, 64, 3, 3, 2, 1}, convCase{8, 32, 48, 64, 64, 1, 1, 1, 0})
	}
	var cs []testCase
	for _, s := range sizes {
		label := fmt.Sprintf("N=%d Ci=%d Co=%d H=%d W=%d k=%dx%d s=%d p=%d", s.n, s.ci, s.co, s.h, s.w, s.kh, s.kw, s.s, s.p)
		g := newGen("Conv2d", label)
		p := kernels.Conv(s.s, s.p)
		x, w, b := g.rand(s.n, s.ci, s.h, s.w), g.rand(s.co, s.ci, s.kh, s.kw), g.rand(s.co)
		ys, err := kernels.Conv2dOutShape(x.Shape, w.Shape, p)
		if err != nil {
			panic(err) // a bad case in this list
		}
		k := s.ci * s.kh * s.kw
		red := s.n * ys[2] * ys[3]
		cs = append(cs,
			testCase{op: "Conv2d", label: label + " bias", tensors: []*tensor.Tensor{nan(ys...), x, w, b}, outputs: []int{0}, terms: k,
				call: func(be kernels.Backend, t []*tensor.Tensor) (float64, error) {
					return 0, be.Conv2d(t[0], t[1], t[2], t[3], p)
				}},
			testCase{op: "Conv2d", label: label + " no bias", tensors: []*tensor.Tensor{nan(ys...), x, w}, outputs: []int{0}, terms: k,
				call: func(be kernels.Backend, t []*tensor.Tensor) (float64, error) {
					return 0, be.Conv2d(t[0], t[1], t[2], nil, p)
				}},
			testCase{op: "Conv2dBackwardData", label: label, tensors: []*tensor.Tensor{g.rand(x.Shape...), g.rand(ys...), w}, outputs: []int{0},
				terms: s.co * s.kh * s.kw,
				call: func(be kernels.Backend, t []*tensor.Tensor) (float64, error) {
					return 0, be.Conv2dBackwardData(t[0], t[1], t[2], p)
				}},
			testCase{op: "Conv2dBackwardFilter", label: label + " with db", tensors: []*tensor.Tensor{g.rand(w.Shape...), g.rand(s.co), g.rand(ys...), x},
				outputs: []int{0, 1}, terms: red,
				call: func(be kernels.Backend, t []*tensor.Tensor) (float64, error) {
					return 0, be.Conv2dBackwardFilter(t[0], t[1], t[2], t[3], p)
				}},
			testCase{op: "Conv2dBackwardFilter", label: label + " no db", tensors: []*tensor.Tensor{g.rand(w.Shape...), g.rand(ys...), x},
				outputs: []int{0}, terms: red,
				call: func(be kernels.Backend, t []*tensor.Tensor) (float64, error) {
					return 0, be.Conv2dBackwardFilter(t[0], nil, t[1], t[2], p)
				}},
		)
	}
	// Refused: an output of the wrong shape.
	g := newGen("Conv2d", "bad output")
	cs = append(cs, testCase{op: "Conv2d", label: "wrong output shape", wantErr: true,
		tensors: []*tensor.Tensor{nan(1, 2, 4, 4), g.rand(1, 3, 5, 5), g.rand(2, 3, 3, 3)},
		call: func(be kernels.Backend, t []*tensor.Tensor) (float64, error) {
			return 0, be.Conv2d(t[0], t[1], t[2], nil, kernels.Conv(1, 1))
		}})
	return cs
}

func convTCases(opt Options) []testCase {
	type ct struct{ n, ci, co, h, w, kh, kw int }
	sizes := []ct{{1, 1, 1, 1, 1, 2, 2}, {2, 3, 5, 3, 4, 2, 2}, {2, 17, 33, 2, 3, 2, 2}, {2, 3, 4, 3, 2, 2, 3}, {1, 40, 20, 5, 5, 3, 3}}
	if opt.Large {
		sizes = append(sizes, ct{8, 320, 256, 8, 8, 2, 2}, ct{8, 64, 32, 64, 64, 2, 2})
	}
	var cs []testCase
	for _, s := range sizes {
		label := fmt.Sprintf("N=%d Ci=%d Co=%d H=%d W=%d k=%dx%d", s.n, s.ci, s.co, s.h, s.w, s.kh, s.kw)
		g := newGen("ConvTranspose2d", label)
		x, w, b := g.rand(s.n, s.ci, s.h, s.w), g.rand(s.ci, s.co, s.kh, s.kw), g.rand(s.co)
		ys := []int{s.n, s.co, s.h * s.kh, s.w * s.kw}
		cs = append(cs,
			testCase{op: "ConvTranspose2d", label: label + " bias", tensors: []*tensor.Tensor{nan(ys...), x, w, b}, outputs: []int{0}, terms: s.ci,
				call: func(be kernels.Backend, t []*tensor.Tensor) (float64, error) {
					return 0, be.ConvTranspose2d(t[0], t[1], t[2], t[3])
				}},
			testCase{op: "ConvTranspose2d", label: label + " no bias", tensors: []*tensor.Tensor{nan(ys...), x, w}, outputs: []int{0}, terms: s.ci,
				call: func(be kernels.Backend, t []*tensor.Tensor) (float64, error) {
					return 0, be.ConvTranspose2d(t[0], t[1], t[2], nil)
				}},
			testCase{op: "ConvTranspose2dBackwardData", label: label, tensors: []*tensor.Tensor{g.rand(x.Shape...), g.rand(ys...), w}, outputs: []int{0},
				terms: s.co * s.kh * s.kw,
				call: func(be kernels.Backend, t []*tensor.Tensor) (float64, error) {
					return 0, be.ConvTranspose2dBackwardData(t[0], t[1], t[2])
				}},
			testCase{op: "ConvTranspose2dBackwardFilter", label: label + " with db", tensors: []*tensor.Tensor{g.rand(w.Shape...), g.rand(s.co), g.rand(ys...), x},
				outputs: []int{0, 1}, terms: s.n * s.h * s.w * s.kh * s.kw,
				call: func(be kernels.Backend, t []*tensor.Tensor) (float64, error) {
					return 0, be.ConvTranspose2dBackwardFilter(t[0], t[1], t[2], t[3])
				}},
		)
	}
	return cs
}

func normCases(opt Options) []testCase {
	type nc struct{ n, c, h, w int }
	sizes := []nc{{1, 1, 1, 2}, {2, 3, 5, 7}, {3, 4, 9, 11}, {2, 2, 33, 40}}
	if opt.Large {
		sizes = append(sizes, nc{8, 32, 128, 128}, nc{8, 320, 8, 8})
	}
	var cs []testCase
	const eps = 1e-5
	for _, s := range sizes {
		for _, affine := range []bool{true, false} {
			label := fmt.Sprintf("N=%d C=%d H=%d W=%d affine=%v", s.n, s.c, s.h, s.w, affine)
			g := newGen("norm", label)
			x := g.rand(s.n, s.c, s.h, s.w)
			// An offset per channel: statistics must not cancel catastrophically.
			for i := range x.Data {
				x.Data[i] = 3*x.Data[i] + float32((i/(s.h*s.w))%s.c)
			}
			var gamma, beta *tensor.Tensor
			if affine {
				gamma, beta = g.pos(s.c), g.rand(s.c)
			}
			sh := x.Shape
			for _, inst := range []bool{true, false} {
				statShape := []int{s.c}
				op, bop, red := "BatchNormTrain", "BatchNormTrainBackward", s.n*s.h*s.w
				if inst {
					statShape, op, bop, red = []int{s.n, s.c}, "InstanceNorm", "InstanceNormBackward", s.h*s.w
				}
				inst := inst
				fwd := func(be kernels.Backend, y, mean, rstd, x, gm, bt *tensor.Tensor) error {
					if inst {
						return be.InstanceNorm(y, mean, rstd, x, gm, bt, eps)
					}
					return be.BatchNormTrain(y, mean, rstd, x, gm, bt, eps)
				}
				cs = append(cs, testCase{op: op, label: label,
					tensors: []*tensor.Tensor{nan(sh...), nan(statShape...), nan(statShape...), x, gamma, beta},
					outputs: []int{0, 1, 2}, terms: red,
					call: func(be kernels.Backend, t []*tensor.Tensor) (float64, error) {
						return 0, fwd(be, t[0], t[1], t[2], t[3], t[4], t[5])
					}})
				// Backward: statistics from the reference forward pass.
				mean, rstd, y := tensor.New(statShape...), tensor.New(statShape...), tensor.New(sh...)
				if err := fwd(refBackend, y, mean, rstd, x, gamma, beta); err != nil {
					panic(err)
				}
				var dgamma, dbeta *tensor.Tensor
				if affine {
					dgamma, dbeta = g.rand(s.c), g.rand(s.c)
				}
				outs := []int{0}
				if affine {
					outs = []int{0, 1, 2}
				}
				bwd := func(be kernels.Backend, t []*tensor.Tensor) (float64, error) {
					if inst {
						return 0, be.InstanceNormBackward(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7])
					}
					return 0, be.BatchNormTrainBackward(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7])
				}
				cs = append(cs, testCase{op: bop, label: label,
					tensors: []*tensor.Tensor{g.rand(sh...), dgamma, dbeta, g.rand(sh...), x, mean, rstd, gamma},
					outputs: outs, terms: red, call: bwd})
				if affine {
					cs = append(cs, testCase{op: bop, label: label + " parameter gradients only",
						tensors: []*tensor.Tensor{nil, dgamma, dbeta, g.rand(sh...), x, mean, rstd, gamma},
						outputs: []int{1, 2}, terms: red, call: bwd})
				}
			}
			runMean, runVar := g.rand(s.c), g.pos(s.c)
			cs = append(cs,
				testCase{op: "BatchNormFrozen", label: label, tensors: []*tensor.Tensor{nan(sh...), x, runMean, runVar, gamma, beta}, outputs: []int{0},
					call: func(be kernels.Backend, t []*tensor.Tensor) (float64, error) {
						return 0, be.BatchNormFrozen(t[0], t[1], t[2], t[3], t[4], t[5], eps)
					}},
				testCase{op: "BatchNormFrozenBackwardData", label: label, tensors: []*tensor.Tensor{g.rand(sh...), g.rand(sh...), runVar, gamma}, outputs: []int{0},
					call: func(be kernels.Backend, t []*tensor.Tensor) (float64, error) {
						return 0, be.BatchNormFrozenBackwardData(t[0], t[1], t[2], t[3], eps)
					}},
			)
		}
	}
	return cs
}
