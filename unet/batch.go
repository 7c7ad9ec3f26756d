package unet

import (
	"fmt"

	"suture/kernels"
	"suture/tensor"
)

// batcher assembles training batches into reusable buffers: normalised
// images are computed once, and the backend tensors are allocated once.
type batcher struct {
	b         kernels.Backend
	bs, c     int
	h, w      int              // image size
	ph, pw    int              // patch size
	norm      [][]float32      // normalised images, (C, H, W) each
	x         *tensor.Tensor   // x: (B, C, ph, pw) on the backend
	targets   []*tensor.Tensor // targets[i]: (B, 1, ph/fh_i, pw/fw_i) on the backend
	factors   [][2]int         // down-sampling factor of each output
	hostX     []float32
	hostT     [][]float32
	img, mask []float32 // one patch, (C, ph, pw) and (ph, pw)
	scr, mscr []float32 // augmentation scratch
	fgPixels  [][]int   // foreground pixel indices per sample, for oversampling
	rows      []int     // the sample of each row of the last batch
}

func newBatcher(m *Model, train []Input, bs, ph, pw int) (*batcher, error) {
	c, h, w := train[0].Image.Shape[0], train[0].Image.Shape[1], train[0].Image.Shape[2]
	bt := &batcher{b: m.Backend, bs: bs, c: c, h: h, w: w, ph: ph, pw: pw}
	for _, s := range train {
		img := append([]float32(nil), s.Image.Data...)
		Normalize(img, c)
		bt.norm = append(bt.norm, img)
		var fg []int
		for i, v := range s.Mask.Data {
			if v < 0 || v >= float32(m.Config.NumClasses) || v != float32(int(v)) {
				return nil, fmt.Errorf("sample %q: mask value %g is not a class index below %d", s.Name, v, m.Config.NumClasses)
			}
			if v > 0 {
				fg = append(fg, i)
			}
		}
		bt.fgPixels = append(bt.fgPixels, fg)
	}
	var err error
	if bt.x, err = m.Backend.Alloc(bs, c, ph, pw); err != nil {
		return nil, err
	}
	fh, fw := 1, 1
	for i := range m.Graph.Outputs {
		fh *= m.Config.Strides[i][0]
		fw *= m.Config.Strides[i][1]
		if ph%fh != 0 || pw%fw != 0 {
			return nil, fmt.Errorf("patch %dx%d is not divisible by %dx%d", ph, pw, fh, fw)
		}
		t, err := m.Backend.Alloc(bs, 1, ph/fh, pw/fw)
		if err != nil {
			return nil, err
		}
		bt.targets = append(bt.targets, t)
		bt.factors = append(bt.factors, [2]int{fh, fw})
		bt.hostT = append(bt.hostT, make([]float32, t.Numel()))
	}
	bt.hostX = make([]float32, bt.x.Numel())
	bt.img, bt.mask = make([]float32, c*ph*pw), make([]float32, ph*pw)
	bt.scr, bt.mscr = make([]float32, c*ph*pw), make([]float32, ph*pw)
	return bt, nil
}

// fill draws a batch (with replacement, as nnU-Net's loader does), crops,
// augments, and uploads it. A third of the crops are centred on a foreground
// pixel when crops are smaller than the image.
func (bt *batcher) fill(train []Input, g *tensor.RNG, aug *Augment) (*tensor.Tensor, []*tensor.Tensor, error) {
	plane := bt.ph * bt.pw
	bt.rows = bt.rows[:0]
	for n := 0; n < bt.bs; n++ {
		i := g.IntN(len(train))
		bt.rows = append(bt.rows, i)
		y0, x0 := 0, 0
		if bt.ph < bt.h || bt.pw < bt.w {
			if fg := bt.fgPixels[i]; n*3 >= bt.bs*2 && len(fg) > 0 { // the last third: foreground
				p := fg[g.IntN(len(fg))]
				y0 = min(max(p/bt.w-bt.ph/2, 0), bt.h-bt.ph)
				x0 = min(max(p%bt.w-bt.pw/2, 0), bt.w-bt.pw)
			} else {
				y0, x0 = g.IntN(bt.h-bt.ph+1), g.IntN(bt.w-bt.pw+1)
			}
		}
		src, msk := bt.norm[i], train[i].Mask.Data
		for ch := 0; ch < bt.c; ch++ {
			for y := 0; y < bt.ph; y++ {
				copy(bt.img[ch*plane+y*bt.pw:][:bt.pw], src[(ch*bt.h+y0+y)*bt.w+x0:][:bt.pw])
			}
		}
		for y := 0; y < bt.ph; y++ {
			copy(bt.mask[y*bt.pw:][:bt.pw], msk[(y0+y)*bt.w+x0:][:bt.pw])
		}
		if aug != nil {
			aug.Apply(bt.img, bt.mask, bt.c, bt.ph, bt.pw, g, bt.scr, bt.mscr)
		}
		copy(bt.hostX[n*bt.c*plane:][:bt.c*plane], bt.img)
		for k, f := range bt.factors {
			th, tw := bt.ph/f[0], bt.pw/f[1]
			dst := bt.hostT[k][n*th*tw:][:th*tw]
			for y := 0; y < th; y++ {
				for x := 0; x < tw; x++ {
					dst[y*tw+x] = bt.mask[(y*f[0]+f[0]/2)*bt.pw+x*f[1]+f[1]/2]
				}
			}
		}
	}
	if err := bt.b.Upload(bt.x, bt.hostX); err != nil {
		return nil, nil, err
	}
	for k, t := range bt.targets {
		if err := bt.b.Upload(t, bt.hostT[k]); err != nil {
			return nil, nil, err
		}
	}
	return bt.x, bt.targets, nil
}
