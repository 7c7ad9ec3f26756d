package bench

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"suture/bench/profile"
	"suture/kernels/cpu"
)

// TestJoinTorch: PyTorch's figures go into the results they belong to,
// FP32 and (where measured) TF32 with their ratios; a case PyTorch has no
// figure for gets a note; the tables show them as `suture bench
// --vs-torch` prints them on the CPU and on a device.
func TestJoinTorch(t *testing.T) {
	results := func() []Result { return []Result{{Case: "a", MS: 2}, {Case: "b", MS: 4}, {Case: "c", MS: 1}} }
	rs := results()
	JoinTorch(rs, map[string]TorchTimes{"a": {FP32: 3}, "b": {FP32: 8, TF32: 2}, "c": {TF32: 5}})
	if *rs[0].TorchMS != 3 || *rs[0].VsTorch != 1.5 || rs[0].TorchTF32MS != nil || rs[0].TorchNote != "" {
		t.Errorf("a: %+v", rs[0])
	}
	if *rs[1].TorchMS != 8 || *rs[1].VsTorch != 2 || *rs[1].TorchTF32MS != 2 || *rs[1].VsTorchTF32 != 0.5 {
		t.Errorf("b: %+v", rs[1])
	}
	if rs[2].TorchMS != nil || rs[2].TorchNote != "no PyTorch figure for this case" {
		t.Errorf("c, no FP32 figure: %+v", rs[2])
	}
	var dev, host bytes.Buffer
	WriteTorchTable(&dev, rs, true)
	WriteTorchTable(&host, rs, false)
	wantDev := "case                                suture ms   torch fp32   ratio   torch tf32   ratio\n" +
		"a                                       2.000        3.000   1.50x            -       -\n" +
		"b                                       4.000        8.000   2.00x        2.000   0.50x\n" +
		"c                                       1.000            -\n"
	wantHost := "case                                suture ms   torch ms    ratio\n" +
		"a                                       2.000      3.000    1.50x\n" +
		"b                                       4.000      8.000    2.00x\n"
	if dev.String() != wantDev || host.String() != wantHost {
		t.Errorf("device table:\n%s\nwant\n%s\nCPU table:\n%s\nwant\n%s", dev.String(), wantDev, host.String(), wantHost)
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, rs); err != nil || strings.Count(js.String(), "\n") != 3 || !strings.Contains(js.String(), `"vs_torch_tf32":0.5`) {
		t.Errorf("JSON (%v):\n%s", err, js.String())
	}
	if tc := NewTorch("cpu", false, "", "", 2, 7, Full); tc.String() != "the PyTorch reference ("+CPUTorchScript+")" {
		t.Errorf("CPU reference: %s", tc)
	}
	if tc := NewTorch("cudaemu", true, "x.py", "", 2, 7, Small); tc.String() != "PyTorch on cpu (python3 x.py)" {
		t.Errorf("the emulator's reference: %s", tc)
	}
}

// TestFindCase: a name, or a prefix of one case only; else an error.
func TestFindCase(t *testing.T) {
	cases := ProfileCases(32, 2, nil)
	for name, want := range map[string]string{"unet/train": "unet/train", "unet/tr": "unet/train", "sgemm/1024": "sgemm/1024"} {
		if c, err := FindCase(cases, name); err != nil || c.Name != want {
			t.Errorf("%s: %s, %v; want %s", name, c.Name, err, want)
		}
	}
	if _, err := FindCase(cases, "nope"); !errors.Is(err, ErrNoCase) {
		t.Errorf("nope: %v", err)
	}
	if _, err := FindCase(cases, "unet"); err == nil || err.Error() != "names 2 cases (unet/infer, unet/train); give one" {
		t.Errorf("unet: %v", err)
	}
}

// TestProfileStreaming: the CPU profile and the runtime trace of a
// profiled case are written whole into their files; a file that cannot
// be written is a FileError naming it.
func TestProfileStreaming(t *testing.T) {
	dir := t.TempDir()
	c := networkCase(t, "unet/train", 32, 1)
	prof, tr := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "go.trace")
	rep, err := ProfileStreaming(c, cpu.New(1), 1, profile.Options{Steps: 1, Labels: true}, prof, tr)
	if err != nil || rep.Steps != 1 {
		t.Fatalf("%v (report %+v)", err, rep)
	}
	for _, p := range []string{prof, tr} {
		if b, err := os.ReadFile(p); err != nil || len(b) == 0 {
			t.Errorf("%s: %d bytes, %v", p, len(b), err)
		}
	}
	if b, _ := os.ReadFile(prof); len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("%s is not a gzip-compressed profile", prof)
	}
	bad := filepath.Join(dir, "no", "such", "p.pprof")
	_, err = ProfileStreaming(c, cpu.New(1), 1, profile.Options{Steps: 1}, "", bad)
	var fe *FileError
	if !errors.As(err, &fe) || fe.Path != bad {
		t.Errorf("a trace into a missing folder: %v", err)
	}
}
