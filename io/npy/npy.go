// Package npy reads and writes NumPy .npy files of float32 arrays (format
// versions 1.0 to 3.0, little-endian '<f4', C order), the format Python
// pipelines exchange tensors in. Read checks the header (magic, version,
// dtype, order, shape) and that the data that follows holds exactly the
// shape's elements before allocating; any other dtype is an error naming it.
package npy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"suture/internal/atomicfile"
	"suture/internal/sniff"
	"suture/tensor"
)

var magic = []byte("\x93NUMPY")

// maxHeader bounds the header length (NumPy writes a few hundred bytes).
const maxHeader = 1 << 20

var (
	descrRe   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	fortranRe = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	shapeRe   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// ReadFile reads the .npy file at path.
func ReadFile(path string) (*tensor.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	t, err := Read(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Read reads a .npy file of size bytes from r: a float32 ('<f4', C order)
// array of any rank.
func Read(r io.Reader, size int64) (*tensor.Tensor, error) {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		return nil, fmt.Errorf("npy: %d bytes, not an .npy file", size)
	}
	if !bytes.Equal(pre[:6], magic) {
		return nil, fmt.Errorf("npy: not an .npy file (no \\x93NUMPY magic)")
	}
	var hlen int64
	used := int64(8)
	switch pre[6] {
	case 1:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return nil, fmt.Errorf("npy: truncated header")
		}
		hlen, used = int64(binary.LittleEndian.Uint16(pre[8:10])), 10
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("npy: truncated header")
		}
		hlen, used = int64(binary.LittleEndian.Uint32(b[:])), 12
	default:
		return nil, fmt.Errorf("npy: format version %d.%d", pre[6], pre[7])
	}
	if hlen > maxHeader || hlen > size-used {
		return nil, fmt.Errorf("npy: header of %d bytes in a file of %d", hlen, size)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("npy: truncated header")
	}
	used += hlen
	h := string(hdr)
	d := descrRe.FindStringSubmatch(h)
	if d == nil {
		return nil, fmt.Errorf("npy: header has no descr: %q", strings.TrimSpace(h))
	}
	if d[1] != "<f4" && d[1] != "float32" {
		return nil, fmt.Errorf("npy: dtype %q, want float32 ('<f4', little-endian)", d[1])
	}
	if fo := fortranRe.FindStringSubmatch(h); fo == nil || fo[1] != "False" {
		return nil, fmt.Errorf("npy: Fortran order or no fortran_order in the header; want C order")
	}
	sm := shapeRe.FindStringSubmatch(h)
	if sm == nil {
		return nil, fmt.Errorf("npy: header has no shape")
	}
	var shape []int
	numel := int64(1)
	for _, f := range strings.Split(sm[1], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSuffix(f, "L"), 10, 64)
		if err != nil || v < 0 || v > math.MaxInt32 {
			return nil, fmt.Errorf("npy: shape (%s)", sm[1])
		}
		shape = append(shape, int(v))
		numel *= v
		if numel > math.MaxInt32 {
			return nil, fmt.Errorf("npy: shape (%s) has too many elements", sm[1])
		}
	}
	if size-used != 4*numel {
		return nil, fmt.Errorf("npy: shape %v needs %d bytes of data, the file has %d", shape, 4*numel, size-used)
	}
	raw := make([]byte, 4*numel)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, fmt.Errorf("npy: truncated data: %w", err)
	}
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return t, nil
}

// Write encodes t (host memory) as a version 1.0 .npy file of '<f4'.
func Write(w io.Writer, t *tensor.Tensor) error {
	if t == nil || len(t.Data) != t.Numel() {
		return fmt.Errorf("npy: tensor not in host memory")
	}
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = strconv.Itoa(d)
	}
	shape := strings.Join(dims, ", ")
	if len(dims) == 1 {
		shape += ","
	}
	h := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", shape)
	// Pad with spaces and a newline so the data starts 64-byte aligned.
	total := 10 + len(h) + 1
	h += strings.Repeat(" ", (64-total%64)%64) + "\n"
	if len(h) > math.MaxUint16 {
		return fmt.Errorf("npy: header too long")
	}
	buf := make([]byte, 0, 10+len(h)+4*len(t.Data))
	buf = append(buf, magic...)
	buf = append(buf, 1, 0)
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(h)))
	buf = append(buf, h...)
	for _, v := range t.Data {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
	}
	_, err := w.Write(buf)
	return err
}

// IsFile reports whether the file at path starts as an .npy file does (its
// magic), reading its first bytes only.
func IsFile(path string) bool { return bytes.HasPrefix(sniff.Head(path, len(magic)), magic) }

// WriteFile writes t to path atomically.
func WriteFile(path string, t *tensor.Tensor) error {
	return atomicfile.Write(path, func(w io.Writer) error { return Write(w, t) })
}
