package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"suture/experiment"
	"suture/io/imageset"
	"suture/kernels"
	"suture/kernels/cpu"
)

// Tests give up on unanswered requests and silent transfers sooner than
// the defaults, so that what a server restart loses is retried quickly.
const (
	testTimeout = 5 * time.Second
	testStall   = 3 * time.Second
)

// testAckWait is the tests' ack wait: short, so that a killed worker's
// job is offered again soon, but long enough that a worker slowed by a
// loaded machine keeps its heartbeat (every quarter of it) in time and its
// job is not offered twice.
const testAckWait = 6 * time.Second

// queuedRunLimit bounds the queued run of TestQuickPlanOnQueue.
var queuedRunLimit = 3 * time.Minute

// Workers run as separate processes (this test binary started again), so
// that a test can kill one outright.
const workerEnv = "SUTURE_CLUSTER_TEST_WORKER"

// workerConfig is a test worker's configuration, passed in workerEnv.
type workerConfig struct {
	URL     string            `json:"url"`
	Name    string            `json:"name"`
	Parties map[string]string `json:"parties"`
	Allow   []string          `json:"allow,omitempty"`
	Cache   string            `json:"cache"`
	// Hold sets testHold in the worker process (a job kind).
	Hold string `json:"hold,omitempty"`
}

func TestMain(m *testing.M) {
	if cfg := os.Getenv(workerEnv); cfg != "" {
		os.Exit(workerMain(cfg))
	}
	os.Exit(m.Run())
}

// workerMain is a worker process: it runs until SIGTERM or until the
// test that started it is gone (its stdin closes).
func workerMain(cfg string) int {
	var c workerConfig
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		fmt.Println("worker config:", err)
		return 2
	}
	testHold = c.Hold
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	nc, err := Connect(ConnectOptions{URL: c.URL, Name: c.Name, Retry: true})
	if err != nil {
		fmt.Println("connect:", err)
		return 1
	}
	defer nc.Close()
	var q *Queue
	for range 100 {
		if q, err = Open(ctx, nc, 0); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		fmt.Println("open:", err)
		return 1
	}
	q.timeout, q.stall = testTimeout, testStall
	var mu sync.Mutex
	err = RunWorker(ctx, q, WorkerOptions{Name: c.Name, Parties: c.Parties, Allow: c.Allow, Jobs: 1, Cache: c.Cache,
		Poll: 50 * time.Millisecond, Backend: func() (kernels.Backend, error) { return cpu.New(1), nil },
		Log: func(s string) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Println(time.Now().Format("15:04:05.000"), s)
		}})
	if err != nil {
		fmt.Println("worker:", err)
		return 1
	}
	return 0
}

// proc is a worker process and its output.
type proc struct {
	name string
	cmd  *exec.Cmd
	in   io.WriteCloser
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// startWorker starts a worker process; the test's cleanup stops it.
func startWorker(t *testing.T, c workerConfig, env ...string) *proc {
	t.Helper()
	b, _ := json.Marshal(c)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), workerEnv+"="+string(b)), env...)
	p := &proc{name: c.Name, cmd: cmd, done: make(chan struct{})}
	var err error
	if p.in, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	r, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.in.Close() // a polite stop
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() || os.Getenv("SUTURE_TEST_LOGS") != "" {
			t.Logf("worker %s:\n%s", p.name, p.log())
		}
	})
	return p
}

// waitLog waits until the process has logged a line matching re.
func (p *proc) waitLog(t *testing.T, re *regexp.Regexp, within time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(p.log()); m != nil {
			return m
		}
		select {
		case <-p.done:
			t.Fatalf("worker %s ended:\n%s", p.name, p.log())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("worker %s logged no %q within %v:\n%s", p.name, re, within, p.log())
	return nil
}

// testServer starts an embedded server on a free loopback port.
func testServer(t *testing.T, store string, addr string) *Server {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	s, err := Serve(ServeOptions{Listen: addr, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openQueue(t *testing.T, url string, ackWait time.Duration) *Queue {
	t.Helper()
	nc, err := Connect(ConnectOptions{URL: url, Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	q, err := Open(context.Background(), nc, ackWait)
	if err != nil {
		t.Fatal(err)
	}
	q.timeout, q.stall = testTimeout, testStall
	return q
}

func writeParty(t *testing.T, party, dir string, size int) {
	t.Helper()
	ds, err := imageset.Synth(party, 48, size, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := imageset.WriteFolderPair(dir, ds.Samples); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}

// TestQuickPlanOnQueue is the --quick experiment on synthetic parties run
// by three worker processes: w1 holds party a's data, w2 both parties'
// (it alone may train on pooled data), w3 party b's. w1 is killed
// (SIGKILL) in the middle of a training job and the server is restarted
// mid-run. The report must be byte-identical to the local run's, every
// job must complete exactly once, the killed job must resume elsewhere
// from its stored checkpoint, and w3 must never open party a's data: the
// plan's copy of it no longer exists, and w3 is told only where b's is.
func TestQuickPlanOnQueue(t *testing.T) {
	root := t.TempDir()
	dataA, dataB := filepath.Join(root, "data-a"), filepath.Join(root, "data-b")
	writeParty(t, "a", dataA, 16)
	writeParty(t, "b", dataB, 16)
	p := experiment.QuickPlan("quick", dataA, dataB)
	oneThread := func() (kernels.Backend, error) { return cpu.New(1), nil }
	start := time.Now()
	local := filepath.Join(root, "local")
	if err := experiment.RunPlan(context.Background(), p, local, experiment.RunOptions{Workers: 2, Backend: oneThread}); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(root, "report-local")
	if _, err := experiment.Report(local, want); err != nil {
		t.Fatal(err)
	}
	t.Logf("local run and report: %v", time.Since(start))

	// Each site's own copy; the plan's folders go away.
	a1, a2, b2, b3 := filepath.Join(root, "site1", "a"), filepath.Join(root, "site2", "a"), filepath.Join(root, "site2", "b"), filepath.Join(root, "site3", "b")
	copyDir(t, dataA, a1)
	copyDir(t, dataA, a2)
	copyDir(t, dataB, b2)
	copyDir(t, dataB, b3)
	if err := os.RemoveAll(dataA); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dataB); err != nil {
		t.Fatal(err)
	}

	store := filepath.Join(root, "store")
	srv := testServer(t, store, "")
	addr := srv.Addr()
	t.Cleanup(func() { srv.Shutdown() }) // after the workers' cleanups (last in, first out)
	url := "nats://" + addr
	q := openQueue(t, url, testAckWait)
	jobs := experiment.Jobs(p)

	ctx, cancel := context.WithTimeout(context.Background(), queuedRunLimit)
	defer cancel()
	mirror := filepath.Join(root, "results")
	runErr := make(chan error, 1)
	go func() {
		runErr <- RunPlan(ctx, q, p, QueueRunOptions{Dir: mirror, Poll: 100 * time.Millisecond, Progress: func(e RunEvent) {
			if os.Getenv("SUTURE_TEST_LOGS") != "" && e.Finished != nil {
				t.Logf("%s [%d/%d] %s by %s %s", time.Now().Format("15:04:05.000"), e.Done, e.Total, e.Finished.ID, e.Worker, e.Err)
			}
		}})
	}()

	// w1 alone first, so that it surely takes a training job; it stops in
	// it once the first epoch's checkpoint is stored, and is killed there.
	w1 := startWorker(t, workerConfig{URL: url, Name: "w1", Parties: map[string]string{"a": a1}, Cache: filepath.Join(root, "cache1"), Hold: "train"})
	held := w1.waitLog(t, regexp.MustCompile(`holding (fold \d: train a) after`), 90*time.Second)[1]
	if err := w1.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-w1.done
	t.Logf("killed w1 during %q", held)
	w2 := startWorker(t, workerConfig{URL: url, Name: "w2", Parties: map[string]string{"a": a2, "b": b2}, Cache: filepath.Join(root, "cache2")})
	w3 := startWorker(t, workerConfig{URL: url, Name: "w3", Parties: map[string]string{"b": b3}, Cache: filepath.Join(root, "cache3")})

	// Restart the server once a third of the jobs are done.
	var before []string
	for deadline := time.Now().Add(3 * time.Minute); ; {
		st, err := readStates(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.done) >= len(jobs)/3 {
			for k := range st.done {
				before = append(before, k)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d jobs done after 3 minutes", len(st.done), len(jobs))
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv.Shutdown()
	time.Sleep(300 * time.Millisecond)
	srv = testServer(t, store, addr)
	t.Logf("restarted the server with %d of %d jobs done", len(before), len(jobs))
	st, err := readStatesRetry(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range before {
		if st.done[k] == nil {
			t.Errorf("job %s was done before the restart, and is not after it", k)
		}
	}

	select {
	case err := <-runErr:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		for _, w := range []*proc{w2, w3} {
			w.cmd.Process.Signal(syscall.SIGQUIT) // a goroutine dump, to see what hangs
		}
		time.Sleep(time.Second)
		t.Fatal("the queued run did not finish in time")
	}
	t.Logf("queued run: %v in all", time.Since(start))

	got := filepath.Join(root, "report-queue")
	res, err := experiment.Report(mirror, got)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		if filepath.Base(f) == "timings.md" {
			continue
		}
		a, _ := os.ReadFile(filepath.Join(want, filepath.Base(f)))
		b, _ := os.ReadFile(f)
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between the local and the queued run", filepath.Base(f))
		}
	}

	// Exactly once: every job key completed by one worker, once.
	completed := map[string][]string{}
	re := regexp.MustCompile(`(?m)^\S+ completed (.+) \(([0-9a-f]{64})\) in `)
	for _, w := range []*proc{w1, w2, w3} {
		for _, m := range re.FindAllStringSubmatch(w.log(), -1) {
			completed[m[2]] = append(completed[m[2]], w.name+": "+m[1])
		}
		if strings.Contains(w.log(), "failed ") || strings.Contains(w.log(), "refused ") {
			t.Errorf("worker %s failed or refused a job:\n%s", w.name, w.log())
		}
	}
	for _, j := range jobs {
		if n := len(completed[j.Key]); n != 1 {
			t.Errorf("job %s completed %d times: %v", j.ID, n, completed[j.Key])
		}
	}
	if len(completed) != len(jobs) {
		t.Errorf("%d job keys completed, the plan has %d jobs", len(completed), len(jobs))
	}
	// The killed job resumed elsewhere from its checkpoint.
	if !regexp.MustCompile(`took ` + regexp.QuoteMeta(held) + ` \([0-9a-f]+\), resuming from its checkpoint`).MatchString(w2.log()) {
		t.Errorf("w2 did not resume %q from its stored checkpoint", held)
	}
	// Party b's worker opened party b's data only.
	opened := regexp.MustCompile(`(?m)^\S+ opened party (\w)'s data: (.*)$`).FindAllStringSubmatch(w3.log(), -1)
	if len(opened) == 0 {
		t.Error("w3 opened no data")
	}
	for _, m := range opened {
		if m[1] != "b" || m[2] != b3 {
			t.Errorf("w3 opened party %s's data at %s", m[1], m[2])
		}
	}
	if strings.Contains(w1.log()+w2.log()+w3.log(), "holds no data") {
		t.Error("a worker was asked for data it does not hold")
	}
}

// readStatesRetry reads the job records, waiting for a reconnection.
func readStatesRetry(ctx context.Context, q *Queue) (*states, error) {
	var err error
	for range 100 {
		var st *states
		if st, err = readStates(ctx, q); err == nil {
			return st, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, errors.New("no answer from the restarted server: " + err.Error())
}
