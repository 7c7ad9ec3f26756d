package imageset

import "testing"

// BenchmarkSynth64 generates 1000 images of 64x64 per iteration.
func BenchmarkSynth64(b *testing.B) {
	for _, party := range []string{"a", "b"} {
		b.Run(party, func(b *testing.B) {
			for b.Loop() {
				if _, err := Synth(party, 1000, 64, 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(1000*float64(b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
