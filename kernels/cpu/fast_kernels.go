package cpu

// The three micro-kernels of the fast path, each with an assembly version
// (fast_kernels_amd64.s, AVX2+FMA) and a plain-Go version with the same
// contract. The wrappers below check the slice bounds the kernels will touch
// (a failure is a bug in a driver) and pick the version.

// useAsm selects the assembly micro-kernels; tests switch it off to run the
// plain-Go kernels through the same drivers.
var useAsm = asmAvailable

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// Register tile of the GEMM kernel: gemmMR rows of C by gemmNR columns.
const (
	gemmMR = 6
	gemmNR = 16
)

// microGemm: c[r*ldc+j] (+)= bias[r] + sum_p a[p*6+r] * b[p*16+j] for the
// 6x16 tile. a: packed A panel (k, 6); b: packed B panel (k, 16); c: tile at
// c[0]; bias: (6) or nil.
func microGemm(k int, a, b, c []float32, ldc int, bias []float32, accumulate bool) {
	microGemmRows(gemmMR, k, a, b, c, ldc, bias, accumulate)
}

// microGemmRows is microGemm for the first rows (1-6) rows of the panel: the
// last panel of an M that is not a multiple of 6 skips the padding rows'
// products and writes its rows in place. bias: (rows) or nil.
func microGemmRows(rows, k int, a, b, c []float32, ldc int, bias []float32, accumulate bool) {
	_, _, _ = a[gemmMR*k-1], b[gemmNR*k-1], c[(rows-1)*ldc+gemmNR-1]
	if useAsm {
		var bp *float32
		if bias != nil {
			_ = bias[rows-1]
			bp = &bias[0]
		}
		acc := boolInt(accumulate)
		switch rows {
		case 6:
			gemmKernel6x16(k, &a[0], &b[0], &c[0], ldc, bp, acc)
		case 5:
			gemmKernel5x16(k, &a[0], &b[0], &c[0], ldc, bp, acc)
		case 4:
			gemmKernel4x16(k, &a[0], &b[0], &c[0], ldc, bp, acc)
		case 3:
			gemmKernel3x16(k, &a[0], &b[0], &c[0], ldc, bp, acc)
		case 2:
			gemmKernel2x16(k, &a[0], &b[0], &c[0], ldc, bp, acc)
		case 1:
			gemmKernel1x16(k, &a[0], &b[0], &c[0], ldc, bp, acc)
		default:
			panic("cpu: microGemmRows: rows out of 1..6")
		}
		return
	}
	gemmKernelGo(rows, k, a, b, c, ldc, bias, accumulate)
}

// microGemmZ is the tile of rows (1-12) x 32 columns over two A panels (a0:
// rows 0-5, a1: rows 6-11; a1 is not read when rows <= 6) and two B panels
// (b0: columns 0-15, b1: 16-31) in the AVX-512 kernel; without AVX-512 it
// is the 6x16 kernels on the four quarters (the same sums in the same order).
func microGemmZ(rows, k int, a0, a1, b0, b1, c []float32, ldc int, bias []float32, accumulate bool) {
	_, _, _, _ = a0[gemmMR*k-1], b0[gemmNR*k-1], b1[gemmNR*k-1], c[(rows-1)*ldc+2*gemmNR-1]
	if rows > gemmMR {
		_ = a1[gemmMR*k-1]
	} else {
		a1 = a0
	}
	if !useAVX512 || !useAsm {
		top := min(rows, gemmMR)
		var bTop []float32
		if bias != nil {
			bTop = bias[:top]
		}
		microGemmRows(top, k, a0, b0, c, ldc, bTop, accumulate)
		microGemmRows(top, k, a0, b1, c[gemmNR:], ldc, bTop, accumulate)
		if rows > gemmMR {
			var bBot []float32
			if bias != nil {
				bBot = bias[gemmMR:rows]
			}
			lo := c[gemmMR*ldc:]
			microGemmRows(rows-gemmMR, k, a1, b0, lo, ldc, bBot, accumulate)
			microGemmRows(rows-gemmMR, k, a1, b1, lo[gemmNR:], ldc, bBot, accumulate)
		}
		return
	}
	var bp *float32
	if bias != nil {
		_ = bias[rows-1]
		bp = &bias[0]
	}
	acc := boolInt(accumulate)
	pa0, pa1, pb0, pb1, pc := &a0[0], &a1[0], &b0[0], &b1[0], &c[0]
	switch rows {
	case 12:
		gemmKernelZ12x32(k, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 11:
		gemmKernelZ11x32(k, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 10:
		gemmKernelZ10x32(k, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 9:
		gemmKernelZ9x32(k, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 8:
		gemmKernelZ8x32(k, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 7:
		gemmKernelZ7x32(k, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 6:
		gemmKernelZ6x32(k, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 5:
		gemmKernelZ5x32(k, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 4:
		gemmKernelZ4x32(k, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 3:
		gemmKernelZ3x32(k, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 2:
		gemmKernelZ2x32(k, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	case 1:
		gemmKernelZ1x32(k, pa0, pa1, pb0, pb1, pc, ldc, bp, acc)
	default:
		panic("cpu: microGemmZ: rows out of 1..12")
	}
}

// gemmKernelGo is the plain-Go micro-kernel for rows (1-6) rows of a panel.
func gemmKernelGo(rows, k int, a, b, c []float32, ldc int, bias []float32, accumulate bool) {
	var acc [gemmMR][gemmNR]float32
	if bias != nil {
		for r := range rows {
			for j := range acc[r] {
				acc[r][j] = bias[r]
			}
		}
	}
	for p := 0; p < k; p++ {
		bp := b[p*gemmNR : p*gemmNR+gemmNR]
		for r := 0; r < rows; r++ {
			av := a[p*gemmMR+r]
			row := &acc[r]
			for j, bv := range bp {
				row[j] += av * bv
			}
		}
	}
	for r := 0; r < rows; r++ {
		row := c[r*ldc : r*ldc+gemmNR]
		if accumulate {
			for j := range row {
				row[j] += acc[r][j]
			}
		} else {
			copy(row, acc[r][:])
		}
	}
}

// Register tile of the convolution kernel: convMR output channels by three
// segments of convSeg output pixels.
const (
	convMR  = 4
	convSeg = 8
	convNS  = 3
)

// convSegs locates the three pixel segments of a conv tile: segment s reads
// tap p at src[srcOff[s]+offs[p]+l] and writes row r at c[cOff[s]+r*ldc+l].
type convSegs struct {
	srcOff, cOff [convNS]int
}

// microConv: for r < 4, s < 3, l < 8:
// c[cOff_s+r*ldc+l] (+)= bias[r] + sum_p a[p*4+r] * src[srcOff_s+offs[p]+l].
// a: packed A panel (k, 4); offs: (k) tap offsets, none above maxOff;
// bias: (4) or nil; c and src hold the segments' rows.
func microConv(k int, a []float32, offs []int, maxOff int, src []float32, c []float32, ldc int, sg *convSegs, bias []float32, accumulate bool) {
	_, _ = a[convMR*k-1], offs[k-1]
	for s := 0; s < convNS; s++ {
		_ = src[sg.srcOff[s]+maxOff+convSeg-1]
		_ = c[sg.cOff[s]+(convMR-1)*ldc+convSeg-1]
	}
	if bias != nil {
		_ = bias[convMR-1]
	}
	if useAsm {
		var bp *float32
		if bias != nil {
			bp = &bias[0]
		}
		convKernel4x24(k, &a[0], &offs[0], &src[sg.srcOff[0]], &src[sg.srcOff[1]], &src[sg.srcOff[2]],
			&c[sg.cOff[0]], &c[sg.cOff[1]], &c[sg.cOff[2]], ldc, bp, boolInt(accumulate))
		return
	}
	convKernel4x24Go(k, a, offs, src, c, ldc, sg, bias, accumulate)
}

func convKernel4x24Go(k int, a []float32, offs []int, src []float32, c []float32, ldc int, sg *convSegs, bias []float32, accumulate bool) {
	var acc [convMR][convNS][convSeg]float32
	for p := 0; p < k; p++ {
		for s := 0; s < convNS; s++ {
			seg := src[sg.srcOff[s]+offs[p]:][:convSeg]
			for r := 0; r < convMR; r++ {
				av := a[p*convMR+r]
				row := &acc[r][s]
				for l, v := range seg {
					row[l] += av * v
				}
			}
		}
	}
	for r := 0; r < convMR; r++ {
		var bv float32
		if bias != nil {
			bv = bias[r]
		}
		for s := 0; s < convNS; s++ {
			row := c[sg.cOff[s]+r*ldc:][:convSeg]
			for l := range row {
				v := acc[r][s][l] + bv
				if accumulate {
					v += row[l]
				}
				row[l] = v
			}
		}
	}
}

// Tile of the dot kernel: dotMR rows of dy against dotNR shifted rows of x.
const (
	dotMR = 4
	dotNR = 3
)

// microDot: out[j*ldo+r] += sum_{q<n} dy[r*ldy+q] * x[o_j+q] for r < 4, j < 3;
// n is a multiple of 8. The output is tap-major (the four rows' sums of one
// x row are contiguous) so that the kernel adds them as one vector.
func microDot(n int, dy []float32, ldy int, x []float32, o *[dotNR]int, out []float32, ldo int) {
	if n == 0 {
		return
	}
	_ = dy[(dotMR-1)*ldy+n-1]
	_, _, _ = x[o[0]+n-1], x[o[1]+n-1], x[o[2]+n-1]
	_ = out[(dotNR-1)*ldo+dotMR-1]
	if useAsm {
		dotKernel4x3(n, &dy[0], ldy, &x[0], o[0], o[1], o[2], &out[0], ldo)
		return
	}
	dotKernel4x3Go(n, dy, ldy, x, o, out, ldo)
}

// microDotZ is microDot for 8 rows of dy (two groups of dotMR) in the
// AVX-512 kernel; without it, the 4-row kernel twice. n is a multiple of 8.
func microDotZ(n int, dy []float32, ldy int, x []float32, o *[dotNR]int, out []float32, ldo int) {
	if n == 0 {
		return
	}
	if !useAVX512 || !useAsm {
		microDot(n, dy, ldy, x, o, out, ldo)
		microDot(n, dy[dotMR*ldy:], ldy, x, o, out[dotMR:], ldo)
		return
	}
	if n%8 != 0 {
		panic("cpu: microDotZ: n not a multiple of 8")
	}
	_ = dy[(2*dotMR-1)*ldy+n-1]
	_, _, _ = x[o[0]+n-1], x[o[1]+n-1], x[o[2]+n-1]
	_ = out[(dotNR-1)*ldo+2*dotMR-1]
	dotKernelZ8x3(n, &dy[0], ldy, &x[0], o[0], o[1], o[2], &out[0], ldo)
}

func dotKernel4x3Go(n int, dy []float32, ldy int, x []float32, o *[dotNR]int, out []float32, ldo int) {
	for r := 0; r < dotMR; r++ {
		d := dy[r*ldy:][:n]
		for j := 0; j < dotNR; j++ {
			xs := x[o[j]:][:n]
			var acc float32
			for q, v := range d {
				acc += v * xs[q]
			}
			out[j*ldo+r] += acc
		}
	}
}

// leakyReLUFast is leakyReLURef (y and x of equal length, possibly the same
// slice) with the multiple-of-8 head in assembly: the compare-and-blend
// removes the reference's data-dependent branch, which mispredicts on
// activations of random sign.
func leakyReLUFast(y, x []float32, slope float32) {
	if len(x) == 0 {
		return
	}
	_ = y[len(x)-1:]
	head := len(x) &^ 7
	if useAsm && head > 0 {
		leakyReLUKernel(head, &y[0], &x[0], slope)
	} else {
		head = 0
	}
	leakyReLURef(y[head:len(x)], x[head:], slope)
}

// leakyReLUBackwardFast is leakyReLUBackwardRef with the same split.
func leakyReLUBackwardFast(dx, dy, y []float32, slope float32) {
	if len(y) == 0 {
		return
	}
	_, _ = dx[len(y)-1:], dy[len(y)-1:]
	head := len(y) &^ 7
	if useAsm && head > 0 {
		leakyReLUBackwardKernel(head, &dx[0], &dy[0], &y[0], slope)
	} else {
		head = 0
	}
	leakyReLUBackwardRef(dx[head:len(y)], dy[head:len(y)], y[head:], slope)
}

// axpyFast is axpyRef with the runs of 8 in assembly (fused multiply-add).
func axpyFast(y, x []float32, a float32) {
	if len(x) == 0 {
		return
	}
	_ = y[len(x)-1:]
	head := len(x) &^ 7
	if useAsm && head > 0 {
		axpyKernel(head, &y[0], &x[0], a)
	} else {
		head = 0
	}
	axpyRef(y[head:len(x)], x[head:], a)
}

// axpyDiff sets y[i] += f*(a[i]-b[i]), the runs of 8 in assembly (fused).
func axpyDiff(y, a, b []float32, f float32) {
	if len(a) == 0 {
		return
	}
	_, _ = y[len(a)-1:], b[len(a)-1:]
	head := len(a) &^ 7
	if useAsm && head > 0 {
		axpyDiffKernel(head, &y[0], &a[0], &b[0], f)
	} else {
		head = 0
	}
	for i := head; i < len(a); i++ {
		y[i] += f * (a[i] - b[i])
	}
}
