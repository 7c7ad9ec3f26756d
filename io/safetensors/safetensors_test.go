package safetensors

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"suture/io/ckpt"
	"suture/tensor"
)

func encode(t testing.TB, ts []ckpt.Named, meta map[string]string) []byte {
	var b bytes.Buffer
	if err := Write(&b, ts, meta); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	g := tensor.NewRNG(1)
	ts := []ckpt.Named{{Name: "a.weight", T: g.Rand(3, 2, 1, 1)}, {Name: "b", T: g.Rand(5)}, {Name: "scalar", T: tensor.New()}}
	raw := encode(t, ts, map[string]string{"format": "pt", "plans": `{"x": 1}`})
	if n := binary.LittleEndian.Uint64(raw); (8+n)%8 != 0 {
		t.Errorf("data not 8-byte aligned")
	}
	f, err := Read(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["plans"] != `{"x": 1}` || len(f.Tensors) != 3 {
		t.Fatalf("metadata %v, %d tensors", f.Metadata, len(f.Tensors))
	}
	for _, want := range ts {
		got, ok := f.Get(want.Name)
		if !ok || !got.Shape.Equal(want.T.Shape) || tensor.MaxAbsDiff(got.Data, want.T.Data) != 0 {
			t.Errorf("%s changed", want.Name)
		}
	}
}

func file(header string, data int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), make([]byte, data)...)
}

func TestReadErrors(t *testing.T) {
	for _, c := range []struct {
		data []byte
		want string
	}{
		{[]byte{1, 2}, "not even a header length"},
		{file(`{}`, 0)[:9], "header of 2 bytes"},
		{binary.LittleEndian.AppendUint64(nil, 1<<40), "header of"},
		{file(`[1]`, 0), "not a JSON object"},
		{file(`{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, 8), `dtype "I64"`},
		{file(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8), "8 bytes, but 3 F32 elements of shape [3] take 12"},
		// An F64 tensor given an F32-sized range.
		{file(`{"a":{"dtype":"F64","shape":[2,2],"data_offsets":[0,16]}}`, 16), "the size does not match the dtype"},
		{file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 4), "run past the data"},
		{file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 8), "4 bytes of data after"},
		{file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), `names "a" twice`},
		{file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 4), "expected to start at 4"},
		{file(`{"a":{"dtype":"F32","shape":[100000,100000,100000],"data_offsets":[0,4]}}`, 4), "too many elements"},
		{file(`{"__metadata__":{"k":1}}`, 0), "__metadata__ must map strings to strings"},
	} {
		_, err := Read(bytes.NewReader(c.data), int64(len(c.data)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.data, err, c.want)
		}
	}
}

// FuzzRead: errors, never a panic, and tensors only as large as the input.
func FuzzRead(f *testing.F) {
	f.Add(encode(f, []ckpt.Named{{Name: "w", T: tensor.NewRNG(1).Rand(2, 2)}}, map[string]string{"k": "v"}))
	f.Add(file(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, 4))
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		n := 0
		for _, x := range sf.Tensors {
			n += x.T.Numel()
		}
		if 2*n > len(data) {
			t.Fatalf("%d elements from %d bytes", n, len(data))
		}
	})
}
