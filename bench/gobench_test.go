package bench

import (
	"bytes"
	"strings"
	"testing"
)

// TestWriteGoBench: one line per sample in Go's benchmark format, the name
// carrying the path and threads, the rate from the case's flops.
func TestWriteGoBench(t *testing.T) {
	rs := []Result{
		{Case: "unet/train", ISA: "avx2", Threads: 2, Inner: 1, SampleMS: []float64{500, 250}, flops: 1e9},
		{Case: "stitch/double", Backend: "cuda", Threads: 1, MS: 2},
	}
	var b bytes.Buffer
	if err := WriteGoBench(&b, "Test CPU", rs); err != nil {
		t.Fatal(err)
	}
	want := "goos: linux\ngoarch: amd64\npkg: suture/bench\ncpu: Test CPU\n" +
		"BenchmarkUnet/train/isa=avx2-2\t1\t500000000 ns/op\t2.00 GFLOP/s\n" +
		"BenchmarkUnet/train/isa=avx2-2\t1\t250000000 ns/op\t4.00 GFLOP/s\n" +
		"BenchmarkStitch/double/backend=cuda-1\t1\t2000000 ns/op\n"
	got := b.String()
	// goos/goarch are this machine's; compare the rest exactly.
	gotLines, wantLines := strings.Split(got, "\n")[2:], strings.Split(want, "\n")[2:]
	if strings.Join(gotLines, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("WriteGoBench wrote\n%s\nwant\n%s", got, want)
	}
}
