package ckpt

import (
	"bytes"
	"testing"
)

// BenchmarkEncode and BenchmarkDecode measure a 4M-parameter checkpoint
// (16 MiB of float32, random values, which compress little).
func BenchmarkEncode(b *testing.B) {
	c := sampleCheckpoint(b, 1, 4<<20)
	var buf bytes.Buffer
	b.SetBytes(4 << 22)
	for b.Loop() {
		buf.Reset()
		if err := Encode(&buf, c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len())/float64(4<<22), "size-ratio")
}

func BenchmarkDecode(b *testing.B) {
	file := encodeBytes(b, sampleCheckpoint(b, 1, 4<<20))
	b.SetBytes(4 << 22)
	for b.Loop() {
		if _, err := Decode(bytes.NewReader(file), 1<<30); err != nil {
			b.Fatal(err)
		}
	}
}
