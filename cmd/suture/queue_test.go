package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"suture/cluster"
)

// syncBuffer is a buffer two goroutines may write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestQueueCommands: a one-fold plan through `experiment run --queue`
// with a `worker` holding both parties' data, then `experiment status
// --queue` and `experiment report --queue`.
func TestQueueCommands(t *testing.T) {
	dir := t.TempDir()
	srv, err := cluster.Serve(cluster.ServeOptions{Listen: "127.0.0.1:0", Store: filepath.Join(dir, "store")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	url := "nats://" + srv.Addr()
	plan := filepath.Join(dir, "q.json")
	mustRun(t, "experiment", "plan", "--a", "synth:a", "--b", "synth:b", "--quick", "--folds", "0", "--drop", "a + b", "--drop", "a || b",
		"--no-estimate", "--out", plan)
	code, msg := sut(t, "experiment", "plan", "--a", "/nowhere/a", "--b", "/nowhere/b", "--quick", "--out", filepath.Join(dir, "x.json"))
	if code != 2 || !strings.Contains(msg, "dataset /nowhere/a") {
		t.Errorf("a plan of data not here: exit %d, %q", code, msg)
	}
	mustRun(t, "experiment", "plan", "--a", "/nowhere/a", "--b", "/nowhere/b", "--quick", "--data-elsewhere", "--out", filepath.Join(dir, "x.json"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var wout syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runWorker(ctx, []string{"--queue", url, "--party", "a=synth:a:48:16", "--party", "b=synth:b:48:16", "--name", "both",
			"--threads", "1", "--idle-exit", "4s"}, &wout)
	}()
	var out bytes.Buffer
	if err := runExperiment(ctx, []string{"run", "--plan", plan, "--queue", url, "--ack-wait", "5s"}, &out); err != nil {
		t.Fatalf("%v\n%s\nworker:\n%s", err, out.String(), wout.String())
	}
	if !strings.Contains(out.String(), "done by both") || !strings.Contains(out.String(), "all jobs of plan \"q\" done on the queue") {
		t.Errorf("run --queue printed:\n%s", out.String())
	}
	out.Reset()
	if err := runExperiment(ctx, []string{"status", "--queue", url, "--all"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "0 pending, 0 failed") || !strings.Contains(out.String(), "done     fold 0: train a (by both,") {
		t.Errorf("status --queue printed:\n%s", out.String())
	}
	out.Reset()
	rep := filepath.Join(dir, "report")
	if err := runExperiment(ctx, []string{"report", "--queue", url, "--out", rep}, &out); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(rep, "report.md"))
	if err != nil || !bytes.Contains(md, []byte("| `a <-[a]-> b (s1)` |")) {
		t.Errorf("report --queue: %v\n%s", err, md)
	}
	// The worker stops by itself once idle (--idle-exit).
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("worker: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the worker did not stop when idle")
	}
	if !strings.Contains(wout.String(), "no job for") || !strings.Contains(wout.String(), "worker stopped") {
		t.Errorf("worker printed:\n%s", wout.String())
	}
}

// TestQueueFlagMistakes: one clear error per mistake.
func TestQueueFlagMistakes(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"worker", "--party", "a=x"}, "--queue is required"},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1"}, "--party is required"},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1", "--party", "c=x"}, `"c=x": want a=DIR or b=DIR`},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1", "--party", "a=x", "--party", "a=y"}, "party a given twice"},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1", "--party", "a=x", "--allow", "train,steal"}, `unknown job category "steal"`},
		{[]string{"experiment", "run", "--plan", "p.json", "--queue", "nats://127.0.0.1:1", "--workers", "2"}, "the workers' own"},
		{[]string{"experiment", "status"}, "--dir or --queue is required"},
		{[]string{"experiment", "plan", "--a", "synth:a", "--b", "synth:b", "--drop", "a ++ b", "--out", "x.json"}, `--drop "a ++ b": not an approach`},
		{[]string{"queue", "serve"}, "--store is required"},
		{[]string{"queue", "serve", "--store", "s", "--user", "u"}, "--user needs --password"},
		{[]string{"queue"}, "want the subcommand serve"},
	} {
		code, out := sut(t, c.args...)
		if code != 2 || !strings.Contains(out, c.want) || strings.Count(out, "\n") != 1 {
			t.Errorf("suture %s: exit %d, %q; want exit 2 and one line with %q", strings.Join(c.args, " "), code, out, c.want)
		}
	}
	code, out := sut(t, "experiment", "status", "--queue", "nats://127.0.0.1:1")
	if code != 1 || !strings.Contains(out, "NATS server nats://127.0.0.1:1") {
		t.Errorf("unreachable server: exit %d, %q", code, out)
	}
}
