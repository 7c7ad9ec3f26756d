package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"suture/internal/script"
	"suture/kernels"
	"suture/kernels/cpu"
)

// The CLI's checks are scripts (testdata/script, TestScripts in
// script_test.go); here are the tables of bad command lines and the checks
// that need Go.

// sut runs the CLI in-process and returns its exit status and output.
func sut(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String() + errb.String()
}

// TestUsageErrors runs the cases of testdata/usage.txt: each bad command
// line exits with its status and prints one line naming what is wrong.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	// bad.ckpt is also a file where --profile wants a folder.
	if err := os.WriteFile(filepath.Join(dir, "bad.ckpt"), []byte("SUTURECK garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range readTable(t, "usage.txt", 3) {
		var args []string
		for _, a := range splitArgs(t, c[2]) {
			args = append(args, strings.ReplaceAll(a, "DIR", dir))
		}
		code, out := sut(t, args...)
		if strconv.Itoa(code) != c[0] || !strings.Contains(out, c[1]) || strings.Count(out, "\n") != 1 {
			t.Errorf("suture %s: exit %d, want %s and one line with %q:\n%s", c[2], code, c[0], c[1], out)
		}
	}
}

// TestAutoBackend: the default, auto, trains on the CPU in a build without
// a GPU backend, saying nothing; where a GPU backend is built in but cannot
// start, auto says so in one notice and takes the CPU.
func TestAutoBackend(t *testing.T) {
	var note bytes.Buffer
	notices = &note
	defer func() { notices = os.Stderr }()
	code, out := sut(t, "train", "--data", "synth:a:36:16", "--out", t.TempDir(), "--epochs", "1",
		"--iters", "1", "--batch", "2", "--features", "4,8")
	if code != 0 || !strings.Contains(out, "on cpu") || note.Len() != 0 {
		t.Errorf("--backend auto in a cpu-only build: exit %d, output\n%s\nnotice %q", code, out, note.String())
	}
	cpuB := cpu.New(1)
	get := func(name string) (kernels.Backend, error) {
		if name == "cuda" {
			return nil, errors.New("no usable NVIDIA GPU: cuInit failed")
		}
		return cpuB, nil
	}
	b, err := pickBackend("auto", get, []string{"cpu", "cuda"}, &note)
	if b != kernels.Backend(cpuB) || err != nil || note.String() != "suture: no usable GPU (no usable NVIDIA GPU: cuInit failed); using cpu\n" {
		t.Errorf("auto with a GPU that cannot start: %v, %v, notice %q", b, err, note.String())
	}
	if _, err := pickBackend("cuda", get, []string{"cpu", "cuda"}, &note); err == nil || !strings.HasPrefix(err.Error(), "--backend cuda: no usable") {
		t.Errorf("--backend cuda that cannot start: %v", err)
	}
}

// TestCPUProfileGetsLabels: --cpuprofile alone runs the steps under a
// profiler that sets pprof labels; without it the backend is left alone.
func TestCPUProfileGetsLabels(t *testing.T) {
	for _, c := range []struct {
		args   []string
		labels bool
	}{{[]string{"--cpuprofile", "x.pprof"}, true}, {nil, false}} {
		fs := newFlags("test", &bytes.Buffer{})
		profileFlag(fs, "the test")
		wrap := runProfileFlag(fs)
		if err := parse(fs, c.args); err != nil {
			t.Fatal(err)
		}
		inner := cpu.New(1)
		b, end, err := wrap(inner)
		if err != nil {
			t.Fatal(err)
		}
		end()
		if got := kernels.ProfilerOf(b) != nil; got != c.labels || !c.labels && b != kernels.Backend(inner) {
			t.Errorf("%v: profiling backend %v, want %v", c.args, got, c.labels)
		}
	}
}

// Ctrl-C (a cancelled context) during training saves the run and exits
// with status 130, naming the flag that continues it.
func TestInterruptedTrainSaysResume(t *testing.T) {
	args := []string{"train", "--data", "synth:a:36:16", "--out", t.TempDir(), "--epochs", "2", "--iters", "2", "--batch", "4", "--features", "4,8"}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // interrupted before the first step
	var out, errb bytes.Buffer
	if code := run(ctx, args, &out, &errb); code != exitInterrupted || !strings.Contains(errb.String(), "continue with --resume") {
		t.Fatalf("interrupted train: exit %d\n%s", code, errb.String())
	}
	if code, out := sut(t, append(args, "--resume")...); code != 0 || !strings.Contains(out, "resuming") || !strings.Contains(out, "done") {
		t.Errorf("resume after interrupt: exit %d\n%s", code, out)
	}
}

// scriptChecks are the scripts' checks written in Go.
var scriptChecks = map[string]script.Cmd{
	// profilerows N: the last stdout is the JSON rows of `suture profile
	// --json` for N steps, sorted by self time, adding up to the step.
	"profilerows": func(s *script.State, a []string) error {
		rows, err := profileRows(s.Stdout, a[0])
		for i := 1; err == nil && i < len(rows); i++ {
			if rows[i]["self_ms"].(float64) > rows[i-1]["self_ms"].(float64) {
				err = fmt.Errorf("rows not sorted by self time: %v after %v", rows[i], rows[i-1])
			}
		}
		return err
	},
	// profiledir DIR VERTEX PHASE: the files of --profile DIR: the JSON rows
	// of three steps add up to the step, a row of a vertex starting with
	// VERTEX in PHASE, a gzip CPU profile, the table and traces written, and
	// the Chrome trace's slices nest.
	"profiledir": func(s *script.State, a []string) error {
		b, err := os.ReadFile(filepath.Join(a[0], "profile.jsonl"))
		if err != nil {
			return err
		}
		rows, err := profileRows(string(b), "3")
		found := false
		for _, r := range rows {
			found = found || strings.HasPrefix(r["vertex"].(string), a[1]) && r["phase"] == a[2]
		}
		if err == nil && !found {
			err = fmt.Errorf("%s: no row of vertex %s in phase %s", a[0], a[1], a[2])
		}
		for _, f := range []string{"profile.txt", "trace.json", "go.trace"} {
			if fi, e := os.Stat(filepath.Join(a[0], f)); err == nil && (e != nil || fi.Size() == 0) {
				err = fmt.Errorf("%s not written: %v", f, e)
			}
		}
		return script.FirstErr(err, script.CheckGzip(filepath.Join(a[0], "cpu.pprof")), script.CheckTrace(filepath.Join(a[0], "trace.json")))
	},
}

// profileRows reads the JSON lines of `suture profile --json`, checks that
// the last is the total of steps steps and that the rows' self times add up
// to within 5% of the step, and returns the rows before the total.
func profileRows(out, steps string) ([]map[string]any, error) {
	var rows []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return nil, fmt.Errorf("not a JSON row: %q (%v)", line, err)
		}
		for _, k := range []string{"op", "vertex", "phase", "calls", "ms", "self_ms", "gflops", "frac_step"} {
			if _, ok := m[k]; !ok {
				return nil, fmt.Errorf("row %q lacks %q", line, k)
			}
		}
		rows = append(rows, m)
	}
	total := rows[len(rows)-1]
	if len(rows) < 2 || total["op"] != "total" || fmt.Sprint(total["calls"]) != steps {
		return nil, fmt.Errorf("%d rows, the last not the total of %s steps", len(rows), steps)
	}
	rows = rows[:len(rows)-1]
	var sum float64
	for _, r := range rows {
		sum += r["self_ms"].(float64)
	}
	if step := total["ms"].(float64); step <= 0 || sum < 0.95*step || sum > 1.05*step {
		return nil, fmt.Errorf("rows' self times add up to %.3f ms, the step took %.3f ms", sum, step)
	}
	return rows, nil
}
