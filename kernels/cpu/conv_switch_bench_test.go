package cpu

import (
	"fmt"
	"testing"

	"suture/kernels"
	"suture/tensor"
)

// BenchmarkConvSwitches: convswitches/CixCoxHxW[/s2]/{fwd,bwddata,bwdfilter}/SWITCH/{old,new}
// on the evaluation plan's small U-Net layers (batch 8; run with -cpu 1 as
// its workers), each switch of the 3x3 paths off (old) and on (new):
// group (convGroupThreadFloats: whole-batch groups against 256 KiB per
// thread), panels (convPanelsKernel) and fill (fastFill). Compare the
// medians of -count 5 or more.
func BenchmarkConvSwitches(b *testing.B) {
	type shape struct{ ci, co, h, w, stride int }
	shapes := []shape{{3, 16, 64, 64, 1}, {16, 16, 64, 64, 1}, {32, 16, 64, 64, 1}, {32, 32, 32, 32, 1},
		{64, 32, 32, 32, 1}, {128, 64, 16, 16, 1}, {16, 32, 64, 64, 2}, {64, 128, 16, 16, 2}}
	switches := []struct {
		name string
		set  func(on bool)
	}{
		{"group", func(on bool) {
			convGroupThreadFloats = 1 << 30
			if on {
				convGroupThreadFloats = 1 << 16
			}
		}},
		{"panels", func(on bool) { convPanelsKernel = on }},
		{"fill", func(on bool) { fastFill = on }},
	}
	for _, s := range shapes {
		c := convBench{ci: s.ci, co: s.co, h: s.h, w: s.w, n: 8, k: 3}
		cb := newConvPassBench(c, 1)
		name := fmt.Sprintf("%dx%dx%dx%d", s.ci, s.co, s.h, s.w)
		if s.stride == 2 {
			cb.p = kernels.Conv(2, 1)
			c.h, c.w = s.h/2, s.w/2
			cb.y, cb.dy = tensor.New(c.n, c.co, c.h, c.w), tensor.NewRNG(5).Rand(c.n, c.co, c.h, c.w)
			name += "/s2"
		}
		for _, pass := range []string{"fwd", "bwddata", "bwdfilter"} {
			for _, sw := range switches {
				for _, on := range []bool{false, true} {
					b.Run(fmt.Sprintf("%s/%s/%s/%s", name, pass, sw.name, map[bool]string{false: "old", true: "new"}[on]), func(b *testing.B) {
						sw.set(on)
						defer sw.set(true)
						loop(b, c.fwdFlops(), func() { cb.run(b, pass) })
					})
				}
			}
		}
	}
}
