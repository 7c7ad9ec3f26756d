package unet

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"suture/io/npy"
	"suture/kernels/cpu"
	"suture/tensor"
)

// An imported model exported as safetensors and read back, and the file
// path of the forward command (ForwardFile, every output, OutputFiles'
// names), match PyTorch's outputs within 1e-4, for every architecture.
func TestSafetensorsAndForwardFileMatchPyTorch(t *testing.T) {
	dir := t.TempDir()
	for _, fx := range fixtures {
		m, err := ImportNNUNet(fixtureFolder(fx.folder), 0, "final", cpu.New(0))
		if err != nil {
			t.Fatal(err)
		}
		st := filepath.Join(dir, fx.name+".safetensors")
		if err := m.SaveSafetensors(st); err != nil {
			t.Fatal(err)
		}
		back, err := LoadSafetensors(st, cpu.New(0))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s back from safetensors: max abs difference to PyTorch %.3g", fx.name, checkAgainstReference(t, back, fx.name, fx.inputs, fx.heads))
		for k := 0; k < fx.inputs; k++ {
			in := filepath.Join(fixtureDir, "ref", fmt.Sprintf("%s_in%d.npy", fx.name, k))
			outs, err := back.ForwardFile(in, true)
			if err != nil || len(outs) != fx.heads {
				t.Fatalf("%s: %d outputs (%v), want %d", in, len(outs), err, fx.heads)
			}
			main, err := back.ForwardFile(in, false)
			if err != nil || len(main) != 1 || tensor.MaxAbsDiff(main[0].Data, outs[0].Data) != 0 {
				t.Errorf("%s: the main output alone differs from the first of all (%v)", in, err)
			}
			for j, p := range OutputFiles(filepath.Join(dir, "y.npy"), fx.heads) {
				want, wantPath := fmt.Sprintf("%s_out%d.npy", fx.name, k), filepath.Join(dir, "y.npy")
				if j > 0 {
					want, wantPath = fmt.Sprintf("%s_out%d_ds%d.npy", fx.name, k, j), filepath.Join(dir, fmt.Sprintf("y_ds%d.npy", j))
				}
				if p != wantPath {
					t.Errorf("output %d is written to %s, want %s", j, p, wantPath)
				}
				ref, err := npy.ReadFile(filepath.Join(fixtureDir, "ref", want))
				if err != nil {
					t.Fatal(err)
				}
				if d := tensor.MaxAbsDiff(outs[j].Data, ref.Data); !(d <= 1e-4) || !outs[j].Shape.Equal(ref.Shape) {
					t.Errorf("%s: %v, max abs difference %.3g to PyTorch", want, outs[j].Shape, d)
				}
			}
		}
	}
}

// pickleZip writes a torch.save-like archive holding pkl as archive/data.pkl
// and the given storages.
func pickleZip(t *testing.T, path string, pkl []byte, storages map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	add("archive/data.pkl", pkl)
	for k, v := range storages {
		add("archive/data/"+k, v)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// One clear error for each kind of bad import or forward input, never a
// panic.
func TestImportAndForwardFileBadInput(t *testing.T) {
	dir := t.TempDir()
	b := cpu.New(0)
	edit := func(folder string, f func(dir string)) string {
		d := copyFixture(t, folder)
		f(d)
		return d
	}
	ckptOf := func(d string) string { return filepath.Join(d, "fold_0", "checkpoint_final.pth") }
	write := func(path string, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bigStorage := []byte("\x80\x02}X\x0f\x00\x00\x00network_weights}X\x26\x00\x00\x00encoder.stages.0.0.convs.0.conv.weight" +
		"ctorch._utils\n_rebuild_tensor_v2\n(" +
		"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuJ\x00\xca\x9a\x3bt" + "Q" +
		"K\x00J\x00\xca\x9a\x3b\x85K\x01\x85\x89NtR" + "ss.")
	for _, c := range []struct {
		dir  string
		fold int
		want string
	}{
		{fixtureFolder("Dataset991_TinyPlain"), 3, "no fold_3 (folds here: fold_0)"},
		{dir, 0, "not an nnU-Net trained-model folder"},
		{edit("Dataset991_TinyPlain", func(d string) {
			plans, _ := os.ReadFile(filepath.Join(d, "plans.json"))
			write(filepath.Join(d, "plans.json"), bytes.ReplaceAll(plans, []byte("unet.PlainConvUNet"), []byte("primus.Primus")))
		}), 0, `network "dynamic_network_architectures.architectures.primus.Primus" is not supported`},
		{edit("Dataset991_TinyPlain", func(d string) { // another fixture's weights
			wide, _ := os.ReadFile(ckptOf(fixtureFolder("Dataset992_TinyPlainWide")))
			write(ckptOf(d), wide)
		}), 0, "do not belong together"},
		{edit("Dataset991_TinyPlain", func(d string) {
			ck, _ := os.ReadFile(ckptOf(d))
			write(ckptOf(d), ck[:len(ck)/2])
		}), 0, "truncated"},
		{edit("Dataset991_TinyPlain", func(d string) { // system("ls") in protocol 2
			pickleZip(t, ckptOf(d), []byte("\x80\x02cposix\nsystem\nX\x02\x00\x00\x00lsR."), nil)
		}), 0, "pickle names posix.system: global not on the allow-list"},
		{edit("Dataset991_TinyPlain", func(d string) {
			pickleZip(t, ckptOf(d), []byte("\x80\x02cbuiltins\neval\nX\x02\x00\x00\x00lsR."), nil)
		}), 0, "pickle names builtins.eval: global not on the allow-list"},
		{edit("Dataset991_TinyPlain", func(d string) { // the persistent id declares 1e9 floats
			pickleZip(t, ckptOf(d), bigStorage, map[string][]byte{"0": make([]byte, 64)})
		}), 0, "declares 1000000000 float32 elements, its entry holds 64 bytes"},
	} {
		if _, err := ImportNNUNet(c.dir, c.fold, "final", b); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("import %s fold %d: %v, want an error containing %q", c.dir, c.fold, err, c.want)
		}
	}
	m, err := ImportNNUNet(fixtureFolder("Dataset991_TinyPlain"), 0, "final", b)
	if err != nil {
		t.Fatal(err)
	}
	npyFile := func(name string, x *tensor.Tensor) string {
		var buf bytes.Buffer
		if err := npy.Write(&buf, x); err != nil {
			t.Fatal(err)
		}
		write(filepath.Join(dir, name), buf.Bytes())
		return filepath.Join(dir, name)
	}
	hdr := "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3, 32, 32), }"
	write(filepath.Join(dir, "f64.npy"), append([]byte("\x93NUMPY\x01\x00"+string([]byte{byte(len(hdr) + 1), 0})+hdr+"\n"), make([]byte, 8*3*32*32)...))
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "f64.npy"), `dtype "<f8", want float32`},
		{npyFile("rank3.npy", tensor.New(3, 32, 32)), "want rank 4 (N, C, H, W)"},
		{npyFile("odd.npy", tensor.New(1, 3, 30, 32)), "multiples of 8x8"},
	} {
		if _, err := m.ForwardFile(c.path, true); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("forward %s: %v, want an error naming it and saying %q", c.path, err, c.want)
		}
	}
}
