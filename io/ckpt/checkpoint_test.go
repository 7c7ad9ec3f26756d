package ckpt

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"suture/tensor"
)

func TestRoundTripStream(t *testing.T) {
	// 300k elements: several 16k-element conversion chunks, several 128 KiB
	// zstd blocks, and more than the 1 MiB decoder buffer.
	for _, big := range []int{1, 1000, 300_000} {
		want := sampleCheckpoint(t, uint64(big), big)
		file := encodeBytes(t, want)
		got, err := Decode(bytes.NewReader(file), int64(len(file))+4*int64(big)+1<<20)
		if err != nil {
			t.Fatalf("big=%d: %v", big, err)
		}
		sameCheckpoint(t, got, want)
	}
}

func TestRoundTripFile(t *testing.T) {
	want := sampleCheckpoint(t, 7, 5000)
	path := filepath.Join(t.TempDir(), "model.ckpt")
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	sameCheckpoint(t, got, want)
}

func TestRoundTripEmpty(t *testing.T) {
	for _, c := range []*Checkpoint{{}, {Tensors: []Named{{Name: "z", T: tensor.New(0)}}}} {
		file := encodeBytes(t, c)
		got, err := Decode(bytes.NewReader(file), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if got.Meta == nil {
			t.Fatal("decoded Meta is nil; want an empty map so SetMeta works")
		}
		sameCheckpoint(t, got, c)
	}
}

func TestEncodeIsDeterministic(t *testing.T) {
	a := encodeBytes(t, sampleCheckpoint(t, 3, 70_000))
	b := encodeBytes(t, sampleCheckpoint(t, 3, 70_000))
	if !bytes.Equal(a, b) {
		t.Fatal("two encodings of the same checkpoint differ")
	}
}

func TestMetaHelpers(t *testing.T) {
	var c Checkpoint
	type state struct {
		Epoch int     `json:"epoch"`
		LR    float64 `json:"lr"`
	}
	if err := c.SetMeta("train", state{Epoch: 12, LR: 0.01}); err != nil {
		t.Fatal(err)
	}
	var got state
	if err := c.GetMeta("train", &got); err != nil {
		t.Fatal(err)
	}
	if got != (state{12, 0.01}) {
		t.Fatalf("got %+v", got)
	}
	if err := c.GetMeta("missing", &got); !errors.Is(err, ErrNoMeta) {
		t.Fatalf("missing key: err = %v, want ErrNoMeta", err)
	}
	var s string
	if err := c.GetMeta("train", &s); err == nil {
		t.Fatal("decoding an object into a string succeeded")
	}
	if err := c.SetMeta("bad", func() {}); err == nil {
		t.Fatal("SetMeta of a func succeeded")
	}
	c.Tensors = []Named{{Name: "w", T: tensor.New(2)}}
	if x, ok := c.Find("w"); !ok || x != c.Tensors[0].T {
		t.Fatal("Find(w) failed")
	}
	if _, ok := c.Find("v"); ok {
		t.Fatal("Find(v) found a tensor that is not there")
	}
}

// fakeDevice stands for device memory in the "tensor on device" check.
type fakeDevice struct{ n int }

func (d fakeDevice) Len() int                          { return d.n }
func (d fakeDevice) Slice(off, n int) tensor.DeviceMem { return fakeDevice{n} }

func TestEncodeRejectsBadCheckpoints(t *testing.T) {
	ok := tensor.New(2, 2)
	cases := []struct {
		name string
		c    *Checkpoint
		want string
	}{
		{"nil checkpoint", nil, "nil checkpoint"},
		{"nil tensor", &Checkpoint{Tensors: []Named{{Name: "a"}}}, `tensor "a" is nil`},
		{"empty name", &Checkpoint{Tensors: []Named{{T: ok}}}, "empty name"},
		{"duplicate", &Checkpoint{Tensors: []Named{{Name: "a", T: ok}, {Name: "a", T: ok}}}, `"a" appears twice`},
		{"device", &Checkpoint{Tensors: []Named{{Name: "d", T: &tensor.Tensor{Shape: tensor.Shape{4}, Dev: fakeDevice{4}}}}}, "on a device"},
		{"short data", &Checkpoint{Tensors: []Named{{Name: "s", T: &tensor.Tensor{Shape: tensor.Shape{2, 3}, Data: make([]float32, 5)}}}}, "5 values for shape (2,3)"},
		{"negative dim", &Checkpoint{Tensors: []Named{{Name: "n", T: &tensor.Tensor{Shape: tensor.Shape{-1}}}}}, "negative dimension"},
		{"bad meta", &Checkpoint{Meta: map[string]json.RawMessage{"x": json.RawMessage("{oops")}}, `meta "x" is not valid JSON`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			err := Encode(&b, tc.c)
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if b.Len() != 0 {
				t.Fatalf("%d bytes written for an invalid checkpoint", b.Len())
			}
		})
	}
}

func TestReadErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.ckpt")
	if _, err := Read(missing); err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: err = %v", err)
	}
	path := filepath.Join(dir, "bad.ckpt")
	file := smallFile(t)
	file[len(file)-6] ^= 1
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	var fe *FormatError
	if _, err := Read(path); !errors.As(err, &fe) || fe.File != path || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("corrupt file: err = %v", err)
	}
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("directory: err = %v", err)
	}
	good := filepath.Join(dir, "good.ckpt")
	if err := os.WriteFile(good, smallFile(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadLimit(good, 50); err == nil || !strings.Contains(err.Error(), "exceeds the limit of 50 bytes") {
		t.Fatalf("limit: err = %v", err)
	}
}
