package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"suture/experiment"
)

// QueueRunOptions configure RunPlan (named apart from experiment.RunOptions, the local runner's).
// How long a job may go without a heartbeat before it is offered again is
// the queue's ack wait, set when it is opened (Open).
type QueueRunOptions struct {
	// MaxAttempts is how often a failing job is tried before it is parked
	// as failed (default 3). A killed worker's attempt does not count.
	MaxAttempts int
	// Dir, when set, is a results folder that receives every finished
	// job's files and done.json, as the local runner lays them out (so
	// `suture experiment report --dir` works on it).
	Dir string
	// Poll is how often the queue's state is read (default 1s).
	Poll time.Duration
	// Progress, when set, receives the run's events.
	Progress func(RunEvent)
}

// RunEvent is what RunPlan reports: a job that finished or failed, or a
// change in the jobs waiting for a willing worker.
type RunEvent struct {
	Done, Failed, Total int
	Finished            *experiment.Job // finished (Err "") or parked as failed
	Worker, Err         string
	// Waiting lists the offered jobs no live worker may take, with why
	// (as Status defines it: the ready jobs' tokens no live worker may
	// take); set when that list changed.
	Waiting []Waiting
}

// Waiting is an offered job that no live worker may take.
type Waiting struct {
	Job    *experiment.Job
	Party  string // federated averaging: the party's side that waits
	Reason string
}

// RunPlan runs plan p's jobs through the queue: it stores the plan, offers
// every job whose inputs exist (one token per job, two for federated
// averaging: one per party), and returns once every job is done, or when
// only jobs parked as failed, and jobs needing them, are left. Workers
// (RunWorker) do the work; RunPlan needs none of the data. Jobs parked as
// failed by an earlier run are offered again. At most one federated
// averaging job is offered at a time, so that two sites' workers never
// wait on each other's other folds. Each round reads the queue (read),
// decides (step, which does no I/O) and does what it decided (carryOut).
func RunPlan(ctx context.Context, q *Queue, p *experiment.Plan, o QueueRunOptions) error {
	if err := p.ValidateSettings(); err != nil {
		return err
	}
	if o.MaxAttempts < 1 {
		o.MaxAttempts = 3
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	id, err := bindQueuePlan(ctx, q, p, o.MaxAttempts)
	if err != nil {
		return err
	}
	r := &planRun{q: q, o: o, id: id, jobs: experiment.Jobs(p), offered: map[string]time.Time{}}
	if o.Dir != "" {
		if r.mirror, err = newMirrorer(o.Dir, p); err != nil {
			return err
		}
		defer r.mirror.close()
	}
	var mem memory
	for {
		v, err := r.read(ctx, mem)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !mem.started {
				return err // the first look at the queue must work
			}
			// The server may be restarting: try again.
			if !sleepCtx(ctx, o.Poll) {
				return ctx.Err()
			}
			continue
		}
		var d decision
		d, mem = step(r.jobs, v, mem)
		if over, err := r.carryOut(ctx, d); over {
			return err
		}
		if !sleepCtx(ctx, o.Poll) {
			return ctx.Err()
		}
	}
}

// planRun is RunPlan's I/O: the queue it reads and publishes to, the
// folder it mirrors into, the tokens it published.
type planRun struct {
	q       *Queue
	o       QueueRunOptions
	id      string // the plan's id in the queue
	jobs    []*experiment.Job
	mirror  *mirrorer            // nil without o.Dir
	offered map[string]time.Time // when each job's tokens were last published
}

// read reads one round's view: the job records; when RunPlan mirrors, the
// files of the done jobs not yet reported (m) are fetched first, and those
// that fail are unfetched; when it reports progress, the live workers.
// The error is the records' read's, or the context's.
func (r *planRun) read(ctx context.Context, m memory) (view, error) {
	st, err := readStates(ctx, r.q)
	if err != nil {
		return view{}, err
	}
	v := view{st: st, offered: r.offered, unfetched: map[string]bool{}, now: time.Now()}
	if r.mirror != nil {
		for _, j := range r.jobs {
			if d := st.done[j.Key]; d != nil && !m.reported[j.Key] {
				if err := r.mirror.fetch(ctx, r.q, j, d); err != nil {
					if ctx.Err() != nil {
						return view{}, ctx.Err()
					}
					v.unfetched[j.Key] = true // tried again next round
				}
			}
		}
	}
	if r.o.Progress != nil {
		ws, err := r.q.liveWorkers(ctx)
		v.workers, v.workersKnown = ws, err == nil
	}
	return v, nil
}

// carryOut does what step decided (d), and reports whether the run is
// over, with its error.
func (r *planRun) carryOut(ctx context.Context, d decision) (over bool, err error) {
	if err := clearParked(ctx, r.q, d.retry); err != nil {
		return true, err
	}
	for _, e := range d.ended {
		r.emit(e)
	}
	if d.over {
		return true, d.err
	}
	failed := map[string]bool{}
	for _, o := range d.offers {
		if err := r.q.publish(ctx, o.class, token{Plan: r.id, Key: o.job.Key, ID: o.job.ID, Party: o.party}); err != nil {
			failed[o.job.Key] = true
		}
	}
	for _, o := range d.offers {
		if !failed[o.job.Key] {
			r.offered[o.job.Key] = time.Now()
		}
	}
	if d.waiting != nil {
		r.emit(*d.waiting)
	}
	return false, nil
}

// clearParked clears the records (failed, tries) and any tokens left of
// jobs parked as failed by an earlier run, so that this run offers them
// again.
func clearParked(ctx context.Context, q *Queue, parked []*experiment.Job) error {
	for _, j := range parked {
		for _, k := range []string{"failed." + j.Key, "tries." + j.Key} {
			if err := q.del(ctx, q.jobs, k); err != nil {
				return err
			}
		}
		for _, t := range tokens(j) {
			// A parked job's token was terminated; clear any left.
			pctx, cancel := q.opCtx(ctx)
			_ = q.stream.Purge(pctx, jetstream.WithPurgeSubject(tokenSubject(t[0], token{Key: j.Key, Party: t[1]})))
			cancel()
		}
	}
	return nil
}

// emit hands e to the Progress callback, if any.
func (r *planRun) emit(e RunEvent) {
	if r.o.Progress != nil {
		r.o.Progress(e)
	}
}

func waitingKey(ws []Waiting) string {
	var b strings.Builder
	for _, w := range ws {
		fmt.Fprintf(&b, "%s/%s/%s\n", w.Job.Key, w.Party, w.Reason)
	}
	return b.String()
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// states are the job records of the queue.
type states struct {
	done   map[string]*doneRecord
	failed map[string]*triesRecord
	tries  map[string]*triesRecord
	runs   map[string][]*runRecord // by job key
}

// readStates reads every job record (done, failed, tries, run).
func readStates(ctx context.Context, q *Queue) (*states, error) {
	st := &states{done: map[string]*doneRecord{}, failed: map[string]*triesRecord{}, tries: map[string]*triesRecord{},
		runs: map[string][]*runRecord{}}
	recs, err := q.snapshot(ctx, q.jobs, ">")
	if err != nil {
		return nil, err
	}
	for k, v := range recs {
		kind, rest, _ := strings.Cut(k, ".")
		var err error
		switch kind {
		case "done":
			var r doneRecord
			err = json.Unmarshal(v, &r)
			st.done[rest] = &r
		case "failed", "tries":
			var r triesRecord
			err = json.Unmarshal(v, &r)
			map[string]map[string]*triesRecord{"failed": st.failed, "tries": st.tries}[kind][rest] = &r
		case "run":
			var r runRecord
			err = json.Unmarshal(v, &r)
			key, _, _ := strings.Cut(rest, ".")
			st.runs[key] = append(st.runs[key], &r)
		}
		if err != nil {
			return nil, fmt.Errorf("queue record %s: %w", k, err)
		}
	}
	return st, nil
}

// bindQueuePlan stores plan p in the queue under its id, as bindPlan does
// for a results folder: a plan of the same name with other settings is
// refused once any of its test jobs is done.
func bindQueuePlan(ctx context.Context, q *Queue, p *experiment.Plan, maxAttempts int) (string, error) {
	enc, err := p.Encode()
	if err != nil {
		return "", err
	}
	id := planID(p.Name)
	rec := planRecord{Name: p.Name, Plan: enc, MaxAttempts: maxAttempts}
	var old planRecord
	ok, err := q.getJSON(ctx, q.plans, id, &old)
	if err != nil {
		return "", err
	}
	var stored []byte
	if ok {
		stored = old.Plan
	}
	if err := experiment.CheckPlanEdit(stored, p, "the queue", func(j *experiment.Job) (bool, error) {
		var d doneRecord
		return q.getJSON(ctx, q.jobs, "done."+j.Key, &d)
	}); err != nil {
		return "", err
	}
	return id, q.putJSON(ctx, q.plans, id, rec)
}

// mirrorer fills a results folder with the queue's results.
type mirrorer struct {
	dir  string
	lock *experiment.Lock
}

func newMirrorer(dir string, p *experiment.Plan) (*mirrorer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	lock, err := experiment.LockDir(dir, "suture experiment run (queue coordinator)")
	if err != nil {
		return nil, err
	}
	if err := experiment.BindResults(dir, p); err != nil {
		lock.Unlock()
		return nil, err
	}
	return &mirrorer{dir: dir, lock: lock}, nil
}

func (m *mirrorer) close() { m.lock.Unlock() }

// fetch downloads job j's files (checked against the digests of its
// record) and writes its done.json, unless the folder has them.
func (m *mirrorer) fetch(ctx context.Context, q *Queue, j *experiment.Job, d *doneRecord) error {
	if experiment.JobDone(m.dir, j) {
		return nil
	}
	for _, f := range d.Files {
		base, ok := strings.CutPrefix(f.Name, j.Key+"/")
		if !ok || base == "" || strings.ContainsAny(base, `/\`) || strings.HasPrefix(base, ".") {
			return fmt.Errorf("job %s: its record names the file %q", j.ID, f.Name)
		}
		if err := q.getFile(ctx, f.Name, filepath.Join(m.dir, j.Dir, base), f.Digest); err != nil {
			return err
		}
	}
	return experiment.RecordDone(m.dir, j, d.Seconds, d.At, d.Worker)
}

// Mirror copies every finished job of plan p from the queue into results
// folder dir (as QueueRunOptions.Dir does) and returns how many jobs are done.
func Mirror(ctx context.Context, q *Queue, p *experiment.Plan, dir string) (int, error) {
	m, err := newMirrorer(dir, p)
	if err != nil {
		return 0, err
	}
	defer m.close()
	st, err := readStates(ctx, q)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, j := range experiment.Jobs(p) {
		if d := st.done[j.Key]; d != nil {
			if err := m.fetch(ctx, q, j, d); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// WriteRunEvent writes a queue run's event as a line per job finished or
// parked and per job waiting for a willing worker (since: the time since
// the run started).
func WriteRunEvent(w io.Writer, since time.Duration, e RunEvent) {
	since = since.Round(time.Second)
	switch {
	case e.Finished != nil && e.Err == "":
		fmt.Fprintf(w, "[%d/%d] %s  done by %s  (%s since start)\n", e.Done, e.Total, e.Finished.ID, e.Worker, since)
	case e.Finished != nil:
		fmt.Fprintf(w, "[%d/%d] %s  FAILED on %s: %s\n", e.Done, e.Total, e.Finished.ID, e.Worker, e.Err)
	case e.Waiting != nil:
		if len(e.Waiting) == 0 {
			fmt.Fprintf(w, "every offered job has a willing worker (%s since start)\n", since)
		}
		for _, wt := range e.Waiting {
			id := wt.Job.ID
			if wt.Party != "" {
				id += " (party " + wt.Party + ")"
			}
			fmt.Fprintf(w, "waiting for a willing worker: %s: %s\n", id, wt.Reason)
		}
	}
}
