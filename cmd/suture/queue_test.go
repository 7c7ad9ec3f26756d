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

// TestWorkerNoServer: a worker whose server is not there says so while it
// tries again, and gives up at --idle-exit or --connect-timeout.
func TestWorkerNoServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "nats://" + l.Addr().String()
	l.Close() // nothing listens there
	for _, limit := range []string{"--idle-exit", "--connect-timeout"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		var out syncBuffer
		err := runWorker(ctx, []string{"--queue", url, "--party", "a=synth:a:48:16", limit, "1s"}, &out)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "gave up waiting for the server after 1s ("+limit+")") {
			t.Errorf("%s 1s, no server: %v", limit, err)
		}
		if !strings.Contains(out.String(), "connection refused; trying again for up to 1s ("+limit+")") {
			t.Errorf("%s 1s, no server: the worker printed %q", limit, out.String())
		}
	}
}

// TestWorkerWrongPassword: a worker refused by the server says the
// authorization failed.
func TestWorkerWrongPassword(t *testing.T) {
	srv, err := cluster.Serve(cluster.ServeOptions{Listen: "127.0.0.1:0", Store: t.TempDir(), User: "site", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	for _, pw := range [][]string{{"--password", "wrong"}, nil} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		args := append([]string{"--queue", "nats://" + srv.Addr(), "--party", "a=synth:a:48:16", "--user", "site"}, pw...)
		err := runWorker(ctx, args, io.Discard)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "authorization failed") || strings.Contains(err.Error(), "JetStream") {
			t.Errorf("%v: %v", pw, err)
		}
	}
}

// TestQueueServeMistakes: a store another server holds, and a port in
// use, are refused at once, saying why.
func TestQueueServeMistakes(t *testing.T) {
	store := t.TempDir()
	srv, err := cluster.Serve(cluster.ServeOptions{Listen: "127.0.0.1:0", Store: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--store", store, "--listen", "127.0.0.1:0"}, "--store: store " + store + " is in use"},
		{[]string{"serve", "--store", t.TempDir(), "--listen", srv.Addr()}, "address already in use"},
	} {
		// Serving would go on until the context ends: end it, so that a
		// server wrongly started does not hang the test.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var out bytes.Buffer
		err := runQueue(ctx, c.args, &out)
		cancel()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("queue %s: %v (printed %q), want an error with %q", strings.Join(c.args, " "), err, out.String(), c.want)
		}
	}
}
