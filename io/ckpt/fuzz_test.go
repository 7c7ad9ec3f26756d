package ckpt

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the decoder, both as given and with the
// trailing CRC recomputed (so mutations get past the checksum and exercise the
// header, index and zstd checks). Decoding must never panic, must fail with a
// *FormatError, and whatever it accepts must survive an encode/decode round
// trip unchanged.
func FuzzDecode(f *testing.F) {
	good := smallFile(f)
	f.Add(good)
	f.Add(encodeBytes(f, &Checkpoint{}))
	f.Add(encodeBytes(f, sampleCheckpoint(f, 5, 300)))
	if golden, err := os.ReadFile(goldenPath); err == nil {
		f.Add(golden)
	}
	f.Add(good[:len(good)/2])
	f.Add(append(append([]byte(nil), good...), 0))
	f.Add(withHeader(f, func(h *header) { h.Tensors[1].Offset = 16 }))
	f.Add(withHeader(f, func(h *header) { h.Tensors[0].Shape = []int64{-1, 6} }))
	f.Add(withComp(f, zstdFrame(f, make([]byte, 44))))
	f.Add(withComp(f, rawFrame(0x00, make([]byte, 40))))

	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range [][]byte{data, fixChecksum(data)} {
			c, err := Decode(bytes.NewReader(in), limit)
			if err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("error %v is not a *FormatError", err)
				}
				continue
			}
			for _, n := range c.Tensors {
				if n.T == nil || len(n.T.Data) != n.T.Numel() {
					t.Fatalf("tensor %q decoded inconsistent", n.Name)
				}
			}
			var b bytes.Buffer
			if err := Encode(&b, c); err != nil {
				t.Fatalf("re-encoding an accepted checkpoint: %v", err)
			}
			again, err := Decode(&b, limit)
			if err != nil {
				t.Fatalf("decoding a re-encoded checkpoint: %v", err)
			}
			sameCheckpoint(t, again, c)
		}
	})
}
