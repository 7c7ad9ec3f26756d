// Package safetensors reads and writes the safetensors format
// (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON mapping each tensor name to its dtype,
// shape and [begin, end) byte offsets into the data that follows (plus an
// optional "__metadata__" object of strings), then the data. No code runs
// on reading: it is the pickle-free way to ship weights.
//
// Read checks everything before allocating a tensor: the header's size
// against the file, each tensor's byte range against its dtype and shape,
// and that the ranges tile the data exactly (no gaps, no overlaps, nothing
// after them), as the reference implementation does. Tensors come back as
// float32 (F32, F16, BF16 and F64 are read; Write writes F32).
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"suture/internal/atomicfile"
	"suture/internal/sniff"
	"suture/io/ckpt"
	"suture/tensor"
)

// MaxHeader bounds the JSON header (100 MB, as the reference implementation).
const MaxHeader = 100_000_000

// File is the content of a safetensors file.
type File struct {
	// Tensors in file order (by data offset); names are unique.
	Tensors []ckpt.Named
	// Metadata is the "__metadata__" object.
	Metadata map[string]string
}

// Get returns the tensor named name.
func (f *File) Get(name string) (*tensor.Tensor, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t.T, true
		}
	}
	return nil, false
}

type entry struct {
	Dtype   string   `json:"dtype"`
	Shape   []int64  `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

var dtypeSize = map[string]int64{"F32": 4, "F16": 2, "BF16": 2, "F64": 8}

// ReadFile reads the safetensors file at path.
func ReadFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	out, err := Read(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// Read reads a safetensors file of size bytes from r.
func Read(r io.ReaderAt, size int64) (*File, error) {
	var lenBuf [8]byte
	if size < 8 {
		return nil, fmt.Errorf("safetensors: %d bytes, not even a header length", size)
	}
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeader || n > uint64(size-8) {
		return nil, fmt.Errorf("safetensors: header of %d bytes in a file of %d (truncated or not safetensors?)", n, size)
	}
	header := make([]byte, n)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, fmt.Errorf("safetensors: header: %w", err)
	}
	entries, order, meta, err := parseHeader(header)
	if err != nil {
		return nil, err
	}
	dataLen := size - 8 - int64(n)
	// The byte ranges must tile [0, dataLen).
	sort.SliceStable(order, func(i, j int) bool { return entries[order[i]].Offsets[0] < entries[order[j]].Offsets[0] })
	pos := int64(0)
	for _, name := range order {
		e := entries[name]
		es, ok := dtypeSize[e.Dtype]
		if !ok {
			return nil, fmt.Errorf("safetensors: tensor %q: dtype %q (F32, F16, BF16 and F64 are read)", name, e.Dtype)
		}
		numel := int64(1)
		for _, d := range e.Shape {
			if d < 0 || d > math.MaxInt32 {
				return nil, fmt.Errorf("safetensors: tensor %q: shape %v", name, e.Shape)
			}
			numel *= d
			if numel > math.MaxInt32 {
				return nil, fmt.Errorf("safetensors: tensor %q: shape %v has too many elements", name, e.Shape)
			}
		}
		b, end := e.Offsets[0], e.Offsets[1]
		if b != pos || end < b {
			return nil, fmt.Errorf("safetensors: tensor %q: bytes [%d, %d) for %d %s elements, expected to start at %d", name, b, end, numel, e.Dtype, pos)
		}
		if end-b != numel*es {
			return nil, fmt.Errorf("safetensors: tensor %q: bytes [%d, %d) hold %d bytes, but %d %s elements of shape %v take %d (%d bytes each): the size does not match the dtype and shape",
				name, b, end, end-b, numel, e.Dtype, e.Shape, numel*es, es)
		}
		if end > dataLen {
			return nil, fmt.Errorf("safetensors: tensor %q: bytes [%d, %d) run past the data (%d bytes; truncated file?)", name, b, end, dataLen)
		}
		pos = end
	}
	if pos != dataLen {
		return nil, fmt.Errorf("safetensors: %d bytes of data after the last tensor", dataLen-pos)
	}
	out := &File{Metadata: meta}
	base := 8 + int64(n)
	for _, name := range order {
		e := entries[name]
		es := dtypeSize[e.Dtype]
		raw := make([]byte, e.Offsets[1]-e.Offsets[0])
		if _, err := r.ReadAt(raw, base+e.Offsets[0]); err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		shape := make([]int, len(e.Shape))
		for i, d := range e.Shape {
			shape[i] = int(d)
		}
		t := tensor.New(shape...)
		for i := range t.Data {
			b := raw[int64(i)*es:]
			switch e.Dtype {
			case "F32":
				t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(b))
			case "F64":
				t.Data[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b)))
			case "BF16":
				t.Data[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16)
			case "F16":
				t.Data[i] = tensor.Float16ToFloat32(binary.LittleEndian.Uint16(b))
			}
		}
		out.Tensors = append(out.Tensors, ckpt.Named{Name: name, T: t})
	}
	return out, nil
}

// parseHeader decodes the header, refusing duplicate names.
func parseHeader(header []byte) (map[string]entry, []string, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	tok, err := dec.Token()
	if d, ok := tok.(json.Delim); err != nil || !ok || d != '{' {
		return nil, nil, nil, fmt.Errorf("safetensors: header is not a JSON object")
	}
	entries := map[string]entry{}
	var order []string
	var meta map[string]string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("safetensors: header: %w", err)
		}
		name, _ := tok.(string)
		if seen[name] {
			return nil, nil, nil, fmt.Errorf("safetensors: header names %q twice", name)
		}
		seen[name] = true
		if name == "__metadata__" {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, nil, fmt.Errorf("safetensors: __metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		var e entry
		if err := dec.Decode(&e); err != nil {
			return nil, nil, nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		if name == "" {
			return nil, nil, nil, fmt.Errorf("safetensors: a tensor with an empty name")
		}
		entries[name] = e
		order = append(order, name)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, nil, fmt.Errorf("safetensors: header: %w", err)
	}
	if dec.More() {
		return nil, nil, nil, fmt.Errorf("safetensors: trailing data in the header")
	}
	return entries, order, meta, nil
}

// Write encodes tensors (host memory, float32, as F32, in the given order)
// and metadata to w. Names must be unique and not "__metadata__".
func Write(w io.Writer, tensors []ckpt.Named, metadata map[string]string) error {
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	seen := map[string]bool{}
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		hdr.WriteString(`"__metadata__":{`)
		for i, k := range keys {
			if i > 0 {
				hdr.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			vb, _ := json.Marshal(metadata[k])
			hdr.Write(kb)
			hdr.WriteByte(':')
			hdr.Write(vb)
		}
		hdr.WriteByte('}')
	}
	off := int64(0)
	for i, t := range tensors {
		if t.Name == "" || t.Name == "__metadata__" || seen[t.Name] {
			return fmt.Errorf("safetensors: tensor name %q empty, reserved or repeated", t.Name)
		}
		seen[t.Name] = true
		if t.T == nil || len(t.T.Data) != t.T.Numel() {
			return fmt.Errorf("safetensors: tensor %q is not in host memory", t.Name)
		}
		if i > 0 || len(metadata) > 0 {
			hdr.WriteByte(',')
		}
		nb, _ := json.Marshal(t.Name)
		shape := t.T.Shape
		if shape == nil {
			shape = []int{}
		}
		sb, _ := json.Marshal(shape)
		end := off + int64(4*len(t.T.Data))
		fmt.Fprintf(&hdr, `%s:{"dtype":"F32","shape":%s,"data_offsets":[%d,%d]}`, nb, sb, off, end)
		off = end
	}
	hdr.WriteByte('}')
	// Pad the header with spaces so the data starts 8-byte aligned.
	for (8+hdr.Len())%8 != 0 {
		hdr.WriteByte(' ')
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(hdr.Len()))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	for _, t := range tensors {
		for _, v := range t.T.Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	_, err := w.Write(buf)
	return err
}

// IsFile reports whether the file at path starts as a safetensors file
// does: the header's length (under 1 GiB), then the header's "{". It reads
// the first 9 bytes only.
func IsFile(path string) bool {
	h := sniff.Head(path, 9)
	return len(h) == 9 && binary.LittleEndian.Uint64(h) < 1<<30 && h[8] == '{'
}

// WriteFile writes tensors and metadata to path atomically.
func WriteFile(path string, tensors []ckpt.Named, metadata map[string]string) error {
	return atomicfile.Write(path, func(w io.Writer) error { return Write(w, tensors, metadata) })
}
