package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"suture/kernels/cpu"
)

// The bad-input probe of the newest surfaces (instruction-set paths,
// --precision, plan precision, --gobench, distillation): each case runs the
// CLI in a child process (SUTURE_ISA is read when a process starts) and
// must end with the expected exit status and one line on stderr, with no
// stack trace. The commands and messages are written to docs/probe.md;
// `go test ./cmd/suture -run TestProbe -update` rewrites it.

var update = flag.Bool("update", false, "rewrite docs/probe.md from the probe's messages")

// probeMainEnv makes the test binary run the CLI instead of the tests.
const probeMainEnv = "SUTURE_TEST_RUN_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(probeMainEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

type probeCase struct {
	what string
	env  []string // KEY=VALUE
	args []string // DIR in an argument is the case's scratch folder
	code int
	// needs is a condition of this machine the case depends on ("bf16":
	// AVX512_BF16 and the avx512 path by default); a case whose condition
	// does not hold is skipped and left out of the document.
	needs string
}

func probeCases() []probeCase {
	return []probeCase{
		{what: "unknown path in SUTURE_ISA", env: []string{"SUTURE_ISA=avx9"}, args: []string{"bench", "--case", "sgemm"}, code: 1},
		{what: "a path name with a typo", env: []string{"SUTURE_ISA=avx-512"}, args: []string{"train", "--data", "synth:a:8:16", "--out", "DIR/r"}, code: 1},
		{what: "SUTURE_ISA on the profile command", env: []string{"SUTURE_ISA=sse4"}, args: []string{"profile", "--case", "sgemm"}, code: 1},
		{what: "SUTURE_ISA with a number", env: []string{"SUTURE_ISA=512"}, args: []string{"stitch", "--a", "DIR/a", "--b", "DIR/b", "--data", "synth:a", "--out", "DIR/s"}, code: 1},
		{what: "bf16 on the ref path", env: []string{"SUTURE_ISA=ref"}, args: []string{"bench", "--case", "sgemm", "--precision", "bf16"}, code: 1, needs: "bf16"},
		{what: "bf16 on the avx2 path", env: []string{"SUTURE_ISA=avx2"}, args: []string{"train", "--data", "synth:a:8:16", "--out", "DIR/r", "--precision", "bf16", "--epochs", "1"}, code: 1, needs: "bf16"},
		{what: "bf16 on the reference backend", args: []string{"bench", "--case", "sgemm", "--backend", "cpu-ref", "--precision", "bf16"}, code: 1},
		{what: "bf16 profile on the reference backend", args: []string{"profile", "--case", "sgemm", "--backend", "cpu-ref", "--precision", "bf16"}, code: 1},
		{what: "unknown precision (train)", args: []string{"train", "--data", "synth:a:8:16", "--out", "DIR/r", "--precision", "fp16"}, code: 2},
		{what: "unknown precision (stitch)", args: []string{"stitch", "--a", "DIR/a", "--b", "DIR/b", "--data", "synth:a", "--out", "DIR/s", "--precision", "half"}, code: 2},
		{what: "unknown precision (bench)", args: []string{"bench", "--case", "sgemm", "--precision", "int8"}, code: 2},
		{what: "unknown precision (profile)", args: []string{"profile", "--case", "sgemm", "--precision", "tf32"}, code: 2},
		{what: "empty precision", args: []string{"train", "--data", "synth:a:8:16", "--out", "DIR/r", "--precision", ""}, code: 2},
		{what: "precision in capitals", args: []string{"bench", "--case", "sgemm", "--precision", "BF16"}, code: 2},
		{what: "--precision without a value", args: []string{"bench", "--case", "sgemm", "--precision"}, code: 2},
		{what: "--gobench with --json", args: []string{"bench", "--case", "sgemm", "--gobench", "--json"}, code: 2},
		{what: "--gobench with --vs-torch", args: []string{"bench", "--case", "sgemm", "--gobench", "--vs-torch", "--reps", "1", "--warmup", "1"}, code: 2},
		{what: "a plan with an unknown precision", args: []string{"experiment", "run", "--plan", "DIR/plan-fp16.json", "--dir", "DIR/res"}, code: 1},
		{what: "a plan whose precision is a number", args: []string{"experiment", "run", "--plan", "DIR/plan-num.json", "--dir", "DIR/res2"}, code: 1},
		{what: "resume a bf16 run asking for fp32", args: []string{"train", "--out", "DIR/bf16run", "--resume", "--precision", "fp32"}, code: 2, needs: "bf16"},
		{what: "resume an fp32 run asking for bf16", args: []string{"train", "--out", "DIR/fp32run", "--resume", "--precision", "bf16"}, code: 2},
		{what: "distill without --teacher", args: []string{"distill", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--out", "DIR/s1.ckpt"}, code: 2},
		{what: "distill without --out", args: []string{"distill", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--epochs", "1", "--iters", "1", "--batch", "4"}, code: 2},
		{what: "a teacher that is a plain U-Net", args: []string{"distill", "--teacher", "DIR/ra/last.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--out", "DIR/s2.ckpt"}, code: 1},
		{what: "a teacher file that does not exist", args: []string{"distill", "--teacher", "DIR/nosuch.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--out", "DIR/s3.ckpt"}, code: 1},
		{what: "a teacher that is not a checkpoint", args: []string{"distill", "--teacher", "DIR/plan.json", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--out", "DIR/s4.ckpt"}, code: 1},
		{what: "--net that names a base network", args: []string{"distill", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--epochs", "1", "--iters", "1", "--batch", "4", "--net", "a", "--out", "DIR/s5.ckpt"}, code: 2},
		{what: "--net stitch-ensemble out of range", args: []string{"distill", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--epochs", "1", "--iters", "1", "--batch", "4", "--net", "stitch-ensemble:99", "--out", "DIR/s6.ckpt"}, code: 1},
		{what: "--net stitch-ensemble without a number", args: []string{"distill", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--epochs", "1", "--iters", "1", "--batch", "4", "--net", "stitch-ensemble:x", "--out", "DIR/s7.ckpt"}, code: 2},
		{what: "temperature zero", args: []string{"distill", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--epochs", "1", "--iters", "1", "--batch", "4", "--temperature", "0", "--out", "DIR/s8.ckpt"}, code: 2},
		{what: "negative temperature", args: []string{"distill", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--epochs", "1", "--iters", "1", "--batch", "4", "--temperature", "-2", "--out", "DIR/s9.ckpt"}, code: 2},
		{what: "negative alpha", args: []string{"distill", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--epochs", "1", "--iters", "1", "--batch", "4", "--alpha", "-1", "--out", "DIR/s10.ckpt"}, code: 2},
		{what: "zero epochs", args: []string{"distill", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--epochs", "1", "--iters", "1", "--batch", "4", "--epochs", "0", "--out", "DIR/s11.ckpt"}, code: 2},
		{what: "negative learning rate", args: []string{"distill", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--epochs", "1", "--iters", "1", "--batch", "4", "--lr", "-1", "--out", "DIR/s12.ckpt"}, code: 2},
		{what: "a student config that does not exist", args: []string{"distill", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--epochs", "1", "--iters", "1", "--batch", "4", "--student", "DIR/nosuch.json", "--out", "DIR/s13.ckpt"}, code: 1},
		{what: "images of another size than the teacher's", args: []string{"distill", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--epochs", "1", "--iters", "1", "--batch", "4", "--data", "synth:a:36:32", "--out", "DIR/s14.ckpt"}, code: 1},
		{what: "an unlabelled folder that does not exist", args: []string{"distill", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--epochs", "1", "--iters", "1", "--batch", "4", "--unlabelled", "DIR/nosuch", "--out", "DIR/s15.ckpt"}, code: 1},
		{what: "--out is the teacher itself", args: []string{"distill", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--epochs", "1", "--iters", "1", "--batch", "4", "--out", "DIR/st.ckpt"}, code: 1},
		{what: "--out is the teacher itself, with --force", args: []string{"distill", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--force", "--out", "DIR/st.ckpt"}, code: 1},
		{what: "--resume of a student that does not exist", args: []string{"distill", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--epochs", "1", "--iters", "1", "--batch", "4", "--resume", "--out", "DIR/s16.ckpt"}, code: 1},
		{what: "--resume and --force together", args: []string{"distill", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--epochs", "1", "--iters", "1", "--batch", "4", "--resume", "--force", "--out", "DIR/s17.ckpt"}, code: 2},
		{what: "unknown precision (distill)", args: []string{"distill", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1", "--data", "synth:a:36:16", "--epochs", "1", "--iters", "1", "--batch", "4", "--precision", "fp8", "--out", "DIR/s18.ckpt"}, code: 2},
		{what: "distill cost without --student", args: []string{"distill", "cost", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1"}, code: 2},
		{what: "distill cost with zero rounds", args: []string{"distill", "cost", "--teacher", "DIR/st.ckpt", "--net", "stitch-ensemble:1", "--student", "DIR/ra/last.ckpt", "--rounds", "0"}, code: 2},
	}
}

// probeSetup makes the files the cases name: plans with a bad precision,
// and a finished FP32 (and, where the CPU can, BF16) run to resume.
func probeSetup(t *testing.T, dir string) {
	t.Helper()
	mustRun(t, "experiment", "plan", "--a", "synth:a", "--b", "synth:b", "--quick", "--out", filepath.Join(dir, "plan.json"))
	plan, err := os.ReadFile(filepath.Join(dir, "plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"plan-fp16.json": `"fp16"`, "plan-num.json": `16`} {
		p := bytes.Replace(plan, []byte("{\n"), []byte("{\n  \"precision\": "+v+",\n"), 1)
		if err := os.WriteFile(filepath.Join(dir, name), p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tinyTrain(t, filepath.Join(dir, "fp32run"), "a", "--epochs", "3", "--budget", "1ns")
	// A stitched teacher of two tiny U-Nets, for the distillation cases.
	ra, rb := filepath.Join(dir, "ra"), filepath.Join(dir, "rb")
	tinyTrain(t, ra, "a")
	tinyTrain(t, rb, "b")
	mustRun(t, "stitch", "--a", filepath.Join(ra, "last.ckpt"), "--b", filepath.Join(rb, "last.ckpt"), "--data", "synth:a:36:16",
		"--points", "stage", "--epochs", "1", "--iters", "2", "--batch", "4", "--out", filepath.Join(dir, "st.ckpt"))
	if probeHasBF16() {
		tinyTrain(t, filepath.Join(dir, "bf16run"), "a", "--epochs", "3", "--budget", "1ns", "--precision", "bf16")
	}
}

func probeHasBF16() bool { return cpu.HasBF16() && cpu.CurrentISA() == cpu.ISAAVX512 }

var tempPath = regexp.MustCompile(`/tmp/[^ :'"]*?/\d{3}`)

func TestProbe(t *testing.T) {
	dir := t.TempDir()
	probeSetup(t, dir)
	var doc bytes.Buffer
	doc.WriteString("# Bad-input probe of the newest surfaces\n\n" +
		"Generated by `go test ./cmd/suture -run TestProbe -update` (cmd/suture/probe_test.go),\n" +
		"which runs each command in a child process and checks its exit status and that it\n" +
		"prints one line and no stack trace. DIR is a scratch folder. Cases that need a CPU\n" +
		"with AVX512_BF16 are marked (bf16); on another CPU they are skipped.\n\n" +
		"| # | what | command | exit | message |\n|---|---|---|---|---|\n")
	for i, c := range probeCases() {
		if c.needs == "bf16" && !probeHasBF16() {
			t.Logf("case %d (%s) skipped: it needs AVX512_BF16 and the avx512 path", i+1, c.what)
			continue
		}
		args := make([]string, len(c.args))
		for j, a := range c.args {
			args[j] = strings.ReplaceAll(a, "DIR", dir)
		}
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(append(os.Environ(), probeMainEnv+"=1"), c.env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		msg := strings.TrimRight(stderr.String(), "\n")
		if code == 2 && strings.Contains(msg, "\nUsage of") { // a flag error prints the usage after its line
			msg = msg[:strings.Index(msg, "\nUsage of")]
		}
		switch {
		case code != c.code:
			t.Errorf("case %d (%s): exit %d, want %d\nstderr: %s", i+1, c.what, code, c.code, stderr.String())
		case strings.Contains(stderr.String(), "goroutine ") || strings.Contains(stderr.String(), "panic"):
			t.Errorf("case %d (%s): a stack trace:\n%s", i+1, c.what, stderr.String())
		case msg == "" || strings.Contains(msg, "\n"):
			t.Errorf("case %d (%s): want one line on stderr, got %q", i+1, c.what, msg)
		}
		shown := strings.ReplaceAll(strings.ReplaceAll(msg, dir, "DIR"), "|", "\\|")
		shown = tempPath.ReplaceAllString(shown, "DIR")
		env := strings.Join(c.env, " ")
		if env != "" {
			env += " "
		}
		needs := ""
		if c.needs != "" {
			needs = " (" + c.needs + ")"
		}
		fmt.Fprintf(&doc, "| %d | %s%s | `%ssuture %s` | %d | %s |\n", i+1, c.what, needs, env, strings.Join(c.args, " "), code, shown)
	}
	path := filepath.Join("..", "..", "docs", "probe.md")
	if *update {
		if err := os.WriteFile(path, doc.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !probeHasBF16() {
		t.Logf("not compared with docs/probe.md: this CPU skips the bf16 cases\n%s", doc.String())
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, doc.Bytes()) {
		t.Errorf("the probe's messages differ from docs/probe.md (rerun with -update if the change is meant):\n%s", doc.String())
	}
}
