package main

import (
	"bytes"
	"context"
	"io"
	"net"
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

// TestQueueCommands: a plan of data elsewhere is written; a one-fold plan
// goes through `experiment run --queue` with a `worker` holding both
// parties' data, then `experiment status --queue` and `experiment report
// --queue`. (Their mistakes are cases of testdata/usage.txt.)
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
	mustRun(t, "experiment", "plan", "--a", "/nowhere/a", "--b", "/nowhere/b", "--quick", "--data-elsewhere", "--out", filepath.Join(dir, "x.json"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The worker runs until the test stops it: --idle-exit is tested below
	// on an empty queue, where being idle does not race the run's pace.
	wctx, stopWorker := context.WithCancel(ctx)
	defer stopWorker()
	var wout syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runWorker(wctx, []string{"--queue", url, "--party", "a=synth:a:48:16", "--party", "b=synth:b:48:16", "--name", "both",
			"--threads", "1"}, &wout)
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
	stopWorker()
	if err := <-done; err != nil {
		t.Errorf("worker: %v", err)
	}
	// A worker started on a queue with nothing to do stops by itself
	// (--idle-exit).
	var iout syncBuffer
	idle := make(chan error, 1)
	go func() {
		idle <- runWorker(ctx, []string{"--queue", url, "--party", "a=synth:a:48:16", "--name", "idle", "--idle-exit", "1s"}, &iout)
	}()
	select {
	case err := <-idle:
		if err != nil {
			t.Errorf("idle worker: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the worker did not stop when idle")
	}
	if !strings.Contains(iout.String(), "no job for") || !strings.Contains(iout.String(), "worker stopped") {
		t.Errorf("idle worker printed:\n%s", iout.String())
	}
}

// TestQueueConnectionMistakes: a worker whose server is not there says so
// while it tries again, and gives up at --idle-exit or --connect-timeout; a
// worker the server refuses says the authorization failed; a store another
// server holds, and a port in use, are refused at once, saying why.
func TestQueueConnectionMistakes(t *testing.T) {
	store := t.TempDir()
	srv, err := cluster.Serve(cluster.ServeOptions{Listen: "127.0.0.1:0", Store: store, User: "site", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	none := "nats://" + l.Addr().String()
	l.Close() // nothing listens there
	worker := func(url string, more ...string) []string {
		return append([]string{"--queue", url, "--party", "a=synth:a:48:16"}, more...)
	}
	for _, c := range []struct {
		run                 func(context.Context, []string, io.Writer) error
		args                []string
		want, notWant, says string // in the error, not in it, and printed
	}{
		{runWorker, worker(none, "--idle-exit", "1s"), "connection refused: gave up waiting for the server after 1s (--idle-exit)", "",
			"connection refused; trying again for up to 1s (--idle-exit)"},
		{runWorker, worker(none, "--connect-timeout", "1s"), "connection refused: gave up waiting for the server after 1s (--connect-timeout)", "",
			"connection refused; trying again for up to 1s (--connect-timeout)"},
		{runWorker, worker("nats://"+srv.Addr(), "--user", "site", "--password", "wrong"), "authorization failed", "JetStream", ""},
		{runWorker, worker("nats://"+srv.Addr(), "--user", "site"), "authorization failed", "JetStream", ""},
		{runQueue, []string{"serve", "--store", store, "--listen", "127.0.0.1:0"}, "--store: store " + store + " is in use", "", ""},
		{runQueue, []string{"serve", "--store", t.TempDir(), "--listen", srv.Addr()}, "address already in use", "", ""},
	} {
		// A server wrongly started would serve until the context ends.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		var out syncBuffer
		err := c.run(ctx, c.args, &out)
		cancel()
		if err == nil || !strings.Contains(err.Error(), c.want) || c.notWant != "" && strings.Contains(err.Error(), c.notWant) ||
			!strings.Contains(out.String(), c.says) {
			t.Errorf("%s: %v, printed %q; want an error with %q, printing %q", strings.Join(c.args, " "), err, out.String(), c.want, c.says)
		}
	}
}
