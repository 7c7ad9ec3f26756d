package kerneltest

// refGemm returns alpha*op(a)*op(b) + beta*c, (m, n), in float64; c is not
// read when beta == 0. a: (m, k), or (k, m) when transA; b: (k, n), or (n, k)
// when transB; c: (m, n).
func refGemm(a, b, c []float64, transA, transB bool, m, n, k int, alpha, beta float64) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				av := a[i*k+p]
				if transA {
					av = a[p*m+i]
				}
				bv := b[p*n+j]
				if transB {
					bv = b[j*k+p]
				}
				s += av * bv
			}
			out[i*n+j] = alpha * s
			if beta != 0 {
				out[i*n+j] += beta * c[i*n+j]
			}
		}
	}
	return out
}
