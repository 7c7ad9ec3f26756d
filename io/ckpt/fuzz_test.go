package ckpt

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/klauspost/compress/zstd"
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

// FuzzAssembled fuzzes the sections of a file separately: the header JSON
// text, and the tensor data either raw (compressed here, so the frame is
// valid and the fuzzer controls what it decompresses to) or as the zstd
// section itself. The lengths and the CRC are always right, so every input
// reaches the header, index and decompression checks. Same properties as
// FuzzDecode.
func FuzzAssembled(f *testing.F) {
	for _, file := range [][]byte{smallFile(f), encodeBytes(f, sampleCheckpoint(f, 6, 40))} {
		p := splitFile(f, file)
		f.Add(string(p.header), p.comp, false)
	}
	p := splitFile(f, smallFile(f))
	f.Add(string(p.header), make([]byte, 40), true)
	f.Add(`{"meta":{},"data_bytes":8,"tensors":[{"name":"x","shape":[2],"offset":0,"length":8}]}`, []byte("abcdefgh"), true)
	f.Add(`{"meta":{"k":[1,{"a":null}]},"data_bytes":0,"tensors":[{"name":"e","shape":[0,3],"offset":0,"length":0}]}`, []byte{}, true)

	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, header string, data []byte, compress bool) {
		p := fileParts{version: version, header: []byte(header), comp: data}
		if compress {
			p.comp = writerFrame(t, data)
		}
		c, err := Decode(bytes.NewReader(p.assemble()), limit)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FormatError", err)
			}
			return
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
	})
}

// writerFrame compresses data with the settings Encode uses.
func writerFrame(t testing.TB, data []byte) []byte {
	enc, err := zstd.NewWriter(nil, zstd.WithWindowSize(maxWindowBytes), zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 {
		return enc.EncodeAll(nil, nil)
	}
	var b bytes.Buffer
	enc.ResetContentSize(&b, int64(len(data)))
	if _, err := enc.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
