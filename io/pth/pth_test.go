package pth

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var fixture = filepath.Join("..", "..", "testdata", "nnunet", "Dataset991_TinyPlain", "nnUNetTrainer__nnUNetPlans__2d", "fold_0", "checkpoint_final.pth")

func TestReadNNUNetCheckpoint(t *testing.T) {
	a, err := Open(fixture)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	root, ok := a.Root.(*Dict)
	if !ok {
		t.Fatalf("root is %T", a.Root)
	}
	want := "_best_ema current_epoch grad_scaler_state inference_allowed_mirroring_axes init_args logging network_weights optimizer_state trainer_name"
	if got := strings.Join(root.StringKeys(), " "); got != want {
		t.Errorf("keys %q", got)
	}
	names, refs, err := a.StateDict("network_weights")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 188 || names[0] != "encoder.stages.0.0.convs.0.conv.weight" {
		t.Fatalf("%d names, first %q", len(names), names[0])
	}
	w, err := a.Tensor(refs[names[0]])
	if err != nil {
		t.Fatal(err)
	}
	if !w.Shape.Equal([]int{4, 3, 3, 3}) {
		t.Errorf("first weight %v", w.Shape)
	}
	alias, _ := a.Tensor(refs["encoder.stages.0.0.convs.0.all_modules.0.weight"])
	for i := range w.Data {
		if w.Data[i] != alias.Data[i] {
			t.Fatal("alias differs")
		}
	}
	// The numpy float64 _best_ema and the torch.device in init_args.
	be, _ := root.Get("_best_ema")
	if f, ok := be.(NumpyScalar).Float(); !ok || f != 0.51 {
		t.Errorf("_best_ema %v", be)
	}
	ia, _ := root.Get("init_args")
	dev, _ := ia.(*Dict).Get("device")
	if dev != Device("cpu") {
		t.Errorf("device %#v", dev)
	}
	ax, _ := root.Get("inference_allowed_mirroring_axes")
	if tu, ok := ax.(Tuple); !ok || len(tu) != 2 || tu[0] != int64(0) || tu[1] != int64(1) {
		t.Errorf("mirroring axes %#v", ax)
	}
}

func TestUnpickleRefusesGlobals(t *testing.T) {
	for _, c := range []struct{ pkl, name string }{
		{"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00lsR.", "posix.system"},
		{"\x80\x02cbuiltins\neval\nX\x01\x00\x00\x001\x85R.", "builtins.eval"},
		{"\x80\x04\x8c\x08builtins\x8c\x04exec\x93.", "builtins.exec"},
		{"\x80\x02ctorch\nload\n.", "torch.load"},
		{"\x80\x02cnumpy.core.multiarray\n_reconstruct\n.", "numpy.core.multiarray._reconstruct"},
	} {
		_, err := Unpickle([]byte(c.pkl))
		if !errors.Is(err, ErrGlobal) || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%q: %v, want a refusal naming %s", c.pkl, err, c.name)
		}
	}
	// Allowed globals can be named; the storage classes cannot be called.
	if _, err := Unpickle([]byte("\x80\x02ctorch\nFloatStorage\n)R.")); err == nil || !strings.Contains(err.Error(), "cannot be called") {
		t.Errorf("calling a storage class: %v", err)
	}
}

func TestUnpickleContainers(t *testing.T) {
	// {'a': [1, 2.5, True, None], 'b': (b'\x01', 'x'), 300: -2} in protocol 2,
	// as Python's pickle writes it, then re-read through the memo.
	pkl := "\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01G@\x04\x00\x00\x00\x00\x00\x00\x88Ne" +
		"X\x01\x00\x00\x00bq\x03c_codecs\nencode\nq\x04X\x01\x00\x00\x00\x01q\x05X\x06\x00\x00\x00latin1q\x06\x86q\x07Rq\x08X\x01\x00\x00\x00xq\t\x86q\n" +
		"M,\x01J\xfe\xff\xff\xffu."
	v, err := Unpickle([]byte(pkl))
	if err != nil {
		t.Fatal(err)
	}
	d := v.(*Dict)
	l, _ := d.Get("a")
	items := l.(*List).Items
	if len(items) != 4 || items[0] != int64(1) || items[1] != 2.5 || items[2] != true || items[3] != nil {
		t.Errorf("list %#v", items)
	}
	b, _ := d.Get("b")
	if tu := b.(Tuple); !bytes.Equal(tu[0].([]byte), []byte{1}) || tu[1] != "x" {
		t.Errorf("tuple %#v", tu)
	}
	if d.Keys[2] != int64(300) || d.Values[2] != int64(-2) {
		t.Errorf("int key %#v: %#v", d.Keys[2], d.Values[2])
	}
}

func TestArchiveErrors(t *testing.T) {
	good, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", good[:len(good)-100], "truncated"},
		{"half", good[:len(good)/2], "truncated"},
		{"empty", nil, "not a PyTorch checkpoint"},
		{"legacy", []byte("\x80\x02\x8a\x0alZ\xfc\x9c"), "legacy"},
	} {
		_, err := NewArchive(bytes.NewReader(c.data), int64(len(c.data)), c.name)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	// A zip without data.pkl.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("x/version")
	w.Write([]byte("3\n"))
	zw.Close()
	if _, err := NewArchive(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "nopkl"); err == nil || !strings.Contains(err.Error(), "data.pkl") {
		t.Errorf("no data.pkl: %v", err)
	}
}

// tinyArchive is a valid archive with one float tensor of 4 elements.
func tinyArchive(tb testing.TB) []byte {
	pkl := "\x80\x02}X\x01\x00\x00\x00w" +
		"ctorch._utils\n_rebuild_tensor_v2\n(" +
		"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQ" +
		"K\x00K\x02K\x02\x86K\x02K\x01\x86\x89NtRs."
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct{ name, data string }{{"a/data.pkl", pkl}, {"a/byteorder", "little"}, {"a/data/0", "\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40"}} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store})
		if err != nil {
			tb.Fatal(err)
		}
		w.Write([]byte(e.data))
	}
	zw.Close()
	return buf.Bytes()
}

func TestTinyArchive(t *testing.T) {
	data := tinyArchive(t)
	a, err := NewArchive(bytes.NewReader(data), int64(len(data)), "tiny")
	if err != nil {
		t.Fatal(err)
	}
	_, refs, err := a.StateDict("")
	if err != nil {
		t.Fatal(err)
	}
	x, err := a.Tensor(refs["w"])
	if err != nil {
		t.Fatal(err)
	}
	if !x.Shape.Equal([]int{2, 2}) || x.Data[0] != 1 || x.Data[3] != 4 {
		t.Errorf("tensor %v %v", x.Shape, x.Data)
	}
	// A view that reaches past its storage.
	refs["w"].Offset = 1
	if _, err := a.Tensor(refs["w"]); err == nil || !strings.Contains(err.Error(), "reaches element") {
		t.Errorf("view past the storage: %v", err)
	}
}

// FuzzUnpickle runs arbitrary bytes as a pickle: never a panic, and a
// global outside the allow-list is never materialised.
func FuzzUnpickle(f *testing.F) {
	f.Add([]byte("\x80\x02cposix\nsystem\nX\x02\x00\x00\x00lsR."))
	f.Add([]byte("\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01G@\x04\x00\x00\x00\x00\x00\x00\x88Neu."))
	if a, err := Open(fixture); err == nil {
		for _, fl := range a.zr.File {
			if strings.HasSuffix(fl.Name, "data.pkl") {
				if b, err := a.readEntry(fl, 1<<24); err == nil {
					f.Add(b)
				}
			}
		}
		a.Close()
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Unpickle(data)
		if err == nil {
			walk(v, map[any]bool{})
		}
	})
}

// walk visits an unpickled value once per container (pickles can build
// cycles and shared references).
func walk(v any, seen map[any]bool) {
	switch x := v.(type) {
	case *Dict:
		if seen[x] {
			return
		}
		seen[x] = true
		for i := range x.Keys {
			walk(x.Keys[i], seen)
			walk(x.Values[i], seen)
		}
	case *List:
		if seen[x] {
			return
		}
		seen[x] = true
		for _, e := range x.Items {
			walk(e, seen)
		}
	case Tuple:
		if len(x) == 0 || seen[&x[0]] {
			return
		}
		seen[&x[0]] = true
		for _, e := range x {
			walk(e, seen)
		}
	case *Global:
		if _, ok := allowed[x.Name]; !ok {
			panic("global outside the allow-list materialised: " + x.Name)
		}
	}
}

// FuzzArchive opens arbitrary bytes as an archive and reads every tensor of
// its state dict: errors, never a panic, and no allocation beyond the file.
func FuzzArchive(f *testing.F) {
	f.Add(tinyArchive(f))
	if b, err := os.ReadFile(fixture); err == nil && len(b) < 1<<20 {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := NewArchive(bytes.NewReader(data), int64(len(data)), "fuzz")
		if err != nil {
			return
		}
		a.MaxBytes = 1 << 22
		_, refs, err := a.StateDict("")
		if err != nil {
			return
		}
		for _, r := range refs {
			a.Tensor(r)
		}
	})
}
