package cpu

// gemmRef: c = alpha*op(a)*op(b) + beta*c with row-major storage.
// op(a) is (m, k): a[i*lda+p], or a[p*lda+i] when transA.
// op(b) is (k, n): b[p*ldb+j], or b[j*ldb+p] when transB.
// beta == 0 overwrites c without reading it.
func gemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var acc float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				acc += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * acc
			} else {
				c[i*ldc+j] = alpha*acc + beta*c[i*ldc+j]
			}
		}
	}
}
