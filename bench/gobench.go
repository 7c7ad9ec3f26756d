package bench

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"unicode"
)

// WriteGoBench writes results in Go's benchmark format, one line per timed
// sample, so that benchstat compares two runs or two instruction-set paths:
//
//	BenchmarkUnet/train/isa=avx512-2   3   812345678 ns/op   171.2 GFLOP/s
//
// The case name becomes the benchmark name (its first letter upper-case),
// the path a key=value part (benchstat -col /isa), a precision other than
// fp32 another (/prec=bf16), the threads the -N suffix. cpu names the processor in the header.
func WriteGoBench(w io.Writer, cpu string, results []Result) error {
	if _, err := fmt.Fprintf(w, "goos: %s\ngoarch: %s\npkg: suture/bench\ncpu: %s\n", runtime.GOOS, runtime.GOARCH, cpu); err != nil {
		return err
	}
	for _, r := range results {
		name := GoBenchName(r)
		samples := r.SampleMS
		if len(samples) == 0 {
			samples = []float64{r.MS}
		}
		inner := max(r.Inner, 1)
		for _, ms := range samples {
			line := fmt.Sprintf("%s\t%d\t%.0f ns/op", name, inner, ms*1e6)
			if r.flops > 0 && ms > 0 {
				line += fmt.Sprintf("\t%.2f GFLOP/s", r.flops/(ms*1e-3)/1e9)
			}
			if _, err := fmt.Fprintln(w, line); err != nil {
				return err
			}
		}
	}
	return nil
}

// GoBenchName is the benchmark name of a result: "unet/train" on the avx2
// path with 2 threads is BenchmarkUnet/train/isa=avx2-2.
func GoBenchName(r Result) string {
	c := []rune(r.Case)
	if len(c) > 0 {
		c[0] = unicode.ToUpper(c[0])
	}
	name := "Benchmark" + strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return '_'
		}
		return r
	}, string(c))
	if r.ISA != "" {
		name += "/isa=" + r.ISA
	} else if r.Backend != "" {
		name += "/backend=" + r.Backend
	}
	if r.Precision != "" && r.Precision != "fp32" {
		name += "/prec=" + r.Precision
	}
	return fmt.Sprintf("%s-%d", name, max(r.Threads, 1))
}
