package pth

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"

	"suture/tensor"
)

// Dtype is a tensor element type.
type Dtype uint8

// Element types of torch storages.
const (
	Float32 Dtype = iota
	Float64
	Float16
	BFloat16
	Int64
	Int32
	Int16
	Int8
	Uint8
	Bool
)

var dtypeInfo = [...]struct {
	name string
	size int64
}{
	{"float32", 4}, {"float64", 8}, {"float16", 2}, {"bfloat16", 2}, {"int64", 8},
	{"int32", 4}, {"int16", 2}, {"int8", 1}, {"uint8", 1}, {"bool", 1},
}

func (d Dtype) String() string { return dtypeInfo[d].name }

// Size is the element size in bytes.
func (d Dtype) Size() int64 { return dtypeInfo[d].size }

// DefaultMaxBytes caps the bytes of one pickle and of the tensor data a
// caller reads from one archive (4 GiB).
const DefaultMaxBytes = 4 << 30

// Archive is an opened torch.save zip archive with its unpickled object.
type Archive struct {
	// Name is used in errors (the path, or "archive").
	Name string
	// Root is the object the pickle built (for a checkpoint, a *Dict).
	Root any
	// MaxBytes caps the tensor data read through Tensor, in total.
	MaxBytes int64

	zr        *zip.Reader
	size      int64
	prefix    string
	bigEndian bool
	read      int64
	closer    io.Closer
}

// Open reads the archive at path and unpickles its data.pkl. Close it
// when done.
func Open(path string) (*Archive, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	a, err := NewArchive(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	a.closer = f
	return a, nil
}

// Close releases the file Open opened.
func (a *Archive) Close() error {
	if a.closer != nil {
		return a.closer.Close()
	}
	return nil
}

// NewArchive reads a torch.save archive of size bytes from r; name is used
// in errors.
func NewArchive(r io.ReaderAt, size int64, name string) (*Archive, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...))
	}
	var head [4]byte
	if _, err := r.ReadAt(head[:], 0); err != nil || !bytes.Equal(head[:], []byte("PK\x03\x04")) {
		if err == nil && head[0] == 0x80 {
			return nil, bad("a legacy (pre-1.6, not zip) torch.save file; re-save it with a current PyTorch")
		}
		return nil, bad("not a PyTorch checkpoint (no zip archive)")
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, bad("zip archive: %v (truncated or corrupt?)", err)
	}
	a := &Archive{Name: name, zr: zr, size: size, MaxBytes: DefaultMaxBytes}
	var pkl *zip.File
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/data.pkl") && strings.Count(f.Name, "/") == 1 {
			if pkl != nil {
				return nil, bad("two data.pkl entries (%s, %s)", pkl.Name, f.Name)
			}
			pkl = f
		}
	}
	if pkl == nil {
		return nil, bad("no <prefix>/data.pkl entry: not a torch.save archive")
	}
	a.prefix = strings.TrimSuffix(pkl.Name, "data.pkl")
	if bo := a.entry("byteorder"); bo != nil {
		b, err := a.readEntry(bo, 16)
		if err != nil {
			return nil, err
		}
		switch strings.TrimSpace(string(b)) {
		case "little":
		case "big":
			a.bigEndian = true
		default:
			return nil, bad("byteorder %q", b)
		}
	}
	data, err := a.readEntry(pkl, DefaultMaxBytes)
	if err != nil {
		return nil, err
	}
	if a.Root, err = Unpickle(data); err != nil {
		return nil, bad("%s: %v", pkl.Name, err)
	}
	return a, nil
}

func (a *Archive) entry(name string) *zip.File {
	for _, f := range a.zr.File {
		if f.Name == a.prefix+name {
			return f
		}
	}
	return nil
}

// readEntry reads a whole entry after checking its declared sizes against
// the file and against limit.
func (a *Archive) readEntry(f *zip.File, limit int64) ([]byte, error) {
	if err := a.checkEntry(f, limit); err != nil {
		return nil, err
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %v", a.Name, f.Name, err)
	}
	defer rc.Close()
	buf := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(rc, buf); err != nil {
		return nil, fmt.Errorf("%s: %s: %v (truncated archive?)", a.Name, f.Name, err)
	}
	// Reading to the end lets archive/zip verify the CRC.
	if n, err := io.Copy(io.Discard, rc); err != nil || n != 0 {
		return nil, fmt.Errorf("%s: %s: longer than declared or corrupt (%v)", a.Name, f.Name, err)
	}
	return buf, nil
}

func (a *Archive) checkEntry(f *zip.File, limit int64) error {
	if f.CompressedSize64 > uint64(a.size) {
		return fmt.Errorf("%s: %s declares %d bytes, the file has %d (truncated archive?)", a.Name, f.Name, f.CompressedSize64, a.size)
	}
	switch f.Method {
	case zip.Store:
		if f.UncompressedSize64 != f.CompressedSize64 {
			return fmt.Errorf("%s: %s: stored entry with sizes %d and %d", a.Name, f.Name, f.UncompressedSize64, f.CompressedSize64)
		}
	default: // torch.save stores; a compressed entry's size could not be checked against the file
		return fmt.Errorf("%s: %s: compressed entry (method %d); torch.save writes stored entries only", a.Name, f.Name, f.Method)
	}
	if f.UncompressedSize64 > uint64(limit) {
		return fmt.Errorf("%s: %s: %d bytes exceed the limit of %d", a.Name, f.Name, f.UncompressedSize64, limit)
	}
	off, err := f.DataOffset()
	if err != nil {
		return fmt.Errorf("%s: %s: %v (truncated archive?)", a.Name, f.Name, err)
	}
	if off < 0 || off > a.size || f.CompressedSize64 > uint64(a.size-off) {
		return fmt.Errorf("%s: %s: %d bytes at offset %d run past the end of the file (%d bytes; truncated archive?)", a.Name, f.Name, f.CompressedSize64, off, a.size)
	}
	return nil
}

// Tensor reads t's data as float32 (integer and other float types are
// converted), shaped as t.Size. Before allocating it checks the storage's
// declared size against its archive entry, the entry against the file, the
// view against the storage and the total read against MaxBytes.
func (a *Archive) Tensor(t *TensorRef) (*tensor.Tensor, error) {
	st := t.Storage
	es := st.Dtype.Size()
	name := a.prefix + "data/" + st.Key
	f := a.entry("data/" + st.Key)
	if f == nil {
		return nil, fmt.Errorf("%s: storage %s is missing", a.Name, name)
	}
	if st.Numel > math.MaxInt64/es || uint64(st.Numel*es) > f.UncompressedSize64 {
		return nil, fmt.Errorf("%s: storage %s declares %d %s elements, its entry holds %d bytes", a.Name, name, st.Numel, st.Dtype, f.UncompressedSize64)
	}
	if err := a.checkEntry(f, a.MaxBytes); err != nil {
		return nil, err
	}
	shape := make([]int, len(t.Size))
	numel := int64(1)
	last := t.Offset // the largest element index the view touches
	for i, s := range t.Size {
		if s < 0 || s > math.MaxInt32 || t.Stride[i] < 0 || t.Stride[i] > math.MaxInt32 {
			return nil, fmt.Errorf("%s: tensor of storage %s: size %v, stride %v", a.Name, st.Key, t.Size, t.Stride)
		}
		shape[i] = int(s)
		numel *= s
		if numel > math.MaxInt32 {
			return nil, fmt.Errorf("%s: tensor of storage %s: %v has too many elements", a.Name, st.Key, t.Size)
		}
		if s > 0 {
			last += (s - 1) * t.Stride[i]
		}
	}
	if len(shape) == 0 {
		shape = nil
	}
	if numel > st.Numel {
		return nil, fmt.Errorf("%s: tensor of storage %s: %v holds %d elements, more than its storage's %d (overlapping strides %v)", a.Name, st.Key, t.Size, numel, st.Numel, t.Stride)
	}
	if t.Offset < 0 || (numel > 0 && last >= st.Numel) {
		return nil, fmt.Errorf("%s: tensor of storage %s (offset %d, size %v, stride %v) reaches element %d, the storage has %d", a.Name, st.Key, t.Offset, t.Size, t.Stride, last, st.Numel)
	}
	if a.read+numel*4 > a.MaxBytes || a.read+st.Numel*es > a.MaxBytes {
		return nil, fmt.Errorf("%s: reading storage %s would pass the limit of %d bytes", a.Name, st.Key, a.MaxBytes)
	}
	raw, err := a.readEntry(f, a.MaxBytes)
	if err != nil {
		return nil, err
	}
	a.read += int64(len(raw))
	var bo binary.ByteOrder = binary.LittleEndian
	if a.bigEndian {
		bo = binary.BigEndian
	}
	out := tensor.New(shape...)
	if numel == 0 {
		return out, nil
	}
	idx := make([]int64, len(shape))
	for k := int64(0); k < numel; k++ {
		e := t.Offset
		for i := range idx {
			e += idx[i] * t.Stride[i]
		}
		out.Data[k] = element(raw[e*es:], st.Dtype, bo)
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < t.Size[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out, nil
}

func element(b []byte, d Dtype, bo binary.ByteOrder) float32 {
	switch d {
	case Float32:
		return math.Float32frombits(bo.Uint32(b))
	case Float64:
		return float32(math.Float64frombits(bo.Uint64(b)))
	case Float16:
		return tensor.Float16ToFloat32(bo.Uint16(b))
	case BFloat16:
		return math.Float32frombits(uint32(bo.Uint16(b)) << 16)
	case Int64:
		return float32(int64(bo.Uint64(b)))
	case Int32:
		return float32(int32(bo.Uint32(b)))
	case Int16:
		return float32(int16(bo.Uint16(b)))
	case Int8:
		return float32(int8(b[0]))
	default: // Uint8, Bool
		return float32(b[0])
	}
}

// StateDict finds the tensors of a state dict in the archive's object: the
// dict under key when key is not empty (nnU-Net: "network_weights"), else
// the root itself. It returns the names in the dict's order and the tensor
// references by name; entries that are not tensors are an error.
func (a *Archive) StateDict(key string) ([]string, map[string]*TensorRef, error) {
	obj := a.Root
	if key != "" {
		d, ok := a.Root.(*Dict)
		if !ok {
			return nil, nil, fmt.Errorf("%s: the checkpoint is a %s, not a dict", a.Name, typeName(a.Root))
		}
		v, ok := d.Get(key)
		if !ok {
			return nil, nil, fmt.Errorf("%s: no %q entry (keys: %s)", a.Name, key, strings.Join(d.StringKeys(), ", "))
		}
		obj = v
	}
	d, ok := obj.(*Dict)
	if !ok {
		return nil, nil, fmt.Errorf("%s: state dict %q is a %s, not a dict", a.Name, key, typeName(obj))
	}
	names := make([]string, 0, len(d.Keys))
	refs := map[string]*TensorRef{}
	for i, k := range d.Keys {
		s, ok := k.(string)
		if !ok {
			return nil, nil, fmt.Errorf("%s: state dict key %v is not a string", a.Name, k)
		}
		t, ok := d.Values[i].(*TensorRef)
		if !ok {
			return nil, nil, fmt.Errorf("%s: state dict entry %q is a %s, not a tensor", a.Name, s, typeName(d.Values[i]))
		}
		names = append(names, s)
		refs[s] = t
	}
	return names, refs, nil
}

// StringKeys returns the dict's string keys, sorted.
func (d *Dict) StringKeys() []string {
	var out []string
	for _, k := range d.Keys {
		if s, ok := k.(string); ok {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case *Dict:
		return "dict"
	case *List:
		return "list"
	case Tuple:
		return "tuple"
	case *TensorRef:
		return "tensor"
	case string:
		return "str"
	case int64:
		return "int"
	case float64:
		return "float"
	}
	return fmt.Sprintf("%T", v)
}
