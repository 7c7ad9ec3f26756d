package pth

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The Go values a pickle unpickles to:
//
//	None            nil
//	bool            bool
//	int             int64 (*big.Int beyond 64 bits)
//	float           float64
//	str             string
//	bytes           []byte
//	tuple           Tuple
//	list            *List
//	dict, OrderedDict *Dict
//	set, frozenset  *List (the items, in pickle order)
//	allowed globals *Global; what they build: *TensorRef, *Storage, Device,
//	                *NumpyDtype, NumpyScalar

// Tuple is a Python tuple.
type Tuple []any

// List is a Python list (a pointer: APPEND mutates it).
type List struct{ Items []any }

// Dict is a Python dict or OrderedDict, in insertion order.
type Dict struct {
	Keys, Values []any
	// Attrs holds state set by BUILD (an OrderedDict's _metadata).
	Attrs any
}

// Get returns the value under the string key k.
func (d *Dict) Get(k string) (any, bool) {
	for i, key := range d.Keys {
		if s, ok := key.(string); ok && s == k {
			return d.Values[i], true
		}
	}
	return nil, false
}

func (d *Dict) set(k, v any) {
	if ks, ok := k.(string); ok {
		for i, key := range d.Keys {
			if s, ok := key.(string); ok && s == ks {
				d.Values[i] = v
				return
			}
		}
	}
	d.Keys = append(d.Keys, k)
	d.Values = append(d.Values, v)
}

// Global is a reference to an allowed module attribute ("module.name").
type Global struct{ Name string }

// Device is a torch.device ("cpu", "cuda:0").
type Device string

// NumpyDtype is a numpy.dtype built by unpickling: its type string ("f8")
// and byte order ('<', '>', '|' or '=').
type NumpyDtype struct {
	Str   string
	Order byte
}

// NumpyScalar is a numpy scalar: its dtype and raw bytes.
type NumpyScalar struct {
	Dtype *NumpyDtype
	Data  []byte
}

// Float returns the scalar as a float64 for the float and integer dtypes
// of 1 to 8 bytes, little- or big-endian.
func (s NumpyScalar) Float() (float64, bool) {
	if s.Dtype == nil || len(s.Dtype.Str) < 2 {
		return 0, false
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if s.Dtype.Order == '>' {
		bo = binary.BigEndian
	}
	n, err := strconv.Atoi(s.Dtype.Str[1:])
	if err != nil || n != len(s.Data) {
		return 0, false
	}
	switch s.Dtype.Str[0] {
	case 'f':
		switch n {
		case 4:
			return float64(math.Float32frombits(bo.Uint32(s.Data))), true
		case 8:
			return math.Float64frombits(bo.Uint64(s.Data)), true
		}
	case 'i', 'u':
		var u uint64
		switch n {
		case 1:
			u = uint64(s.Data[0])
		case 2:
			u = uint64(bo.Uint16(s.Data))
		case 4:
			u = uint64(bo.Uint32(s.Data))
		case 8:
			u = bo.Uint64(s.Data)
		default:
			return 0, false
		}
		if s.Dtype.Str[0] == 'u' {
			return float64(u), true
		}
		shift := 64 - 8*n
		return float64(int64(u<<shift) >> shift), true
	}
	return 0, false
}

// Storage is a persistent reference to a tensor storage of the archive.
type Storage struct {
	Dtype    Dtype
	Key      string // the entry is <prefix>/data/<Key>
	Location string // "cpu", "cuda:0", ...
	Numel    int64  // elements, as declared
}

// TensorRef is a tensor rebuilt by the pickle: a strided view of a storage.
// Its data is read only on request (Archive.Tensor).
type TensorRef struct {
	Storage *Storage
	Offset  int64
	Size    []int64
	Stride  []int64
}

// Numel is the number of elements of the view.
func (t *TensorRef) Numel() int64 {
	n := int64(1)
	for _, s := range t.Size {
		n *= s
	}
	return n
}

// mark is the MARK opcode's stack entry.
type mark struct{}

// ErrGlobal is wrapped by the error that refuses a global outside the allow-list.
var ErrGlobal = errors.New("global not on the allow-list")

// allowed maps each allowed global to what REDUCE (or NEWOBJ) of it builds.
var allowed = map[string]func(args Tuple) (any, error){
	"torch._utils._rebuild_tensor_v2":            rebuildTensor,
	"torch._utils._rebuild_parameter":            rebuildParameter,
	"torch._utils._rebuild_parameter_with_state": rebuildParameter,
	"collections.OrderedDict":                    newOrderedDict,
	"torch.device":                               newDevice,
	"numpy.core.multiarray.scalar":               newNumpyScalar,
	"numpy._core.multiarray.scalar":              newNumpyScalar,
	"numpy.dtype":                                newNumpyDtype,
	"_codecs.encode":                             codecsEncode,
	"builtins.set":                               newSet,
	"builtins.frozenset":                         newSet,
	"torch.FloatStorage":                         nil, // storage classes: only persistent ids name them
	"torch.DoubleStorage":                        nil,
	"torch.HalfStorage":                          nil,
	"torch.BFloat16Storage":                      nil,
	"torch.LongStorage":                          nil,
	"torch.IntStorage":                           nil,
	"torch.ShortStorage":                         nil,
	"torch.CharStorage":                          nil,
	"torch.ByteStorage":                          nil,
	"torch.BoolStorage":                          nil,
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func intTuple(v any, what string) ([]int64, error) {
	t, ok := v.(Tuple)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %s is %T, want a tuple", what, v)
	}
	out := make([]int64, len(t))
	for i, e := range t {
		n, ok := asInt(e)
		if !ok {
			return nil, fmt.Errorf("_rebuild_tensor_v2: %s[%d] is %T, want an int", what, i, e)
		}
		out[i] = n
	}
	return out, nil
}

func rebuildTensor(args Tuple) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %d arguments, want at least 4", len(args))
	}
	st, ok := args[0].(*Storage)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: storage is %T", args[0])
	}
	off, ok := asInt(args[1])
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: storage offset is %T", args[1])
	}
	size, err := intTuple(args[2], "size")
	if err != nil {
		return nil, err
	}
	stride, err := intTuple(args[3], "stride")
	if err != nil {
		return nil, err
	}
	if len(size) != len(stride) {
		return nil, fmt.Errorf("_rebuild_tensor_v2: size %v and stride %v differ in rank", size, stride)
	}
	return &TensorRef{Storage: st, Offset: off, Size: size, Stride: stride}, nil
}

func rebuildParameter(args Tuple) (any, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("_rebuild_parameter: no arguments")
	}
	t, ok := args[0].(*TensorRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_parameter: data is %T, want a tensor", args[0])
	}
	return t, nil
}

func newOrderedDict(args Tuple) (any, error) {
	d := &Dict{}
	if len(args) == 0 {
		return d, nil
	}
	if len(args) == 1 {
		if l, ok := args[0].(*List); ok { // OrderedDict([(k, v), ...])
			for i, it := range l.Items {
				kv, ok := it.(Tuple)
				if !ok || len(kv) != 2 {
					return nil, fmt.Errorf("OrderedDict: item %d is not a pair", i)
				}
				d.set(kv[0], kv[1])
			}
			return d, nil
		}
	}
	return nil, fmt.Errorf("OrderedDict: unsupported arguments (%d)", len(args))
}

func newDevice(args Tuple) (any, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, fmt.Errorf("torch.device: %d arguments", len(args))
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("torch.device: type is %T", args[0])
	}
	if len(args) == 2 {
		if i, ok := asInt(args[1]); ok {
			s += ":" + strconv.FormatInt(i, 10)
		}
	}
	return Device(s), nil
}

func newNumpyDtype(args Tuple) (any, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("numpy.dtype: no arguments")
	}
	s, ok := args[0].(string)
	if !ok || len(s) > 16 {
		return nil, fmt.Errorf("numpy.dtype: type %v", args[0])
	}
	return &NumpyDtype{Str: s, Order: '='}, nil
}

func newNumpyScalar(args Tuple) (any, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("numpy scalar: %d arguments, want 2", len(args))
	}
	dt, ok := args[0].(*NumpyDtype)
	if !ok {
		return nil, fmt.Errorf("numpy scalar: dtype is %T", args[0])
	}
	var data []byte
	switch b := args[1].(type) {
	case []byte:
		data = b
	case string: // protocol 0/1 pickles of Python 2 strings
		data = []byte(b)
	default:
		return nil, fmt.Errorf("numpy scalar: data is %T", args[1])
	}
	return NumpyScalar{Dtype: dt, Data: data}, nil
}

// codecsEncode is _codecs.encode(str, "latin1"): how protocol 2 writes bytes.
func codecsEncode(args Tuple) (any, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("_codecs.encode: %d arguments, want 2", len(args))
	}
	s, ok1 := args[0].(string)
	enc, ok2 := args[1].(string)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("_codecs.encode: arguments %T, %T", args[0], args[1])
	}
	switch strings.ToLower(enc) {
	case "latin1", "latin-1", "iso-8859-1":
	default:
		return nil, fmt.Errorf("_codecs.encode: encoding %q (only latin1)", enc)
	}
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 255 {
			return nil, fmt.Errorf("_codecs.encode: character U+%04X is not latin1", r)
		}
		out = append(out, byte(r))
	}
	return out, nil
}

func newSet(args Tuple) (any, error) {
	if len(args) == 0 {
		return &List{}, nil
	}
	if l, ok := args[0].(*List); ok && len(args) == 1 {
		return &List{Items: append([]any(nil), l.Items...)}, nil
	}
	return nil, fmt.Errorf("set: unsupported arguments")
}

// storageDtypes maps storage class names to element types.
var storageDtypes = map[string]Dtype{
	"torch.FloatStorage": Float32, "torch.DoubleStorage": Float64, "torch.HalfStorage": Float16,
	"torch.BFloat16Storage": BFloat16, "torch.LongStorage": Int64, "torch.IntStorage": Int32,
	"torch.ShortStorage": Int16, "torch.CharStorage": Int8, "torch.ByteStorage": Uint8, "torch.BoolStorage": Bool,
}

// persistentLoad turns a persistent id ('storage', class, key, location, numel) into a *Storage.
func persistentLoad(pid any) (any, error) {
	t, ok := pid.(Tuple)
	if !ok || len(t) < 5 {
		return nil, fmt.Errorf("persistent id %T of length %d, want ('storage', class, key, location, numel)", pid, len(t))
	}
	if s, _ := t[0].(string); s != "storage" {
		return nil, fmt.Errorf("persistent id of kind %v, want 'storage'", t[0])
	}
	g, ok := t[1].(*Global)
	if !ok {
		return nil, fmt.Errorf("persistent id: storage class is %T", t[1])
	}
	dt, ok := storageDtypes[g.Name]
	if !ok {
		return nil, fmt.Errorf("persistent id: %s is not a storage class", g.Name)
	}
	key, ok := t[2].(string)
	if !ok || key == "" || strings.ContainsAny(key, "/\\") || key == "." || key == ".." {
		return nil, fmt.Errorf("persistent id: storage key %v", t[2])
	}
	loc, _ := t[3].(string)
	n, ok := asInt(t[4])
	if !ok || n < 0 {
		return nil, fmt.Errorf("persistent id: storage size %v", t[4])
	}
	return &Storage{Dtype: dt, Key: key, Location: loc, Numel: n}, nil
}

// unpickler is the pickle machine.
type unpickler struct {
	data  []byte
	pos   int
	stack []any
	marks []int
	memo  map[uint32]any
}

func (u *unpickler) errf(format string, a ...any) error {
	return fmt.Errorf("pickle at byte %d: %s", u.pos, fmt.Sprintf(format, a...))
}

func (u *unpickler) take(n int) ([]byte, error) {
	if n < 0 || n > len(u.data)-u.pos {
		return nil, u.errf("%d bytes wanted, %d left", n, len(u.data)-u.pos)
	}
	b := u.data[u.pos : u.pos+n]
	u.pos += n
	return b, nil
}

func (u *unpickler) line() (string, error) {
	for i := u.pos; i < len(u.data); i++ {
		if u.data[i] == '\n' {
			s := string(u.data[u.pos:i])
			u.pos = i + 1
			return s, nil
		}
	}
	return "", u.errf("unterminated line")
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, error) {
	n := len(u.stack)
	if n == 0 || (len(u.marks) > 0 && u.marks[len(u.marks)-1] == n) {
		return nil, u.errf("stack underflow")
	}
	v := u.stack[n-1]
	u.stack = u.stack[:n-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	n := len(u.stack)
	if n == 0 || (len(u.marks) > 0 && u.marks[len(u.marks)-1] == n) {
		return nil, u.errf("stack underflow")
	}
	return u.stack[n-1], nil
}

// popMark pops everything above the last mark.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, u.errf("no mark on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) memoPut(k uint32) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	u.memo[k] = v
	return nil
}

func (u *unpickler) memoGet(k uint32) error {
	v, ok := u.memo[k]
	if !ok {
		return u.errf("memo key %d not set", k)
	}
	u.push(v)
	return nil
}

func (u *unpickler) global(module, name string) error {
	full := module + "." + name
	if _, ok := allowed[full]; !ok {
		return fmt.Errorf("pickle names %s: %w (a pickle can run code; only tensor, storage, container and numpy scalar globals are read)", full, ErrGlobal)
	}
	u.push(&Global{Name: full})
	return nil
}

func (u *unpickler) call(fn any, args Tuple) (any, error) {
	g, ok := fn.(*Global)
	if !ok {
		return nil, u.errf("call of a %T, not a global", fn)
	}
	f := allowed[g.Name]
	if f == nil {
		return nil, u.errf("%s cannot be called", g.Name)
	}
	v, err := f(args)
	if err != nil {
		return nil, u.errf("%v", err)
	}
	return v, nil
}

func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var u uint64
		for i := len(b) - 1; i >= 0; i-- {
			u = u<<8 | uint64(b[i])
		}
		shift := 64 - 8*len(b)
		return int64(u<<shift) >> shift
	}
	// Two's complement, little-endian, beyond 64 bits.
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return v
}

// Unpickle runs a pickle (protocols 0 to 5, the subset that torch.save and
// numpy use) and returns the object it builds. Globals outside the
// allow-list are refused (the error wraps ErrGlobal and names the global);
// persistent ids must be tensor storages.
func Unpickle(data []byte) (any, error) {
	u := &unpickler{data: data, memo: map[uint32]any{}}
	for {
		if u.pos >= len(u.data) {
			return nil, u.errf("no STOP opcode")
		}
		op := u.data[u.pos]
		u.pos++
		if op == '.' { // STOP
			return u.pop()
		}
		run := opcodes[op]
		if run == nil {
			return nil, u.errf("opcode 0x%02x is not supported", op)
		}
		if err := run(u); err != nil {
			return nil, err
		}
	}
}

// opcodes holds the handler of each opcode Unpickle runs but STOP, by
// opcode (nil: not supported). A handler is called with the opcode read;
// it reads the opcode's argument and works on the stack, marks and memo.
// The opcodes with a length argument of 1, 4 or 8 bytes share a handler
// that takes the width.
var opcodes = [256]func(u *unpickler) error{
	// Framing and the stack.
	0x80: (*unpickler).opProto,   // PROTO
	0x95: (*unpickler).opFrame,   // FRAME
	'(':  (*unpickler).opMark,    // MARK
	'0':  (*unpickler).opPop,     // POP
	'1':  (*unpickler).opPopMark, // POP_MARK
	'2':  (*unpickler).opDup,     // DUP

	// Constants and numbers.
	'N':  func(u *unpickler) error { u.push(nil); return nil },   // NONE
	0x88: func(u *unpickler) error { u.push(true); return nil },  // NEWTRUE
	0x89: func(u *unpickler) error { u.push(false); return nil }, // NEWFALSE
	'J':  (*unpickler).opBinInt,                                  // BININT
	'K':  func(u *unpickler) error { return u.opBinUint(1) },     // BININT1
	'M':  func(u *unpickler) error { return u.opBinUint(2) },     // BININT2
	0x8a: func(u *unpickler) error { return u.opLong(1) },        // LONG1
	0x8b: func(u *unpickler) error { return u.opLong(4) },        // LONG4
	'I':  (*unpickler).opInt,                                     // INT
	'L':  (*unpickler).opInt,                                     // LONG
	'G':  (*unpickler).opBinFloat,                                // BINFLOAT
	'F':  (*unpickler).opFloat,                                   // FLOAT

	// Strings and bytes.
	'X':  func(u *unpickler) error { return u.opBinUnicode(4) }, // BINUNICODE
	0x8c: func(u *unpickler) error { return u.opBinUnicode(1) }, // SHORT_BINUNICODE
	0x8d: func(u *unpickler) error { return u.opBinUnicode(8) }, // BINUNICODE8
	'V':  (*unpickler).opUnicode,                                // UNICODE
	'T':  func(u *unpickler) error { return u.opBinString(4) },  // BINSTRING
	'U':  func(u *unpickler) error { return u.opBinString(1) },  // SHORT_BINSTRING
	'B':  func(u *unpickler) error { return u.opBinBytes(4) },   // BINBYTES
	'C':  func(u *unpickler) error { return u.opBinBytes(1) },   // SHORT_BINBYTES
	0x8e: func(u *unpickler) error { return u.opBinBytes(8) },   // BINBYTES8
	0x96: func(u *unpickler) error { return u.opBinBytes(8) },   // BYTEARRAY8

	// Containers.
	')':  func(u *unpickler) error { u.push(Tuple{}); return nil }, // EMPTY_TUPLE
	']':  func(u *unpickler) error { u.push(&List{}); return nil }, // EMPTY_LIST
	'}':  func(u *unpickler) error { u.push(&Dict{}); return nil }, // EMPTY_DICT
	0x8f: func(u *unpickler) error { u.push(&List{}); return nil }, // EMPTY_SET
	't':  (*unpickler).opTuple,                                     // TUPLE
	0x85: func(u *unpickler) error { return u.opTupleN(1) },        // TUPLE1
	0x86: func(u *unpickler) error { return u.opTupleN(2) },        // TUPLE2
	0x87: func(u *unpickler) error { return u.opTupleN(3) },        // TUPLE3
	'l':  (*unpickler).opList,                                      // LIST
	0x91: (*unpickler).opList,                                      // FROZENSET
	'd':  (*unpickler).opDict,                                      // DICT
	'a':  (*unpickler).opAppend,                                    // APPEND
	'e':  (*unpickler).opAppends,                                   // APPENDS
	0x90: (*unpickler).opAppends,                                   // ADDITEMS
	's':  (*unpickler).opSetItem,                                   // SETITEM
	'u':  (*unpickler).opSetItems,                                  // SETITEMS

	// The memo.
	'q':  func(u *unpickler) error { return u.opBinPut(1) }, // BINPUT
	'r':  func(u *unpickler) error { return u.opBinPut(4) }, // LONG_BINPUT
	0x94: (*unpickler).opMemoize,                            // MEMOIZE
	'p':  (*unpickler).opPut,                                // PUT
	'h':  func(u *unpickler) error { return u.opBinGet(1) }, // BINGET
	'j':  func(u *unpickler) error { return u.opBinGet(4) }, // LONG_BINGET
	'g':  (*unpickler).opGet,                                // GET

	// Globals, calls and persistent ids.
	'c':  (*unpickler).opGlobal,      // GLOBAL
	0x93: (*unpickler).opStackGlobal, // STACK_GLOBAL
	'R':  (*unpickler).opReduce,      // REDUCE
	0x81: (*unpickler).opNewObj,      // NEWOBJ
	'b':  (*unpickler).opBuild,       // BUILD
	'Q':  (*unpickler).opBinPersID,   // BINPERSID
}

// uintArg reads an opcode's unsigned little-endian argument of size bytes
// (1, 2, 4 or 8).
func (u *unpickler) uintArg(size int) (uint64, error) {
	b, err := u.take(size)
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.LittleEndian.Uint16(b)), nil
	case 4:
		return uint64(binary.LittleEndian.Uint32(b)), nil
	}
	return binary.LittleEndian.Uint64(b), nil
}

// opProto runs PROTO: the protocol, at most 5.
func (u *unpickler) opProto() error {
	b, err := u.take(1)
	if err != nil {
		return err
	}
	if b[0] > 5 {
		return u.errf("protocol %d (at most 5)", b[0])
	}
	return nil
}

// opFrame runs FRAME, skipping its length: a hint only.
func (u *unpickler) opFrame() error {
	_, err := u.take(8)
	return err
}

// opMark runs MARK: a mark at the top of the stack.
func (u *unpickler) opMark() error {
	u.marks = append(u.marks, len(u.stack))
	return nil
}

// opPop runs POP: it drops the top of the stack, or the last mark if that
// is on top.
func (u *unpickler) opPop() error {
	if len(u.marks) > 0 && u.marks[len(u.marks)-1] == len(u.stack) {
		u.marks = u.marks[:len(u.marks)-1] // POP of a mark
		return nil
	}
	_, err := u.pop()
	return err
}

// opPopMark runs POP_MARK: it drops everything above the last mark, and the
// mark.
func (u *unpickler) opPopMark() error {
	_, err := u.popMark()
	return err
}

// opDup runs DUP: it pushes the top of the stack again.
func (u *unpickler) opDup() error {
	v, err := u.top()
	if err != nil {
		return err
	}
	u.push(v)
	return nil
}

// opBinInt runs BININT: a signed 4-byte little-endian integer.
func (u *unpickler) opBinInt() error {
	b, err := u.take(4)
	if err != nil {
		return err
	}
	u.push(int64(int32(binary.LittleEndian.Uint32(b))))
	return nil
}

// opBinUint runs BININT1 and BININT2: an unsigned integer of size bytes.
func (u *unpickler) opBinUint(size int) error {
	n, err := u.uintArg(size)
	if err != nil {
		return err
	}
	u.push(int64(n))
	return nil
}

// opLong runs LONG1 and LONG4: a little-endian two's complement integer
// (int64, or *big.Int beyond 64 bits) of at most 64 KiB, its length in size
// bytes.
func (u *unpickler) opLong(size int) error {
	n, err := u.uintArg(size)
	if err != nil {
		return err
	}
	if n > 1<<16 {
		return u.errf("LONG%d of %d bytes", size, n)
	}
	v, err := u.take(int(n))
	if err != nil {
		return err
	}
	u.push(decodeLong(v))
	return nil
}

// opInt runs INT and LONG of protocol 0: a decimal line ("L" at its end
// dropped), "00" and "01" being false and true.
func (u *unpickler) opInt() error {
	s, err := u.line()
	if err != nil {
		return err
	}
	s = strings.TrimSuffix(s, "L")
	switch s {
	case "00":
		u.push(false)
	case "01":
		u.push(true)
	default:
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return u.errf("integer %q", s)
		}
		u.push(v)
	}
	return nil
}

// opBinFloat runs BINFLOAT: a big-endian float64.
func (u *unpickler) opBinFloat() error {
	b, err := u.take(8)
	if err != nil {
		return err
	}
	u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	return nil
}

// opFloat runs FLOAT: a float64 as a line of text.
func (u *unpickler) opFloat() error {
	s, err := u.line()
	if err != nil {
		return err
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return u.errf("float %q", s)
	}
	u.push(v)
	return nil
}

// opBinUnicode runs BINUNICODE, SHORT_BINUNICODE and BINUNICODE8: a UTF-8
// string, its length in size bytes.
func (u *unpickler) opBinUnicode(size int) error {
	n, err := u.uintArg(size)
	if err != nil {
		return err
	}
	if n > uint64(len(u.data)-u.pos) {
		return u.errf("string of %d bytes, %d left", n, len(u.data)-u.pos)
	}
	s, _ := u.take(int(n))
	if !utf8.Valid(s) {
		return u.errf("string is not UTF-8")
	}
	u.push(string(s))
	return nil
}

// opUnicode runs UNICODE: a line of text (raw-unicode-escape; ASCII only
// here), taken as it is.
func (u *unpickler) opUnicode() error {
	s, err := u.line()
	if err != nil {
		return err
	}
	u.push(s)
	return nil
}

// binArg reads a byte string whose length is in size bytes; the result
// aliases u.data.
func (u *unpickler) binArg(size int) ([]byte, error) {
	n, err := u.uintArg(size)
	if err != nil {
		return nil, err
	}
	if n > uint64(len(u.data)-u.pos) {
		return nil, u.errf("bytes of length %d, %d left", n, len(u.data)-u.pos)
	}
	s, _ := u.take(int(n))
	return s, nil
}

// opBinString runs BINSTRING and SHORT_BINSTRING, a Python 2 str: pushed as
// a string, whatever its bytes.
func (u *unpickler) opBinString(size int) error {
	s, err := u.binArg(size)
	if err != nil {
		return err
	}
	u.push(string(s))
	return nil
}

// opBinBytes runs BINBYTES, SHORT_BINBYTES, BINBYTES8 and BYTEARRAY8: a
// copy of the bytes.
func (u *unpickler) opBinBytes(size int) error {
	s, err := u.binArg(size)
	if err != nil {
		return err
	}
	u.push(append([]byte(nil), s...))
	return nil
}

// opTuple runs TUPLE: the items above the last mark become a Tuple.
func (u *unpickler) opTuple() error {
	items, err := u.popMark()
	if err != nil {
		return err
	}
	u.push(Tuple(items))
	return nil
}

// opTupleN runs TUPLE1, TUPLE2 and TUPLE3: the top n items become a Tuple.
func (u *unpickler) opTupleN(n int) error {
	t := make(Tuple, n)
	for i := n - 1; i >= 0; i-- {
		v, err := u.pop()
		if err != nil {
			return err
		}
		t[i] = v
	}
	u.push(t)
	return nil
}

// opList runs LIST and FROZENSET: the items above the last mark become a
// *List.
func (u *unpickler) opList() error {
	items, err := u.popMark()
	if err != nil {
		return err
	}
	u.push(&List{Items: items})
	return nil
}

// opDict runs DICT: the key, value pairs above the last mark become a *Dict.
func (u *unpickler) opDict() error {
	items, err := u.popMark()
	if err != nil {
		return err
	}
	if len(items)%2 != 0 {
		return u.errf("DICT with an odd number of items")
	}
	d := &Dict{}
	for i := 0; i < len(items); i += 2 {
		d.set(items[i], items[i+1])
	}
	u.push(d)
	return nil
}

// opAppend runs APPEND: the top of the stack is appended to the *List
// below it.
func (u *unpickler) opAppend() error {
	v, err := u.pop()
	if err != nil {
		return err
	}
	l, err := u.top()
	if err != nil {
		return err
	}
	ll, ok := l.(*List)
	if !ok {
		return u.errf("APPEND to a %T", l)
	}
	ll.Items = append(ll.Items, v)
	return nil
}

// opAppends runs APPENDS and ADDITEMS (a set is a *List): the items above
// the last mark are appended to the *List below it.
func (u *unpickler) opAppends() error {
	items, err := u.popMark()
	if err != nil {
		return err
	}
	l, err := u.top()
	if err != nil {
		return err
	}
	ll, ok := l.(*List)
	if !ok {
		return u.errf("APPENDS to a %T", l)
	}
	ll.Items = append(ll.Items, items...)
	return nil
}

// opSetItem runs SETITEM: the key and value on top of the stack are set in
// the *Dict below them.
func (u *unpickler) opSetItem() error {
	v, err := u.pop()
	if err != nil {
		return err
	}
	k, err := u.pop()
	if err != nil {
		return err
	}
	d, err := u.top()
	if err != nil {
		return err
	}
	dd, ok := d.(*Dict)
	if !ok {
		return u.errf("SETITEM on a %T", d)
	}
	dd.set(k, v)
	return nil
}

// opSetItems runs SETITEMS: the key, value pairs above the last mark are
// set in the *Dict below it.
func (u *unpickler) opSetItems() error {
	items, err := u.popMark()
	if err != nil {
		return err
	}
	if len(items)%2 != 0 {
		return u.errf("SETITEMS with an odd number of items")
	}
	d, err := u.top()
	if err != nil {
		return err
	}
	dd, ok := d.(*Dict)
	if !ok {
		return u.errf("SETITEMS on a %T", d)
	}
	for i := 0; i < len(items); i += 2 {
		dd.set(items[i], items[i+1])
	}
	return nil
}

// opBinPut runs BINPUT and LONG_BINPUT: the top of the stack is memoised
// under a key of size bytes.
func (u *unpickler) opBinPut(size int) error {
	k, err := u.uintArg(size)
	if err != nil {
		return err
	}
	return u.memoPut(uint32(k))
}

// opMemoize runs MEMOIZE: the top of the stack is memoised under the next
// key (the memo's size).
func (u *unpickler) opMemoize() error {
	return u.memoPut(uint32(len(u.memo)))
}

// textKey reads a memo key as a decimal line (op names the opcode for the
// error).
func (u *unpickler) textKey(op string) (uint32, error) {
	s, err := u.line()
	if err != nil {
		return 0, err
	}
	k, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, u.errf("%s key %q", op, s)
	}
	return uint32(k), nil
}

// opPut runs PUT: the top of the stack is memoised under a decimal key.
func (u *unpickler) opPut() error {
	k, err := u.textKey("PUT")
	if err != nil {
		return err
	}
	return u.memoPut(k)
}

// opBinGet runs BINGET and LONG_BINGET: it pushes the memo's value under a
// key of size bytes.
func (u *unpickler) opBinGet(size int) error {
	k, err := u.uintArg(size)
	if err != nil {
		return err
	}
	return u.memoGet(uint32(k))
}

// opGet runs GET: it pushes the memo's value under a decimal key.
func (u *unpickler) opGet() error {
	k, err := u.textKey("GET")
	if err != nil {
		return err
	}
	return u.memoGet(k)
}

// opGlobal runs GLOBAL: the module and name are two lines; the global must
// be on the allow-list.
func (u *unpickler) opGlobal() error {
	mod, err := u.line()
	if err != nil {
		return err
	}
	name, err := u.line()
	if err != nil {
		return err
	}
	return u.global(mod, name)
}

// opStackGlobal runs STACK_GLOBAL: the module and name are the two strings
// on top of the stack; the global must be on the allow-list.
func (u *unpickler) opStackGlobal() error {
	name, err := u.pop()
	if err != nil {
		return err
	}
	mod, err := u.pop()
	if err != nil {
		return err
	}
	ms, ok1 := mod.(string)
	ns, ok2 := name.(string)
	if !ok1 || !ok2 {
		return u.errf("STACK_GLOBAL of %T and %T", mod, name)
	}
	return u.global(ms, ns)
}

// opReduce runs REDUCE: the allowed global below the top of the stack is
// called with the Tuple on top, and what it builds replaces both.
func (u *unpickler) opReduce() error {
	args, err := u.pop()
	if err != nil {
		return err
	}
	fn, err := u.pop()
	if err != nil {
		return err
	}
	t, ok := args.(Tuple)
	if !ok {
		return u.errf("REDUCE arguments are a %T", args)
	}
	v, err := u.call(fn, t)
	if err != nil {
		return err
	}
	u.push(v)
	return nil
}

// opNewObj runs NEWOBJ, cls.__new__(cls, *args), for OrderedDict, set and
// frozenset only: built as REDUCE builds them.
func (u *unpickler) opNewObj() error {
	args, err := u.pop()
	if err != nil {
		return err
	}
	cls, err := u.pop()
	if err != nil {
		return err
	}
	t, ok := args.(Tuple)
	if !ok {
		return u.errf("NEWOBJ arguments are a %T", args)
	}
	g, ok := cls.(*Global)
	if !ok || (g.Name != "collections.OrderedDict" && g.Name != "builtins.set" && g.Name != "builtins.frozenset") {
		return u.errf("NEWOBJ of %v", cls)
	}
	v, err := u.call(cls, t)
	if err != nil {
		return err
	}
	u.push(v)
	return nil
}

// opBuild runs BUILD: the state on top of the stack is popped and set on
// the object below it: a *Dict keeps it as Attrs, a *NumpyDtype takes its
// byte order from it; any other object is an error.
func (u *unpickler) opBuild() error {
	state, err := u.pop()
	if err != nil {
		return err
	}
	obj, err := u.top()
	if err != nil {
		return err
	}
	switch o := obj.(type) {
	case *Dict:
		o.Attrs = state
	case *NumpyDtype:
		// (version, byteorder, subdescr, names, fields, elsize, alignment, flags)
		if t, ok := state.(Tuple); ok && len(t) > 1 {
			if s, ok := t[1].(string); ok && len(s) == 1 {
				o.Order = s[0]
			}
		}
	default:
		return u.errf("BUILD on a %T", obj)
	}
	return nil
}

// opBinPersID runs BINPERSID: the persistent id on top of the stack is
// replaced by the *Storage it names.
func (u *unpickler) opBinPersID() error {
	pid, err := u.pop()
	if err != nil {
		return err
	}
	v, err := persistentLoad(pid)
	if err != nil {
		return u.errf("%v", err)
	}
	u.push(v)
	return nil
}
