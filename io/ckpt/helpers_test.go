package ckpt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"math"
	"testing"

	"suture/tensor"
)

// sampleCheckpoint returns a checkpoint with random (seeded) tensors of
// awkward shapes: a scalar, an empty tensor, a 4-D conv weight, and one large
// enough to span several conversion chunks and zstd blocks.
func sampleCheckpoint(t testing.TB, seed uint64, bigElems int) *Checkpoint {
	t.Helper()
	rng := tensor.NewRNG(seed)
	c := &Checkpoint{}
	add := func(name string, x *tensor.Tensor) {
		c.Tensors = append(c.Tensors, Named{Name: name, T: x})
	}
	add("enc0.conv.w", rng.Rand(8, 3, 3, 3))
	add("enc0.norm.scale", rng.Rand(8))
	add("step", rng.Rand())      // scalar, shape ()
	add("empty", rng.Rand(0, 5)) // no elements
	add("dec0.w", rng.Rand(bigElems))
	special := rng.Rand(6)
	copy(special.Data, []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, math.MaxFloat32})
	add("special", special)
	for _, kv := range []struct {
		k string
		v any
	}{
		{"kind", "unet"},
		{"epoch", 12},
		{"config", map[string]any{"features": []int{8, 16, 32}, "norm": "instance"}},
	} {
		if err := c.SetMeta(kv.k, kv.v); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// sameCheckpoint fails t unless got and want hold the same meta (as JSON
// values) and bit-identical tensors in the same order.
func sameCheckpoint(t testing.TB, got, want *Checkpoint) {
	t.Helper()
	if len(got.Meta) != len(want.Meta) {
		t.Fatalf("meta has %d keys, want %d", len(got.Meta), len(want.Meta))
	}
	for k, w := range want.Meta {
		g, ok := got.Meta[k]
		if !ok {
			t.Fatalf("meta %q missing", k)
		}
		var gv, wv any
		if err := json.Unmarshal(g, &gv); err != nil {
			t.Fatalf("meta %q: %v", k, err)
		}
		if err := json.Unmarshal(w, &wv); err != nil {
			t.Fatalf("meta %q: %v", k, err)
		}
		gj, _ := json.Marshal(gv)
		wj, _ := json.Marshal(wv)
		if !bytes.Equal(gj, wj) {
			t.Fatalf("meta %q = %s, want %s", k, g, w)
		}
	}
	if len(got.Tensors) != len(want.Tensors) {
		t.Fatalf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for i, w := range want.Tensors {
		g := got.Tensors[i]
		if g.Name != w.Name || !g.T.Shape.Equal(w.T.Shape) || len(g.T.Data) != len(w.T.Data) {
			t.Fatalf("tensor %d: %q %v (%d values), want %q %v (%d values)", i, g.Name, g.T.Shape, len(g.T.Data), w.Name, w.T.Shape, len(w.T.Data))
		}
		for j := range w.T.Data {
			if math.Float32bits(g.T.Data[j]) != math.Float32bits(w.T.Data[j]) {
				t.Fatalf("tensor %q element %d = %v, want %v (bitwise)", w.Name, j, g.T.Data[j], w.T.Data[j])
			}
		}
	}
}

func encodeBytes(t testing.TB, c *Checkpoint) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, c); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fileParts are the sections of a checkpoint file, for building corrupt ones.
type fileParts struct {
	version uint32
	header  []byte
	comp    []byte
}

// splitFile cuts a valid checkpoint file into its sections.
func splitFile(t testing.TB, file []byte) fileParts {
	t.Helper()
	h := int(binary.LittleEndian.Uint32(file[12:]))
	c := int(binary.LittleEndian.Uint64(file[prefixBytes+h:]))
	start := prefixBytes + h + dataLenBytes
	return fileParts{
		version: binary.LittleEndian.Uint32(file[8:]),
		header:  append([]byte(nil), file[prefixBytes:prefixBytes+h]...),
		comp:    append([]byte(nil), file[start:start+c]...),
	}
}

// assemble lays out the sections with correct lengths and a correct checksum,
// so a test can reach the checks behind the CRC.
func (p fileParts) assemble() []byte {
	var b []byte
	b = append(b, magic...)
	b = binary.LittleEndian.AppendUint32(b, p.version)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p.header)))
	b = append(b, p.header...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(p.comp)))
	b = append(b, p.comp...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// fixChecksum rewrites the last four bytes as the CRC-32C of the rest; files
// shorter than the checksum are returned unchanged.
func fixChecksum(b []byte) []byte {
	if len(b) < checksumBytes {
		return b
	}
	out := append([]byte(nil), b...)
	n := len(out) - checksumBytes
	binary.LittleEndian.PutUint32(out[n:], crc32.Checksum(out[:n], castagnoli))
	return out
}
