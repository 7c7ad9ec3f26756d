package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"suture/experiment"
	"suture/io/imageset"
	"suture/kernels"
)

// WorkerOptions configure RunWorker.
type WorkerOptions struct {
	// Name identifies the worker in the queue's records (default
	// host-pid).
	Name string
	// Parties maps each party whose data this site holds ("a", "b") to
	// the data here: a dataset folder or a synth: spec. The plan's own
	// specs for those parties are read from these; any other data is
	// refused.
	Parties map[string]string
	// Allow lists the job categories the site lets run on its data
	// (experiment.Categories). nil allows all of them; an empty list
	// allows none (the worker then runs only the selection, which reads
	// no data).
	Allow []string
	// Jobs is how many jobs run at once (default 1). A federated averaging
	// party runs beside them (one per party held), since it spends most of
	// its time waiting for the other site.
	Jobs int
	// Backend makes a job's backend (called once per job).
	Backend func() (kernels.Backend, error)
	// Cache is the folder where job folders are put together: inputs
	// fetched, the job run, its outputs stored from there (default: a
	// temporary folder, removed when the worker ends).
	Cache string
	// Poll is the wait between looks at an empty queue (default 500ms).
	Poll time.Duration
	// IdleExit, when > 0, ends the worker once it has had no job for that
	// long (for workers started by a cluster's scheduler).
	IdleExit time.Duration
	// Log receives one line per event (taking, finishing, failing,
	// refusing a job; opening a party's data).
	Log func(string)
}

// Worker runs jobs from the queue.
type Worker struct {
	q    *Queue
	o    WorkerOptions
	site Site
	data experiment.DataCache // the site's datasets, opened once
	mu   sync.Mutex
	// plans caches the jobs of each plan id, by key.
	plans map[string]*workerPlan
	hold  string // testing aid: see testHold
	// active counts the jobs running; idleSince is when the last ended.
	active    atomic.Int32
	idleSince atomic.Int64 // unix nanoseconds
}

type workerPlan struct {
	plan *experiment.Plan
	rec  *planRecord
	jobs map[string]*experiment.Job
}

// testHold is a seam for tests of a worker killed mid-job, set only by
// this package's tests (in the worker process they start): set to a job
// kind, a worker stops (without finishing, while sending heartbeats) in
// the first such job once its checkpoint is stored, so that the job is
// surely mid-way when the process is killed.
var testHold string

// RunWorker takes jobs from the queue and runs them until ctx ends: only
// jobs whose parties' data it holds and whose category the site allows
// (each class of job has its own consumer). A job is acknowledged only
// once its files are stored and its done record written; a job it cannot
// finish is offered again, and one that fails MaxAttempts times is parked.
// Ending ctx stops the running jobs politely: training saves its
// checkpoint, which goes to the store for whoever takes the job next.
func RunWorker(ctx context.Context, q *Queue, o WorkerOptions) error {
	if err := CheckParties(o.Parties); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	site := Site{}
	for p := range o.Parties {
		site.Parties = append(site.Parties, p)
	}
	slices.Sort(site.Parties)
	if o.Allow == nil {
		o.Allow = experiment.Categories
	}
	for _, c := range o.Allow {
		if !slices.Contains(experiment.Categories, c) {
			return fmt.Errorf("worker: unknown job category %q (known: %s)", c, strings.Join(experiment.Categories, ","))
		}
	}
	site.Allow = slices.Clone(o.Allow)
	if o.Jobs < 1 {
		o.Jobs = 1
	}
	if o.Backend == nil {
		return errors.New("worker: no backend")
	}
	if o.Cache == "" {
		tmp, err := os.MkdirTemp("", "suture-worker-")
		if err != nil {
			return fmt.Errorf("worker: %w", err)
		}
		defer os.RemoveAll(tmp)
		o.Cache = tmp
	}
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	if o.Name == "" {
		host, _ := os.Hostname()
		o.Name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if o.Log == nil {
		o.Log = func(string) {}
	}
	w := &Worker{q: q, o: o, site: site, plans: map[string]*workerPlan{}, hold: testHold}
	w.data.Opened = w.logOpened
	var regular, fed []string
	for _, class := range allClasses() {
		ps, cat, _ := strings.Cut(class, ".")
		ok := true
		for _, p := range strings.Split(strings.TrimPrefix(ps, "none"), "") {
			ok = ok && slices.Contains(site.Parties, p)
		}
		switch cat {
		case catSelect:
		case catFed:
			ok = ok && slices.Contains(site.Allow, experiment.CatTrain)
		default:
			ok = ok && slices.Contains(site.Allow, cat)
		}
		if !ok {
			continue
		}
		if cat == catFed {
			fed = append(fed, class)
		} else {
			regular = append(regular, class)
		}
	}
	if err := w.register(ctx); err != nil {
		return err
	}
	w.logf("worker %s: holds %s's data, allows %s; takes %s", o.Name, strings.Join(site.Parties, " and "), strings.Join(site.Allow, ","),
		strings.Join(append(slices.Clone(regular), fed...), " "))
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	w.idleSince.Store(time.Now().UnixNano())
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(min(workerBeat, max(o.IdleExit/4, 10*time.Millisecond)))
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if time.Since(last) >= workerBeat {
					_ = w.register(ctx)
					last = time.Now()
				}
				if idle := time.Since(time.Unix(0, w.idleSince.Load())); o.IdleExit > 0 && w.active.Load() == 0 && idle > o.IdleExit {
					w.logf("no job for %s: stopping (idle limit %v)", idle.Round(time.Second), o.IdleExit)
					stop()
					return
				}
			}
		}
	})
	for i := range o.Jobs {
		wg.Go(func() { w.lane(ctx, rotate(regular, i)) })
	}
	for _, class := range fed {
		wg.Go(func() { w.lane(ctx, []string{class}) })
	}
	<-ctx.Done()
	wg.Wait()
	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = q.del(dctx, q.workers, kvSafe(o.Name))
	return nil
}

// CheckParties checks a site's data, party ("a" or "b") -> a dataset
// folder or synth: spec, before any job needs it: a folder must exist and
// hold a dataset layout, a synth: spec must be one LoadData reads.
func CheckParties(parties map[string]string) error {
	if len(parties) == 0 {
		return errors.New("holds no party's data")
	}
	for _, p := range slices.Sorted(maps.Keys(parties)) {
		d := parties[p]
		if p != "a" && p != "b" {
			return fmt.Errorf("party %q, want a or b", p)
		}
		if d == "" {
			return fmt.Errorf("party %s: no data given", p)
		}
		var err error
		if strings.HasPrefix(d, "synth:") {
			_, err = experiment.LoadData(d, 16)
		} else {
			err = imageset.Check(d)
		}
		if err != nil {
			return fmt.Errorf("party %s's data %s: %w", p, d, err)
		}
	}
	return nil
}

func rotate(s []string, i int) []string {
	if len(s) == 0 {
		return nil
	}
	i %= len(s)
	return append(slices.Clone(s[i:]), s[:i]...)
}

func (w *Worker) logf(format string, a ...any) { w.o.Log(fmt.Sprintf(format, a...)) }

func (w *Worker) register(ctx context.Context) error {
	host, _ := os.Hostname()
	return w.q.putJSON(ctx, w.q.workers, kvSafe(w.o.Name), workerRecord{Name: w.o.Name, Host: host, Parties: w.site.Parties,
		Allow: w.site.Allow, Jobs: w.o.Jobs, At: time.Now()})
}

// kvSafe maps a name to the characters a bucket key may hold.
func kvSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// lane takes one job at a time from classes, in turn.
func (w *Worker) lane(ctx context.Context, classes []string) {
	wait := max(w.o.Poll/time.Duration(max(len(classes), 1)), 10*time.Millisecond)
	for ctx.Err() == nil {
		got := false
		for _, class := range classes {
			if msg := fetchOne(w.q.cons[class], wait); msg != nil {
				got = true
				w.active.Add(1)
				w.handle(ctx, msg)
				w.idleSince.Store(time.Now().UnixNano())
				w.active.Add(-1)
				break
			}
		}
		if !got && len(classes) == 0 {
			sleepCtx(ctx, w.o.Poll)
		}
	}
}

// fetchOne takes one token from c, waiting for one up to wait. (A pull
// request without a wait would be waited for up to half a minute when it
// was lost to a restarting server.)
func fetchOne(c jetstream.Consumer, wait time.Duration) jetstream.Msg {
	if c == nil {
		return nil
	}
	b, err := c.Fetch(1, jetstream.FetchMaxWait(wait))
	if err != nil {
		time.Sleep(wait) // the server may be away
		return nil
	}
	for m := range b.Messages() {
		return m
	}
	return nil
}

// plan returns the jobs of plan id (read once from the queue).
func (w *Worker) plan(ctx context.Context, id string) (*workerPlan, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if wp := w.plans[id]; wp != nil {
		return wp, nil
	}
	p, rec, err := w.q.storedPlan(ctx, id)
	if err != nil {
		return nil, err
	}
	wp := &workerPlan{plan: p, rec: rec, jobs: map[string]*experiment.Job{}}
	for _, j := range experiment.Jobs(p) {
		wp.jobs[j.Key] = j
	}
	w.plans[id] = wp
	return wp, nil
}

// handle runs one token's job.
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg) {
	var t token
	if err := json.Unmarshal(msg.Data(), &t); err != nil || t.Key == "" {
		w.logf("dropped a token that is not a job (%q)", msg.Data())
		_ = msg.Term()
		return
	}
	wp, err := w.plan(ctx, t.Plan)
	if err != nil {
		w.logf("job %s: cannot read its plan: %v", t.ID, err)
		_ = msg.NakWithDelay(5 * time.Second)
		return
	}
	// The worker runs only what it computes from the plan itself: the
	// token names a job by its key.
	j := wp.jobs[t.Key]
	if j == nil {
		w.logf("dropped token %s: plan %q has no job with key %s", t.ID, wp.plan.Name, t.Key)
		_ = msg.Term()
		return
	}
	if r := w.site.refuses(j, t.Party); r != "" || (j.Kind == experiment.KindFedAvg) != (t.Party != "") {
		if r == "" {
			r = "the token does not name the side of a federated job"
		}
		w.logf("refused %s: %s", j.ID, r)
		_ = msg.NakWithDelay(30 * time.Second)
		return
	}
	var d doneRecord
	if done, err := w.q.getJSON(ctx, w.q.jobs, "done."+j.Key, &d); err != nil {
		_ = msg.NakWithDelay(time.Second)
		return
	} else if done {
		_ = msg.Ack()
		return
	}
	var f triesRecord
	if failed, err := w.q.getJSON(ctx, w.q.jobs, "failed."+j.Key, &f); err != nil {
		_ = msg.NakWithDelay(time.Second)
		return
	} else if failed {
		_ = msg.Term()
		return
	}
	if t.Party != "" {
		w.runFed(ctx, msg, wp, j, t.Party)
		return
	}
	w.runOne(ctx, msg, wp, j)
}

// jobDir is job folder rel in the cache, emptied.
func (w *Worker) freshDir(rel string) (string, error) {
	dir := filepath.Join(w.o.Cache, rel)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	return dir, os.MkdirAll(dir, 0o755)
}

// fetchInputs puts j's input files (its dependencies' outputs) in the
// cache, each checked against the digest its done record holds.
func (w *Worker) fetchInputs(ctx context.Context, j *experiment.Job) error {
	for _, in := range j.Inputs {
		var d doneRecord
		ok, err := w.q.getJSON(ctx, w.q.jobs, "done."+in.Job.Key, &d)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("input %s of %s: the job is not done", in.Name, in.Job.ID)
		}
		name := artifactName(in.Job.Key, in.Name)
		i := slices.IndexFunc(d.Files, func(f fileInfo) bool { return f.Name == name })
		if i < 0 {
			return fmt.Errorf("input %s of %s: not among the job's stored files", in.Name, in.Job.ID)
		}
		if err := w.q.getFile(ctx, name, filepath.Join(w.o.Cache, in.Job.Dir, in.Name), d.Files[i].Digest); err != nil {
			return err
		}
	}
	return nil
}

// runOne runs a job (not federated averaging) from msg.
func (w *Worker) runOne(ctx context.Context, msg jetstream.Msg, wp *workerPlan, j *experiment.Job) {
	start := time.Now()
	dir, err := w.freshDir(j.Dir)
	if err == nil {
		err = w.fetchInputs(ctx, j)
	}
	resumed := false
	for _, name := range j.Resume {
		if err != nil {
			break
		}
		err = w.q.getFile(ctx, resumeName(j.Key, name), filepath.Join(dir, name), "")
		if errors.Is(err, errNoObject) {
			err = nil
		} else if err == nil {
			resumed = true
		}
	}
	if err != nil {
		w.abandon(ctx, msg, wp, j, "", err)
		return
	}
	if resumed {
		w.logf("took %s (%.12s), resuming from its checkpoint in the store", j.ID, j.Key)
	} else {
		w.logf("took %s (%.12s)", j.ID, j.Key)
	}
	up := &resumeUploader{q: w.q, key: j.Key, dir: dir, files: j.Resume, seen: map[string]time.Time{}}
	hb := w.heartbeat(ctx, msg, j, "", start, up.upload)
	b, err := w.o.Backend()
	if err != nil {
		hb.stop()
		w.abandon(ctx, msg, wp, j, "", err)
		return
	}
	held := false
	env := experiment.JobEnv{Backend: b, Root: w.o.Cache, Load: w.loader(wp.plan), Progress: func(f float64) {
		hb.setFrac(f, "")
		if w.hold == string(j.Kind) && !held && up.any() {
			held = true
			if err := up.upload(ctx); err == nil {
				w.logf("holding %s after storing its checkpoint (test hold)", j.ID)
				<-ctx.Done()
			}
		}
	}}
	runErr := experiment.RunJob(ctx, j, env)
	hb.stop()
	switch {
	case runErr == nil:
		if err := w.complete(ctx, msg, j, dir, start, nil); err != nil {
			w.abandon(ctx, msg, wp, j, "", err)
		}
	case ctx.Err() != nil:
		// Stopping: keep the checkpoint the job saved for the next worker.
		uctx, cancel := context.WithTimeout(context.Background(), 2*w.q.stall)
		_ = up.upload(uctx)
		_ = w.q.del(uctx, w.q.jobs, "run."+j.Key)
		cancel()
		_ = msg.Nak()
		w.logf("stopped %s; its checkpoint is in the store", j.ID)
	default:
		w.fail(ctx, msg, wp, j, "", runErr)
	}
}

// complete stores job j's output files from dir (all but the given
// exclusions and bookkeeping), writes its done record and acknowledges.
func (w *Worker) complete(ctx context.Context, msg jetstream.Msg, j *experiment.Job, dir string, start time.Time, exclude []string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	rec := doneRecord{ID: j.ID, Key: j.Key, Worker: w.o.Name, Seconds: time.Since(start).Seconds(), At: time.Now().UTC()}
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".lock") || n == "done.json" || n == "failed.json" ||
			slices.Contains(exclude, n) {
			continue
		}
		fi, err := w.q.putFile(ctx, artifactName(j.Key, n), filepath.Join(dir, n))
		if err != nil {
			return err
		}
		rec.Files = append(rec.Files, fi)
	}
	created, err := w.q.createDone(ctx, j.Key, rec)
	if err != nil {
		return err
	}
	if created {
		w.logf("completed %s (%s) in %.1fs", j.ID, j.Key, rec.Seconds)
	} else {
		w.logf("finished %s, which another worker had completed", j.ID)
	}
	for _, name := range j.Resume {
		_ = w.q.deleteObject(ctx, resumeName(j.Key, name))
	}
	_ = w.q.del(ctx, w.q.jobs, "run."+j.Key)
	_ = w.q.del(ctx, w.q.jobs, "tries."+j.Key)
	actx, cancel := w.q.opCtx(ctx)
	defer cancel()
	if err := msg.DoubleAck(actx); err != nil {
		// The done record is written: whoever gets the token next acks it.
		w.logf("acknowledging %s: %v", j.ID, err)
	}
	return nil
}

// createDone writes job key's done record unless one exists, and reports
// whether this call wrote it. A write whose answer was lost (the server
// restarting) is retried and recognised by the record's worker and time.
func (q *Queue) createDone(ctx context.Context, key string, rec doneRecord) (bool, error) {
	var err error
	for range 40 {
		var created bool
		if created, err = q.createJSON(ctx, q.jobs, "done."+key, rec); err == nil {
			if created {
				return true, nil
			}
			var got doneRecord
			if ok, gerr := q.getJSON(ctx, q.jobs, "done."+key, &got); gerr != nil {
				err = gerr
			} else {
				return ok && got.Worker == rec.Worker && got.At.Equal(rec.At), nil
			}
		}
		if !sleepCtx(ctx, 250*time.Millisecond) {
			break
		}
	}
	return false, err
}

// abandon gives a job back after a failure of the queue or the cache
// (not of the job): it is offered again. One given back many times is
// treated as failing.
func (w *Worker) abandon(ctx context.Context, msg jetstream.Msg, wp *workerPlan, j *experiment.Job, party string, err error) {
	if md, merr := msg.Metadata(); merr == nil && md.NumDelivered > 20 {
		w.fail(ctx, msg, wp, j, party, fmt.Errorf("given back %d times, last: %w", md.NumDelivered, err))
		return
	}
	w.logf("gave back %s: %v", j.ID, err)
	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = w.q.del(dctx, w.q.jobs, runKey(j, party))
	_ = msg.NakWithDelay(2 * time.Second)
}

func runKey(j *experiment.Job, party string) string {
	if party != "" {
		return "run." + j.Key + "." + party
	}
	return "run." + j.Key
}

// fail records a failed attempt of job j; the last allowed one parks it.
func (w *Worker) fail(ctx context.Context, msg jetstream.Msg, wp *workerPlan, j *experiment.Job, party string, jobErr error) {
	_ = w.q.del(ctx, w.q.jobs, runKey(j, party))
	n, err := w.q.countFailure(ctx, j, w.o.Name, jobErr)
	if err != nil {
		w.logf("failed %s: %v (and recording it: %v)", j.ID, jobErr, err)
		_ = msg.NakWithDelay(2 * time.Second)
		return
	}
	if n >= wp.rec.MaxAttempts {
		rec := triesRecord{ID: j.ID, Attempts: n, Error: jobErr.Error(), Worker: w.o.Name, At: time.Now().UTC()}
		if err := w.q.putJSON(ctx, w.q.jobs, "failed."+j.Key, rec); err != nil {
			_ = msg.NakWithDelay(2 * time.Second)
			return
		}
		_ = msg.Term()
		w.logf("failed %s, attempt %d of %d: parked: %v", j.ID, n, wp.rec.MaxAttempts, jobErr)
		return
	}
	_ = msg.NakWithDelay(time.Duration(n) * time.Second)
	w.logf("failed %s, attempt %d of %d: %v", j.ID, n, wp.rec.MaxAttempts, jobErr)
}

// countFailure adds one to job j's failed attempts and returns the count.
func (q *Queue) countFailure(ctx context.Context, j *experiment.Job, worker string, jobErr error) (int, error) {
	key := "tries." + j.Key
	for range 20 {
		rec := triesRecord{ID: j.ID, Attempts: 1, Error: jobErr.Error(), Worker: worker, At: time.Now().UTC()}
		gctx, cancel := q.opCtx(ctx)
		e, err := q.jobs.Get(gctx, key)
		cancel()
		var rev uint64
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted):
		case err != nil:
			return 0, err
		default:
			var old triesRecord
			if json.Unmarshal(e.Value(), &old) == nil {
				rec.Attempts = old.Attempts + 1
			}
			rev = e.Revision()
		}
		b, _ := json.Marshal(rec)
		uctx, cancel := q.opCtx(ctx)
		if rev == 0 {
			_, err = q.jobs.Create(uctx, key, b)
		} else {
			_, err = q.jobs.Update(uctx, key, b, rev)
		}
		cancel()
		if err == nil {
			return rec.Attempts, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return 0, err
		}
	}
	return 0, errors.New("the failure count kept changing under us")
}

// heartbeat keeps a running job's token from being offered again and its
// run record fresh, and runs tick (storing checkpoints) each time.
type heartbeat struct {
	w    *Worker
	msg  jetstream.Msg
	key  string
	mu   sync.Mutex
	rec  runRecord
	quit chan struct{}
	done chan struct{}
}

func (w *Worker) heartbeat(ctx context.Context, msg jetstream.Msg, j *experiment.Job, party string, start time.Time, tick func(context.Context) error) *heartbeat {
	aw := DefaultAckWait
	if md, err := msg.Metadata(); err == nil {
		aw = w.q.ackWait(ctx, md.Consumer)
	}
	h := &heartbeat{w: w, msg: msg, key: runKey(j, party), quit: make(chan struct{}), done: make(chan struct{}),
		rec: runRecord{ID: j.ID, Worker: w.o.Name, Party: party, Started: start, AckWait: aw.Seconds()}}
	h.beat(ctx)
	go func() {
		defer close(h.done)
		t := time.NewTicker(max(aw/4, 50*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-h.quit:
				return
			case <-t.C:
				_ = msg.InProgress()
				h.beat(ctx)
				if tick != nil {
					_ = tick(ctx)
				}
			}
		}
	}()
	return h
}

func (h *heartbeat) beat(ctx context.Context) {
	h.mu.Lock()
	h.rec.At = time.Now().UTC()
	rec := h.rec
	h.mu.Unlock()
	_ = h.w.q.putJSON(ctx, h.w.q.jobs, h.key, rec)
}

// setFrac records progress; a non-empty note replaces the note.
func (h *heartbeat) setFrac(f float64, note string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rec.Frac = f
	if note != "" {
		h.rec.Note = note
	}
}

func (h *heartbeat) setNote(note string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rec.Note = note
}

func (h *heartbeat) stop() {
	close(h.quit)
	<-h.done
}

// resumeUploader stores a running job's checkpoints when they change.
type resumeUploader struct {
	q     *Queue
	key   string
	dir   string
	files []string
	mu    sync.Mutex
	seen  map[string]time.Time
}

func (u *resumeUploader) any() bool {
	for _, f := range u.files {
		if _, err := os.Stat(filepath.Join(u.dir, f)); err == nil {
			return true
		}
	}
	return false
}

func (u *resumeUploader) upload(ctx context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, f := range u.files {
		path := filepath.Join(u.dir, f)
		st, err := os.Stat(path)
		if err != nil || st.ModTime().Equal(u.seen[f]) {
			continue
		}
		// Checkpoints are replaced atomically: the file read is whole.
		if _, err := u.q.putFile(ctx, resumeName(u.key, f), path); err != nil {
			return err
		}
		u.seen[f] = st.ModTime()
	}
	return nil
}

// logOpened logs the opening of the site's dataset spec: a party's data.
func (w *Worker) logOpened(spec string) {
	for _, p := range w.site.Parties {
		if w.o.Parties[p] == spec {
			w.logf("opened party %s's data: %s", p, spec)
			return
		}
	}
}

// loader maps plan p's dataset specs to this site's copies; the data of a
// party the site does not hold is refused without being opened.
func (w *Worker) loader(p *experiment.Plan) experiment.Loader {
	return func(spec string, size int) (*imageset.Dataset, error) {
		for _, party := range []experiment.Party{p.A, p.B} {
			if spec != party.Data {
				continue
			}
			if local, ok := w.o.Parties[party.Name]; ok {
				return w.data.Load(local, size)
			}
		}
		return nil, fmt.Errorf("worker %s holds no data %q (it holds party %s's data only)", w.o.Name, spec, strings.Join(w.site.Parties, " and "))
	}
}

// TimedLog returns a log for WorkerOptions.Log and the worker's own
// messages: each line on w after the local time, one line at a time
// whichever goroutine logs it.
func TimedLog(w io.Writer) func(format string, a ...any) {
	var mu sync.Mutex
	return func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%s %s\n", time.Now().Format("2006-01-02 15:04:05"), fmt.Sprintf(format, a...))
	}
}
