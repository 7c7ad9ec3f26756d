package npy

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"suture/tensor"
)

func TestRoundTripAndNumPyFiles(t *testing.T) {
	x := tensor.NewRNG(1).Rand(2, 3, 4, 5)
	var b bytes.Buffer
	if err := Write(&b, x); err != nil {
		t.Fatal(err)
	}
	if (b.Len()-4*x.Numel())%64 != 0 {
		t.Errorf("data not 64-byte aligned: header %d bytes", b.Len()-4*x.Numel())
	}
	y, err := Read(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if !y.Shape.Equal(x.Shape) || tensor.MaxAbsDiff(x.Data, y.Data) != 0 {
		t.Error("round trip changed the array")
	}
	// Files numpy wrote (testdata/nnunet/ref, numpy 1.24).
	z, err := ReadFile(filepath.Join("..", "..", "testdata", "nnunet", "ref", "plain_in1.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if !z.Shape.Equal([]int{2, 3, 48, 80}) {
		t.Errorf("numpy file: shape %v", z.Shape)
	}
}

func TestReadErrors(t *testing.T) {
	hdr := func(h string) []byte {
		h += "\n"
		return append([]byte("\x93NUMPY\x01\x00"+string([]byte{byte(len(h)), byte(len(h) >> 8)})), h...)
	}
	for _, c := range []struct {
		data []byte
		want string
	}{
		{nil, "not an .npy file"},
		{[]byte("PK\x03\x04xxxxxxxx"), "no \\x93NUMPY magic"},
		{append(hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }"), make([]byte, 16)...), `dtype "<f8"`},
		{append(hdr("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }"), make([]byte, 16)...), `dtype "<i8"`},
		{append(hdr("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }"), make([]byte, 8)...), `dtype ">f4"`},
		{append(hdr("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }"), make([]byte, 8)...), "Fortran order"},
		{append(hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"), make([]byte, 8)...), "needs 12 bytes"},
		{hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100000), }"), "too many elements"},
		{append([]byte("\x93NUMPY\x01\x00\xff\xff"), 'x'), "header of 65535 bytes"},
	} {
		_, err := Read(bytes.NewReader(c.data), int64(len(c.data)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.data, err, c.want)
		}
	}
}

// FuzzRead: arbitrary bytes give an array or an error, never a panic, and
// never an allocation beyond what the input holds.
func FuzzRead(f *testing.F) {
	var b bytes.Buffer
	Write(&b, tensor.NewRNG(1).Rand(2, 3))
	f.Add(b.Bytes())
	if raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "nnunet", "ref", "plain_out0_ds2.npy")); err == nil {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := Read(bytes.NewReader(data), int64(len(data)))
		if err == nil && 4*x.Numel() > len(data) {
			t.Fatalf("%d elements from %d bytes", x.Numel(), len(data))
		}
	})
}
