package cluster

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"suture/experiment"
)

// TestPolicyStallAndParking: party a's worker alone leaves federated
// averaging waiting for party b, which status says; party b's site
// allows training and evaluation but not stitching, so its stitch job
// waits for a willing worker, with the reason; and federated averaging
// between images of different sizes fails on both sides and is parked
// after the allowed attempts, with its error.
func TestPolicyStallAndParking(t *testing.T) {
	root := t.TempDir()
	p := experiment.QuickPlan("policy", "synth:a", "synth:b")
	p.Folds = []int{0}
	p.Approaches = []string{experiment.ApA, experiment.ApB, experiment.ApFed, experiment.ApStitchB}
	p.B.Data = "synth:b:48:24" // other image size: federated averaging cannot work
	srv := testServer(t, filepath.Join(root, "store"), "")
	t.Cleanup(srv.Shutdown)
	url := "nats://" + srv.Addr()
	q := openQueue(t, url, testAckWait)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stitchID := "fold 0: stitch " + experiment.ApStitchB
	var mu sync.Mutex
	var waits []string
	// stitchWaits is closed once the run has reported the stitch job
	// waiting: the test ends the run only after that event, not after its
	// own look at Status (the run looks at the queue at its own pace).
	stitchWaits := make(chan struct{})
	var once sync.Once
	runErr := make(chan error, 1)
	go func() {
		runErr <- RunPlan(ctx, q, p, QueueRunOptions{MaxAttempts: 2, Poll: 100 * time.Millisecond, Progress: func(e RunEvent) {
			mu.Lock()
			defer mu.Unlock()
			for _, w := range e.Waiting {
				waits = append(waits, w.Job.ID+": "+w.Reason)
				if w.Job.ID == stitchID {
					once.Do(func() { close(stitchWaits) })
				}
			}
		}})
	}()
	// until waits for a job's state to satisfy ok, and returns it.
	until := func(id string, ok func(QueueJobStatus) bool) QueueJobStatus {
		t.Helper()
		var last QueueJobStatus
		for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			_, st, err := Status(ctx, q, "")
			if err != nil {
				continue // the plan may not be stored yet
			}
			for _, s := range st {
				if s.Job.ID == id {
					if last = s; ok(s) {
						return s
					}
				}
			}
		}
		t.Fatalf("%s: state %s (%s), not the one awaited", id, last.State, last.Note)
		return last
	}
	fed := "fold 0: fedavg a || b"
	s := until(fed, func(s QueueJobStatus) bool { return s.State == "waiting" })
	if !strings.Contains(s.Note, "no worker is connected") {
		t.Errorf("with no worker: %s %s", s.State, s.Note)
	}
	wa := startWorker(t, workerConfig{URL: url, Name: "wa", Parties: map[string]string{"a": "synth:a:48:16"}, Cache: filepath.Join(root, "ca")})
	s = until(fed, func(s QueueJobStatus) bool {
		return s.State == "running" && strings.Contains(s.Note, "waiting for party b's data description")
	})
	if !strings.Contains(s.Note, "party a on wa") || !strings.Contains(s.Note, "party b: waiting for a willing worker: no live worker holds party b's data") {
		t.Errorf("party a waiting for b: %s: %s", s.State, s.Note)
	}
	wb := startWorker(t, workerConfig{URL: url, Name: "wb", Parties: map[string]string{"b": "synth:b:48:24"}, Allow: []string{"train", "eval"},
		Cache: filepath.Join(root, "cb")})
	s = until(fed, func(s QueueJobStatus) bool { return s.State == "failed" })
	if !strings.Contains(s.Error, "one image size") || s.Attempts != 2 {
		t.Errorf("federated averaging over two image sizes: %+v", s)
	}
	s = until(stitchID, func(s QueueJobStatus) bool { return s.State == "waiting" })
	if want := "wb: its site does not allow stitch jobs (it allows train,eval)"; !strings.Contains(s.Note, want) {
		t.Errorf("stitch job on a site that does not allow it: %q, want the reason %q", s.Note, want)
	}
	until("fold 0: train b", func(s QueueJobStatus) bool { return s.State == "done" && s.Worker == "wb" })
	select {
	case <-stitchWaits:
	case err := <-runErr:
		t.Fatalf("the run ended before reporting the stitch job waiting: %v", err)
	case <-ctx.Done():
	}
	cancel()
	if err := <-runErr; !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the run, with a job waiting for a willing worker, returned %v", err)
	}
	mu.Lock()
	if !strings.Contains(strings.Join(waits, "\n"), stitchID+": no live worker that holds its data allows it") {
		t.Errorf("the run did not report the stitch job waiting; it reported:\n%s", strings.Join(waits, "\n"))
	}
	mu.Unlock()
	for _, w := range []*proc{wa, wb} {
		if strings.Contains(w.log(), "refused") {
			t.Errorf("worker %s was offered a job it may not run:\n%s", w.name, w.log())
		}
	}
}

// TestSiteRefuses: what a site may run.
func TestSiteRefuses(t *testing.T) {
	p := experiment.QuickPlan("q", "synth:a", "synth:b")
	byID := map[string]*experiment.Job{}
	for _, j := range experiment.Jobs(p) {
		byID[j.ID] = j
	}
	b := Site{Parties: []string{"b"}, Allow: []string{"train", "eval"}}
	ab := Site{Parties: []string{"a", "b"}, Allow: experiment.Categories}
	for _, c := range []struct {
		site        Site
		id, party   string
		want, class string
	}{
		{b, "fold 0: train a", "", "does not hold party a's data", "a.train"},
		{b, "fold 0: train b", "", "", "b.train"},
		{b, "fold 0: finetune a -> b", "", "does not allow finetune", "b.finetune"},
		{b, "fold 0: stitch a <-[b]-> b", "", "does not allow stitch", "b.stitch"},
		{b, "fold 0: stitch a <-[a]-> b", "", "does not hold party a's data", "a.stitch"},
		{b, "fold 0: test a on b", "", "", "b.eval"},
		{b, "fold 0: test a on a", "", "does not hold party a's data", "a.eval"},
		{b, "fold 0: pooled a + b", "", "does not hold party a's data", "ab.train"},
		{b, "fold 0: fedavg a || b", "b", "", "b.fed"},
		{b, "fold 0: fedavg a || b", "a", "does not hold party a's data", "a.fed"},
		{b, "select stitch-ensembles", "", "", "none.select"},
		{ab, "fold 0: pooled a + b", "", "", "ab.train"},
	} {
		j := byID[c.id]
		if j == nil {
			t.Fatalf("no job %q", c.id)
		}
		got := c.site.refuses(j, c.party)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%v, %s (party %q): refuses %q, want %q", c.site.Parties, c.id, c.party, got, c.want)
		}
		if cl := classOf(j, c.party); cl != c.class {
			t.Errorf("%s: class %s, want %s", c.id, cl, c.class)
		}
	}
}

// TestLoaderRefusesOtherParty: a worker reads its own copy of its party's
// data under the plan's name for it (opened once, and logged), and refuses
// the other party's data without opening it.
func TestLoaderRefusesOtherParty(t *testing.T) {
	p := experiment.QuickPlan("q", "/nowhere/kvasir", "/nowhere/cvc")
	var opened []string
	w := &Worker{o: WorkerOptions{Name: "site-b", Parties: map[string]string{"b": "synth:b:12:16"}}, site: Site{Parties: []string{"b"}}}
	w.o.Log = func(s string) { opened = append(opened, s) }
	w.data.Opened = w.logOpened
	load := w.loader(p)
	ds, err := load("/nowhere/cvc", 0)
	if err != nil || ds.Len() != 12 {
		t.Fatalf("party b's data: %v", err)
	}
	if again, err := load("/nowhere/cvc", 0); err != nil || again != ds {
		t.Errorf("party b's data, again: not the dataset opened first (%v)", err)
	}
	if _, err := load("/nowhere/kvasir", 0); err == nil || !strings.Contains(err.Error(), "holds no data") {
		t.Errorf("party a's data on party b's worker: %v", err)
	}
	if _, err := load("/etc", 0); err == nil {
		t.Error("a folder the plan does not name was opened")
	}
	if strings.Join(opened, ",") != "opened party b's data: synth:b:12:16" {
		t.Errorf("opened %v", opened)
	}
}

// TestCheckDigest: a download whose bytes do not match the stored digest
// is refused.
func TestCheckDigest(t *testing.T) {
	if err := checkDigest("k/last.ckpt", "SHA-256=abc", "SHA-256=abc"); err != nil {
		t.Error(err)
	}
	if err := checkDigest("k/last.ckpt", "SHA-256=abc", "SHA-256=abd"); err == nil || !strings.Contains(err.Error(), "k/last.ckpt") {
		t.Errorf("mismatch: %v", err)
	}
	if err := checkDigest("k/last.ckpt", "", ""); err == nil {
		t.Error("an object without a digest was accepted")
	}
}
