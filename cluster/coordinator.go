package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"suture/experiment"
)

// QueueRunOptions configure RunPlan (named apart from experiment.RunOptions, the local runner's).
type QueueRunOptions struct {
	// MaxAttempts is how often a failing job is tried before it is parked
	// as failed (default 3). A killed worker's attempt does not count.
	MaxAttempts int
	// AckWait is how long a job may go without a heartbeat before it is
	// offered again (default DefaultAckWait).
	AckWait time.Duration
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
// wait on each other's other folds.
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
	r := &planRun{q: q, o: o, id: id, jobs: experiment.Jobs(p), reported: map[string]bool{}, offered: map[string]time.Time{}}
	if o.Dir != "" {
		if r.mirror, err = newMirrorer(o.Dir, p); err != nil {
			return err
		}
		defer r.mirror.close()
	}
	if err := retryParked(ctx, q, r.jobs); err != nil {
		return err
	}
	for {
		st, err := readStates(ctx, q)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// The server may be restarting: try again.
			if !sleepCtx(ctx, o.Poll) {
				return ctx.Err()
			}
			continue
		}
		if over, err := r.round(ctx, st); over {
			return err
		}
		if !sleepCtx(ctx, o.Poll) {
			return ctx.Err()
		}
	}
}

// retryParked clears the records (failed, tries) and any tokens left of
// the jobs an earlier run parked as failed, so that this run offers them
// again.
func retryParked(ctx context.Context, q *Queue, jobs []*experiment.Job) error {
	st, err := readStates(ctx, q)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if st.failed[j.Key] != nil && st.done[j.Key] == nil {
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
	}
	return nil
}

// planRun is RunPlan's state from one round to the next.
type planRun struct {
	q           *Queue
	o           QueueRunOptions
	id          string // the plan's id in the queue
	jobs        []*experiment.Job
	mirror      *mirrorer            // nil without o.Dir
	reported    map[string]bool      // job keys whose end was reported
	offered     map[string]time.Time // when each job's tokens were last published
	lastWaiting string               // waitingKey of the last Waiting event
}

// emit hands e to the Progress callback, if any.
func (r *planRun) emit(e RunEvent) {
	if r.o.Progress != nil {
		r.o.Progress(e)
	}
}

// round is one round of RunPlan on the queue's records st: it reports the
// jobs that ended, then ends the run (over) when every job is done (err
// nil) or only parked jobs and jobs needing them are left (an error), or
// else offers the ready jobs and reports a change in the waiting ones.
func (r *planRun) round(ctx context.Context, st *states) (over bool, err error) {
	ev := RunEvent{Total: len(r.jobs)}
	for _, j := range r.jobs {
		switch {
		case st.done[j.Key] != nil:
			ev.Done++
		case st.failed[j.Key] != nil:
			ev.Failed++
		}
	}
	if err := r.reportEnded(ctx, st, ev); err != nil {
		return true, err
	}
	ready, blocked := readyJobs(r.jobs, st)
	if len(ready) == 0 {
		if ev.Done == len(r.jobs) {
			return true, nil
		}
		if len(blocked) > 0 {
			first := blocked[0]
			return true, fmt.Errorf("%d job(s) failed, the first: %s: %s (the queue's status lists every failure); the jobs needing them were not run",
				len(blocked), first.ID, st.failed[first.Key].Error)
		}
	}
	r.offer(ctx, ready)
	if r.o.Progress != nil {
		r.reportWaiting(ctx, ready, st, ev)
	}
	return false, nil
}

// reportEnded emits an event (ev with Finished set) for each job done or
// parked as failed since the last round, once per job; a done job's files
// are first mirrored, if RunPlan mirrors, and a job whose fetch fails is
// reported in a later round. The error is the context's, if it ended.
func (r *planRun) reportEnded(ctx context.Context, st *states, ev RunEvent) error {
	for _, j := range r.jobs {
		if r.reported[j.Key] {
			continue
		}
		if d := st.done[j.Key]; d != nil {
			if r.mirror != nil {
				if err := r.mirror.fetch(ctx, r.q, j, d); err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					continue // tried again next time
				}
			}
			r.reported[j.Key] = true
			e := ev
			e.Finished, e.Worker = j, d.Worker
			r.emit(e)
		} else if f := st.failed[j.Key]; f != nil {
			r.reported[j.Key] = true
			e := ev
			e.Finished, e.Worker, e.Err = j, f.Worker, fmt.Sprintf("%s (after %d attempts)", f.Error, f.Attempts)
			r.emit(e)
		}
	}
	return nil
}

// offer publishes the tokens of the ready jobs not offered in the last 30
// seconds, and of only the first federated averaging job among them.
func (r *planRun) offer(ctx context.Context, ready []*experiment.Job) {
	fedOffered := false
	for _, j := range ready {
		if j.Kind == experiment.KindFedAvg {
			if fedOffered {
				continue
			}
			fedOffered = true
		}
		if time.Since(r.offered[j.Key]) < 30*time.Second {
			continue
		}
		ok := true
		for _, t := range tokens(j) {
			if err := r.q.publish(ctx, t[0], token{Plan: r.id, Key: j.Key, ID: j.ID, Party: t[1]}); err != nil {
				ok = false
			}
		}
		if ok {
			r.offered[j.Key] = time.Now()
		}
	}
}

// reportWaiting emits an event (ev with Waiting set, empty rather than nil)
// when the ready jobs that no live worker may take differ from the last
// such event's; nothing when the live workers cannot be read.
func (r *planRun) reportWaiting(ctx context.Context, ready []*experiment.Job, st *states, ev RunEvent) {
	ws, err := r.q.liveWorkers(ctx)
	if err != nil {
		return
	}
	waiting := waitingJobs(ready, st, ws)
	if key := waitingKey(waiting); key != r.lastWaiting {
		r.lastWaiting = key
		e := ev
		e.Waiting = waiting
		if waiting == nil {
			e.Waiting = []Waiting{}
		}
		r.emit(e)
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

// readyJobs lists the jobs not done, not parked, whose dependencies are
// done (experiment's Schedule decides); and the parked jobs.
func readyJobs(jobs []*experiment.Job, st *states) (ready, parked []*experiment.Job) {
	s := experiment.NewSchedule(jobs)
	for _, j := range jobs {
		switch {
		case st.done[j.Key] != nil:
			s.Set(j, experiment.StateDone)
		case st.failed[j.Key] != nil:
			s.Set(j, experiment.StateFailed)
		}
	}
	return s.Ready(), s.Parked()
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
