package cluster

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"suture/experiment"
)

// TestServeLocksStore: a second server on a store in use is refused,
// naming the holder; once the first stops, the store serves again.
func TestServeLocksStore(t *testing.T) {
	store := t.TempDir()
	s1, err := Serve(ServeOptions{Listen: "127.0.0.1:0", Store: store})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Serve(ServeOptions{Listen: "127.0.0.1:0", Store: store})
	if err == nil {
		s2.Shutdown()
		s1.Shutdown()
		t.Fatal("a second server started on a store in use")
	}
	if !errors.Is(err, experiment.ErrLocked) || !strings.Contains(err.Error(), store) || !strings.Contains(err.Error(), "suture queue serve") {
		t.Errorf("second server on %s: %v, want the store and its holder named", store, err)
	}
	s1.Shutdown()
	s3, err := Serve(ServeOptions{Listen: "127.0.0.1:0", Store: store})
	if err != nil {
		t.Fatalf("after the first server stopped: %v", err)
	}
	s3.Shutdown()
}

// TestServeCannotListen: a port in use, or an address not of this
// machine, is an error that says why, and leaves the store free.
func TestServeCannotListen(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	store := t.TempDir()
	_, err = Serve(ServeOptions{Listen: l.Addr().String(), Store: store})
	if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Errorf("port in use: %v", err)
	}
	// 192.0.2.1 (TEST-NET-1) is no address of this machine.
	_, err = Serve(ServeOptions{Listen: "192.0.2.1:4222", Store: store})
	if err == nil || !strings.Contains(err.Error(), "cannot assign requested address") {
		t.Errorf("an address not of this machine: %v", err)
	}
	s, err := Serve(ServeOptions{Listen: "127.0.0.1:0", Store: store})
	if err != nil {
		t.Fatalf("the store after failed starts: %v", err)
	}
	s.Shutdown()
}

// TestDialGivesUp: with Retry, a server that is not there is tried again,
// the cause said, and given up after Wait.
func TestDialGivesUp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // a port nothing listens on
	var told []string
	_, err = Dial(context.Background(), ConnectOptions{URL: "nats://" + addr, Retry: true, Wait: 300 * time.Millisecond,
		Retrying: func(err error) { told = append(told, err.Error()) }})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("no server: %v", err)
	}
	if len(told) == 0 || !strings.Contains(told[0], "connection refused") {
		t.Errorf("the retries were told %q", told)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Dial(ctx, ConnectOptions{URL: "nats://" + addr, Retry: true}); !errors.Is(err, context.Canceled) {
		t.Errorf("no server, context ended: %v", err)
	}
}

// TestPlanNotHeld: asking for a plan the queue does not hold names it and
// the plans it holds.
func TestPlanNotHeld(t *testing.T) {
	srv := testServer(t, t.TempDir(), "")
	t.Cleanup(srv.Shutdown)
	q := openQueue(t, "nats://"+srv.Addr(), 0)
	ctx := context.Background()
	if _, err := q.Plan(ctx, "nosuch"); err == nil || !strings.Contains(err.Error(), `"nosuch"`) {
		t.Errorf("no plan at all: %v", err)
	}
	if _, err := bindQueuePlan(ctx, q, experiment.QuickPlan("held", "synth:a", "synth:b"), 3); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Status(ctx, q, "nosuch"); err == nil || !strings.Contains(err.Error(), `no plan named "nosuch" (it holds: held)`) {
		t.Errorf("another plan held: %v", err)
	}
	if p, err := q.Plan(ctx, "held"); err != nil || p.Name != "held" {
		t.Errorf("the plan held: %v", err)
	}
}

// TestCheckParties: a site's data is checked before any job needs it.
func TestCheckParties(t *testing.T) {
	dir := t.TempDir()
	writeParty(t, "a", filepath.Join(dir, "a"), 16)
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckParties(map[string]string{"a": filepath.Join(dir, "a"), "b": "synth:b:12:16"}); err != nil {
		t.Errorf("good data: %v", err)
	}
	for _, c := range []struct {
		parties map[string]string
		want    string
	}{
		{map[string]string{"a": filepath.Join(dir, "missing")}, "party a's data " + filepath.Join(dir, "missing")},
		{map[string]string{"b": file}, "not a folder"},
		{map[string]string{"a": dir}, "unknown layout"},
		{map[string]string{"a": "synth:a:zero"}, "synth:a:zero"},
		{map[string]string{"c": "synth:a"}, `party "c"`},
		{map[string]string{}, "no party's data"},
	} {
		if err := CheckParties(c.parties); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.parties, err, c.want)
		}
	}
}
