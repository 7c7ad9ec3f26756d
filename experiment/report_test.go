package experiment

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTree copies folder src to dst (regular files only).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !e.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// snapshot reads every file under dir, by path relative to dir.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		m[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// rewriteCSVs rewrites every file named name under the job folders of dir
// whose folder name starts with prefix, line by line (the header is kept).
func rewriteCSVs(t *testing.T, dir, prefix, name string, edit func(line string, i int) string) int {
	t.Helper()
	n := 0
	paths, _ := filepath.Glob(filepath.Join(dir, "jobs", "*", prefix+"*", name))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		var out []string
		for i, l := range lines {
			if i > 0 {
				if l = edit(l, i); l == "" {
					continue
				}
			}
			out = append(out, l)
		}
		if err := os.WriteFile(p, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("no %s under %s/jobs/*/%s*", name, dir, prefix)
	}
	return n
}

// setColumn replaces the k-th comma-separated field of line by v.
func setColumn(line string, k int, v string) string {
	f := strings.Split(line, ",")
	f[k] = v
	return strings.Join(f, ",")
}

// TestReportUndefinedAndAtomic: a network whose HD95 is undefined
// everywhere (it predicts empty masks) is tabulated and plotted as far as
// it is defined, not an error; a report that fails leaves the folder it
// would replace exactly as it was; a folder holding anything but a report
// is refused.
func TestReportUndefinedAndAtomic(t *testing.T) {
	root := t.TempDir()
	res := filepath.Join(root, "res")
	if err := RunPlan(context.Background(), QuickPlan("quick", "synth:a", "synth:b"), res, RunOptions{Workers: 2, Backend: oneThread}); err != nil {
		t.Fatal(err)
	}
	rep := filepath.Join(root, "report")
	if _, err := Report(res, rep); err != nil {
		t.Fatal(err)
	}

	// HD95 undefined for every test sample of network a, and at every
	// position of every sweep (the sweeps' base networks included).
	undef := filepath.Join(root, "undefined")
	copyTree(t, res, undef)
	for _, party := range []string{"a", "b"} {
		rewriteCSVs(t, undef, "test-a-", "test-"+party+".csv", func(l string, _ int) string { return setColumn(l, 2, "NaN") })
	}
	rewriteCSVs(t, undef, "sweep-", "sweep.csv", func(l string, _ int) string { return setColumn(l, 5, "NaN") })
	r, err := Report(undef, rep)
	if err != nil {
		t.Fatalf("report with undefined HD95: %v", err)
	}
	md, err := os.ReadFile(filepath.Join(rep, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(md, []byte("| `a` |")) || !bytes.Contains(md, []byte("undefined)")) {
		t.Errorf("report.md does not tabulate network a with its undefined HD95 counted")
	}
	if len(r.Files) != 12 {
		t.Errorf("%d files written, want 12", len(r.Files))
	}
	for _, f := range r.Files {
		if filepath.Dir(f) != rep {
			t.Errorf("result file %s is not in %s", f, rep)
		}
	}

	// A report that fails after writing its first figures (a sample missing
	// from one approach's scores makes the statistics fail) changes nothing.
	broken := filepath.Join(root, "broken")
	copyTree(t, res, broken)
	rewriteCSVs(t, broken, "test-b-", "test-a.csv", func(l string, i int) string {
		if i == 1 {
			return ""
		}
		return l
	})
	before := snapshot(t, rep)
	if _, err := Report(broken, rep); err == nil {
		t.Fatal("the report of broken results did not fail")
	}
	after := snapshot(t, rep)
	if len(after) != len(before) {
		t.Errorf("the failed report left %d files, there were %d", len(after), len(before))
	}
	for f, b := range before {
		if !bytes.Equal(after[f], b) {
			t.Errorf("the failed report changed %s", f)
		}
	}
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary folder %s left behind", e.Name())
		}
	}

	// A folder holding other files (here the results themselves) is refused.
	resBefore := snapshot(t, res)
	if _, err := Report(res, res); err == nil || !strings.Contains(err.Error(), "not part of a report") {
		t.Errorf("report into the results folder: %v", err)
	}
	if len(snapshot(t, res)) != len(resBefore) {
		t.Error("the refused report changed the results folder")
	}
}
