package ckpt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"suture/tensor"
)

// smallFile is a valid checkpoint with two tensors (6 and 4 elements).
func smallFile(t testing.TB) []byte {
	t.Helper()
	rng := tensor.NewRNG(1)
	c := &Checkpoint{Tensors: []Named{{Name: "a", T: rng.Rand(2, 3)}, {Name: "b", T: rng.Rand(4)}}}
	if err := c.SetMeta("kind", "test"); err != nil {
		t.Fatal(err)
	}
	return encodeBytes(t, c)
}

// withHeader returns the small file with its header changed by edit and the
// checksum recomputed.
func withHeader(t testing.TB, edit func(h *header)) []byte {
	t.Helper()
	p := splitFile(t, smallFile(t))
	var h header
	if err := json.Unmarshal(p.header, &h); err != nil {
		t.Fatal(err)
	}
	edit(&h)
	raw, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	p.header = raw
	return p.assemble()
}

// zstdFrame compresses data the way the writer does, or with extra options.
func zstdFrame(t testing.TB, data []byte, opts ...zstd.EOption) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, append([]zstd.EOption{zstd.WithEncoderConcurrency(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc.Reset(&b)
	if _, err := enc.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// rawFrame builds by hand a zstd frame holding data in one raw block, with
// the given window descriptor byte (window = 2^(10 + wd>>3) for wd&7 == 0).
func rawFrame(windowDescriptor byte, data []byte) []byte {
	b := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, windowDescriptor}
	blockHeader := 1 | uint32(len(data))<<3 // last block, type raw
	b = append(b, byte(blockHeader), byte(blockHeader>>8), byte(blockHeader>>16))
	return append(b, data...)
}

func withComp(t testing.TB, comp []byte) []byte {
	t.Helper()
	p := splitFile(t, smallFile(t))
	p.comp = comp
	return p.assemble()
}

func decodeErr(t *testing.T, file []byte, limit int64) error {
	t.Helper()
	c, err := Decode(bytes.NewReader(file), limit)
	if err == nil {
		t.Fatalf("decoded a bad file into %d tensors", len(c.Tensors))
	}
	var fe *FormatError
	if !errors.As(err, &fe) || fe.File != streamName {
		t.Fatalf("error %v is not a *FormatError naming the stream", err)
	}
	return err
}

func TestDecodeRejectsCorruptFiles(t *testing.T) {
	good := smallFile(t)
	flip := func(i int) []byte {
		b := append([]byte(nil), good...)
		b[i] ^= 0x40
		return b
	}
	hlen := int(binary.LittleEndian.Uint32(good[12:]))
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "truncated: empty file"},
		{"half magic", []byte("SUTU"), "inside the magic bytes"},
		{"short non-magic", []byte("PK"), "bad magic"},
		{"bad magic", flip(0), "bad magic"},
		{"magic only", []byte(magic), "truncated"},
		{"version 2", func() []byte { p := splitFile(t, good); p.version = 2; return p.assemble() }(), "unsupported format version 2"},
		{"header length huge", func() []byte {
			b := append([]byte(nil), good...)
			binary.LittleEndian.PutUint32(b[12:], maxHeaderBytes+1)
			return b
		}(), "exceeds the format's limit"},
		{"header length past end", func() []byte {
			b := append([]byte(nil), good...)
			binary.LittleEndian.PutUint32(b[12:], uint32(len(b)))
			return b
		}(), "truncated"},
		{"data length past end", func() []byte {
			b := append([]byte(nil), good...)
			binary.LittleEndian.PutUint64(b[prefixBytes+hlen:], 1<<62)
			return b
		}(), "truncated"},
		{"last byte cut", good[:len(good)-1], "truncated"},
		{"trailing garbage", append(append([]byte(nil), good...), 0, 1, 2), "3 bytes of trailing garbage"},
		{"header bit flip", flip(prefixBytes + 3), "checksum mismatch"},
		{"data bit flip", flip(len(good) - 8), "checksum mismatch"},
		{"checksum bit flip", flip(len(good) - 1), "checksum mismatch"},
		{"header not JSON", func() []byte { p := splitFile(t, good); p.header = []byte(`{"meta":`); return p.assemble() }(), "corrupt header JSON"},
		{"header unknown key", func() []byte {
			p := splitFile(t, good)
			p.header = append([]byte(`{"dtype":"f16",`), p.header[1:]...)
			return p.assemble()
		}(), "corrupt header JSON"},
		{"header extra value", func() []byte { p := splitFile(t, good); p.header = append(p.header, " {}"...); return p.assemble() }(), "data after the header object"},
		{"header number overflow", func() []byte {
			p := splitFile(t, good)
			p.header = bytes.Replace(p.header, []byte(`"data_bytes":40`), []byte(`"data_bytes":1e30`), 1)
			return p.assemble()
		}(), "corrupt header JSON"},
		{"negative data_bytes", withHeader(t, func(h *header) { h.DataBytes = -4 }), "negative data_bytes"},
		{"data_bytes over limit", withHeader(t, func(h *header) { h.DataBytes = 1 << 40 }), "exceeds the limit"},
		{"empty name", withHeader(t, func(h *header) { h.Tensors[1].Name = "" }), "empty name"},
		{"duplicate name", withHeader(t, func(h *header) { h.Tensors[1].Name = "a" }), `"a" appears twice`},
		{"negative dim", withHeader(t, func(h *header) { h.Tensors[0].Shape = []int64{-2, -3} }), "negative dimension"},
		{"element count overflow", withHeader(t, func(h *header) { h.Tensors[0].Shape = []int64{1 << 40, 1 << 40, 0} }), "too many elements"},
		{"zero dim hides overflow", withHeader(t, func(h *header) { h.Tensors[0].Shape = []int64{0, 1 << 62, 1 << 62} }), "too many elements"},
		{"length not shape", withHeader(t, func(h *header) { h.Tensors[0].Shape = []int64{3, 3} }), "needs 36"},
		{"negative offset", withHeader(t, func(h *header) { h.Tensors[0].Offset = -24 }), "outside the 40-byte data"},
		{"offset past end", withHeader(t, func(h *header) { h.Tensors[1].Offset = 30 }), "outside the 40-byte data"},
		{"offset overflow", withHeader(t, func(h *header) { h.Tensors[1].Offset = 1<<63 - 8 }), "outside"},
		{"overlap", withHeader(t, func(h *header) { h.Tensors[1].Offset = 16 }), "overlap"},
		{"gap", withHeader(t, func(h *header) { h.Tensors[0].Offset = 24; h.Tensors[1].Offset = 0; h.DataBytes = 48 }), "gap of 8 bytes"},
		{"data_bytes too large", withHeader(t, func(h *header) { h.DataBytes = 48 }), "cover 40 bytes, data_bytes says 48"},
		{"zstd garbage", withComp(t, []byte("definitely not a zstd frame")), "decompressing"},
		{"zstd empty", withComp(t, nil), "ends early"},
		{"zstd short", withComp(t, zstdFrame(t, make([]byte, 36))), "ends early"},
		{"zstd long", withComp(t, zstdFrame(t, make([]byte, 44))), "more than the 40 bytes"},
		{"zstd junk after frame", withComp(t, append(zstdFrame(t, make([]byte, 40)), 1, 2, 3, 4, 5, 6, 7, 8)), "after the last tensor"},
		{"hand-made frame decodes", withComp(t, rawFrame(0x00, make([]byte, 40))), "<valid>"},
		{"zstd window above data_bytes", withComp(t, rawFrame(0x10, make([]byte, 40))), "window size exceeded"}, // 4 KiB for 40 bytes
		{"zstd window too large", withComp(t, rawFrame(0x68, make([]byte, 40))), "window size exceeded"},
		{"zstd content checksum", func() []byte {
			f := zstdFrame(t, []byte(strings.Repeat("abcd", 10)), zstd.WithEncoderCRC(true))
			f[len(f)-1] ^= 1 // corrupt zstd's own XXH64, then re-checksum the file
			return withComp(t, f)
		}(), "decompressing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "<valid>" { // control: proves the corrupt variants fail for their fault
				if _, err := Decode(bytes.NewReader(tc.file), 1<<20); err != nil {
					t.Fatal(err)
				}
				return
			}
			err := decodeErr(t, tc.file, 1<<20)
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// Every prefix and every single-byte corruption of a valid file must give an
// error, never a panic or a wrong checkpoint.
func TestDecodeEveryTruncationAndBitFlip(t *testing.T) {
	good := smallFile(t)
	for n := range len(good) {
		decodeErr(t, good[:n], 1<<20)
	}
	for i := range good {
		for _, mask := range []byte{0x01, 0x80} {
			b := append([]byte(nil), good...)
			b[i] ^= mask
			decodeErr(t, b, 1<<20)
		}
	}
}

func TestDecodeLimit(t *testing.T) {
	good := smallFile(t)
	if _, err := Decode(bytes.NewReader(good), int64(len(good))); err != nil {
		t.Fatalf("limit = file size: %v", err)
	}
	if err := decodeErr(t, good, int64(len(good))-1); !strings.Contains(err.Error(), "longer than the limit") {
		t.Fatalf("got %v", err)
	}
	if err := decodeErr(t, good, 0); !strings.Contains(err.Error(), "must be positive") {
		t.Fatalf("got %v", err)
	}
}

// A small file whose index claims gigabytes must fail without allocating
// them: memory grows only with decompressed bytes that really arrive.
func TestDecodeHugeClaimAllocatesLittle(t *testing.T) {
	const claimed = 3 << 30
	file := withHeader(t, func(h *header) {
		h.Tensors = []indexEntry{{Name: "huge", Shape: []int64{claimed / 4}, Offset: 0, Length: claimed}}
		h.DataBytes = claimed
	})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := decodeErr(t, file, 4<<30)
	runtime.ReadMemStats(&after)
	if !strings.Contains(err.Error(), "ends early") {
		t.Fatalf("got %v", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Fatalf("allocated %d bytes for a %d-byte file", alloc, len(file))
	}
}
