package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"suture/kernels"
	"suture/kernels/cpu"
)

// sut runs the CLI in-process and returns its exit status and output.
func sut(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String() + errb.String()
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out := sut(t, args...)
	if code != 0 {
		t.Fatalf("suture %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// tinyTrain trains a two-stage U-Net on 16 px synthetic data for a few steps.
func tinyTrain(t *testing.T, dir, party string, extra ...string) string {
	t.Helper()
	args := append([]string{"train", "--data", "synth:" + party + ":36:16", "--out", dir, "--epochs", "2",
		"--iters", "2", "--batch", "4", "--features", "4,8"}, extra...)
	return mustRun(t, args...)
}

// checkProfile checks that path holds a gzip stream, as pprof writes them.
func checkProfile(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("%s: %d bytes, not a gzip-compressed profile", path, len(b))
	}
}

func readJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	line := out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("not JSON: %q (%v)", line, err)
	}
	return m
}

// TestUsageErrors runs the cases of testdata/usage.txt: each bad command
// line exits with its status and prints one line naming what is wrong.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bad.ckpt"), "SUTURECK garbage") // also a file where --profile wants a folder
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

// TestHelpAndLists: -h prints a command's flags, an unknown command the
// commands, and --list the cases.
func TestHelpAndLists(t *testing.T) {
	if out := mustRun(t, "train", "-h"); !strings.Contains(out, "Usage of suture train") || !strings.Contains(out, "-epochs") {
		t.Errorf("-h:\n%s", out)
	}
	if code, out := sut(t, "frobnicate"); code != 2 || !strings.Contains(out, `unknown command "frobnicate"`) || !strings.Contains(out, "commands:") {
		t.Errorf("unknown command: exit %d:\n%s", code, out)
	}
	out := mustRun(t, "bench", "--list", "--scale", "small")
	if !strings.Contains(out, "sgemm/96\n") || !strings.Contains(out, "stitch/double\n") || strings.Contains(out, "sgemm/1024") {
		t.Errorf("bench --list --scale small:\n%s", out)
	}
	if out := mustRun(t, "profile", "--list", "--size", "32"); !strings.Contains(out, "unet/train\n") || !strings.Contains(out, "sgemm/1024\n") {
		t.Errorf("profile --list:\n%s", out)
	}
}

func TestDemoQuick(t *testing.T) {
	out := mustRun(t, "demo", "--quick", "--out", t.TempDir())
	for _, want := range []string{"a&b", "stitch-ensemble", "test a", "sweep.png"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
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
	out := mustRun(t, "train", "--data", "synth:a:36:16", "--out", t.TempDir(), "--epochs", "1",
		"--iters", "1", "--batch", "2", "--features", "4,8")
	if !strings.Contains(out, "on cpu") || note.Len() != 0 {
		t.Errorf("--backend auto in a cpu-only build: output\n%s\nnotice %q", out, note.String())
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

// checkRunProfile checks the files of --profile DIR: the JSON rows of three
// steps add up to the step, and a row of a vertex starting with vertex in
// phase exists.
func checkRunProfile(t *testing.T, dir, vertex, phase string) {
	t.Helper()
	rows, total := readProfileRows(t, filepath.Join(dir, "profile.jsonl"))
	if total["calls"].(float64) != 3 {
		t.Errorf("%s: %v steps recorded, want 3", dir, total["calls"])
	}
	checkSelfSum(t, rows, total)
	found := false
	for _, r := range rows {
		found = found || strings.HasPrefix(r["vertex"].(string), vertex) && r["phase"] == phase
	}
	if !found {
		t.Errorf("%s: no row of vertex %s in phase %s", dir, vertex, phase)
	}
	checkProfile(t, filepath.Join(dir, "cpu.pprof"))
	for _, f := range []string{"profile.txt", "trace.json", "go.trace"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkTraceNests(t, data)
}

// readProfileRows reads JSON lines of `suture profile --json`: the rows,
// then the total row.
func readProfileRows(t *testing.T, path string) ([]map[string]any, map[string]any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parseProfileRows(t, string(data))
}

func parseProfileRows(t *testing.T, out string) ([]map[string]any, map[string]any) {
	t.Helper()
	var rows []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON row: %q (%v)", line, err)
		}
		for _, k := range []string{"op", "vertex", "phase", "calls", "ms", "self_ms", "gflops", "frac_step"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("row %q lacks %q", line, k)
			}
		}
		rows = append(rows, m)
	}
	if len(rows) < 2 || rows[len(rows)-1]["op"] != "total" {
		t.Fatalf("%d rows, the last not the total:\n%s", len(rows), out)
	}
	return rows[:len(rows)-1], rows[len(rows)-1]
}

// checkSelfSum: the rows' self times add up to within 5% of the step.
func checkSelfSum(t *testing.T, rows []map[string]any, total map[string]any) {
	t.Helper()
	var sum float64
	for _, r := range rows {
		sum += r["self_ms"].(float64)
	}
	step := total["ms"].(float64)
	if step <= 0 || sum < 0.95*step || sum > 1.05*step {
		t.Errorf("rows' self times add up to %.3f ms, the step took %.3f ms", sum, step)
	}
}

// checkTraceNests parses a Chrome trace: on every track, slices start in
// order and nest.
func checkTraceNests(t *testing.T, data []byte) {
	t.Helper()
	var f struct {
		TraceEvents []struct {
			Name    string
			Ph      string
			TS, Dur float64
			TID     int
		}
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("trace: %v", err)
	}
	ends, last := map[int][]float64{}, map[int]float64{}
	n := 0
	for _, e := range f.TraceEvents {
		if e.Ph != "X" {
			continue
		}
		n++
		if l, ok := last[e.TID]; ok && e.TS < l {
			t.Fatalf("trace track %d: %q starts before the slice before it", e.TID, e.Name)
		}
		last[e.TID] = e.TS
		st := ends[e.TID]
		for len(st) > 0 && e.TS >= st[len(st)-1]-1e-6 {
			st = st[:len(st)-1]
		}
		if len(st) > 0 && e.TS+e.Dur > st[len(st)-1]+1e-6 {
			t.Fatalf("trace track %d: %q ends after the slice it starts in", e.TID, e.Name)
		}
		ends[e.TID] = append(st, e.TS+e.Dur)
	}
	if n == 0 {
		t.Fatal("trace has no slices")
	}
}

// TestProfileCommand: `suture profile --case stitch/double --json` on a tiny
// case prints its rows, sorted by self time, adding up to the step, and
// writes a trace that nests; without --json it prints the table.
func TestProfileCommand(t *testing.T) {
	dir := t.TempDir()
	tr := filepath.Join(dir, "trace.json")
	out := mustRun(t, "profile", "--case", "stitch/double", "--size", "32", "--batch", "2", "--warmup", "1", "--steps", "2",
		"--json", "--trace", tr)
	rows, total := parseProfileRows(t, out)
	if total["calls"].(float64) != 2 {
		t.Errorf("total row %v: want 2 steps", total)
	}
	checkSelfSum(t, rows, total)
	prev := rows[0]["self_ms"].(float64)
	for _, r := range rows {
		if s := r["self_ms"].(float64); s > prev {
			t.Fatalf("rows not sorted by self time: %v after %v ms", s, prev)
		} else {
			prev = s
		}
	}
	data, err := os.ReadFile(tr)
	if err != nil {
		t.Fatal(err)
	}
	checkTraceNests(t, data)
	table := mustRun(t, "profile", "--case", "unet/tr", "--size", "32", "--batch", "1", "--warmup", "0", "--steps", "1", "--rows", "3")
	for _, want := range []string{"by op", "by vertex", "by phase", "optimizer", "backward"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
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

// TestExperimentCommands: plan, run, status and report of the quick plan
// from the command line, and one clear error for a plan with a bad fold.
func TestExperimentCommands(t *testing.T) {
	dir := t.TempDir()
	plan, res, rep := filepath.Join(dir, "quick.json"), filepath.Join(dir, "res"), filepath.Join(dir, "rep")
	out := mustRun(t, "experiment", "plan", "--a", "synth:a", "--b", "synth:b", "--quick", "--out", plan)
	if !strings.Contains(out, "wrote") || !strings.Contains(out, "total") {
		t.Errorf("experiment plan:\n%s", out)
	}
	out = mustRun(t, "experiment", "run", "--plan", plan, "--dir", res, "--workers", "2")
	if !strings.Contains(out, "[81/81]") {
		t.Errorf("experiment run:\n%s", out)
	}
	if out := mustRun(t, "experiment", "status", "--dir", res); !strings.Contains(out, "81 done, 0 running, 0 pending, 0 failed") {
		t.Errorf("experiment status:\n%s", out)
	}
	mustRun(t, "experiment", "report", "--dir", res, "--out", rep)
	if _, err := os.Stat(filepath.Join(rep, "report.md")); err != nil {
		t.Error(err)
	}
	b, _ := os.ReadFile(plan)
	writeFile(t, plan, strings.Replace(string(b), "\"folds\": [\n    0,", "\"folds\": [\n    9,", 1))
	code, out := sut(t, "experiment", "run", "--plan", plan, "--dir", filepath.Join(dir, "res2"))
	if code != 1 || !strings.Contains(out, "fold 9 outside 0..4") || strings.Count(out, "\n") != 1 {
		t.Errorf("bad plan: exit %d: %s", code, out)
	}
}
