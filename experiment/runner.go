package experiment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"suture/kernels"
	"suture/kernels/cpu"
)

// RunOptions configure RunPlan.
type RunOptions struct {
	// Workers is the number of jobs run at once (independent jobs only).
	Workers int
	// Backend makes the backend of one worker (called once per worker);
	// nil gives each worker the CPU backend with its share of the cores.
	Backend func() (kernels.Backend, error)
	// Progress, when set, is called as jobs start, advance and finish.
	Progress func(RunProgress)
}

// RunProgress is a snapshot of a run.
type RunProgress struct {
	Done, Failed, Total int
	Running             []RunningJob
	// Finished is the job that just finished (nil otherwise), with its error.
	Finished *Job
	Err      error
}

// RunningJob is a job in progress.
type RunningJob struct {
	ID   string
	Frac float64 // 0..1
}

// jobRecord is done.json / failed.json in a job's folder.
type jobRecord struct {
	ID       string  `json:"id"`
	Key      string  `json:"key"`
	Seconds  float64 `json:"seconds"`
	At       string  `json:"at"`
	Error    string  `json:"error,omitempty"`
	Attempts int     `json:"attempts,omitempty"`
	// Worker names who computed the result when a work queue's worker did.
	Worker string `json:"worker,omitempty"`
}

const (
	doneFile   = "done.json"
	failedFile = "failed.json"
	planFile   = "plan.json"
	// jobLockFile is held while a job runs (the job itself may lock the
	// folder's .lock, as a training run does).
	jobLockFile = ".job.lock"
)

// ErrPlanMismatch is wrapped by the error for a results folder that another
// plan (or an edited plan, after test scores) wrote.
var ErrPlanMismatch = errors.New("results folder belongs to another plan")

// bindPlan ties the results folder dir to plan p: a new folder records the
// plan; a folder of another plan is refused; the same plan edited is
// accepted only while no test set has been scored.
func bindPlan(dir string, p *Plan, g *graph) error {
	enc, err := p.Encode()
	if err != nil {
		return err
	}
	path := filepath.Join(dir, planFile)
	old, err := os.ReadFile(path)
	switch {
	case os.IsNotExist(err):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		old = nil
	case err != nil:
		return err
	case bytes.Equal(old, enc):
		return nil
	}
	if err := CheckPlanEdit(old, p, dir, func(j *Job) (bool, error) { return exists(filepath.Join(dir, j.Dir, doneFile)), nil }); err != nil {
		return err
	}
	return writeText(path, bytes.NewBuffer(enc))
}

// jobDone reports whether j's result is stored (done.json with j's key).
func jobDone(dir string, j *Job) bool {
	var r jobRecord
	return readJSON(filepath.Join(dir, j.Dir, doneFile), &r) == nil && r.Key == j.Key
}

// RunPlan runs every job of plan p that is not done yet, storing results in
// dir (the results folder). Jobs run in dependency order, up to Workers at
// once; a job's result is stored under its key, so a killed run resumes
// where it stopped and an unchanged job is never computed twice. A job that
// fails is recorded (status shows its error) and the jobs that need it
// wait; the others go on. Cancelling ctx stops the running jobs (training
// jobs save their state first).
func RunPlan(ctx context.Context, p *Plan, dir string, o RunOptions) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if o.Workers < 1 {
		o.Workers = 1
	}
	if o.Backend == nil {
		threads := max(1, runtime.GOMAXPROCS(0)/o.Workers)
		o.Backend = func() (kernels.Backend, error) { return cpu.New(threads), nil }
	}
	g := buildGraph(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lock, err := LockDir(dir, "suture experiment run")
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if err := bindPlan(dir, p, g); err != nil {
		return err
	}
	r := &planRunner{o: o, dir: dir, jobs: g.jobs, sched: NewSchedule(g.jobs), running: map[*Job]*RunningJob{}, failed: map[*Job]error{},
		results: make(chan jobResult), progress: make(chan func())}
	for _, j := range g.jobs {
		if jobDone(dir, j) {
			r.sched.Set(j, StateDone)
		}
	}
	if r.backends, err = planBackends(p, o); err != nil {
		return err
	}
	r.cache = &DataCache{}
	for {
		r.startReady(ctx)
		if len(r.running) == 0 {
			break
		}
		select {
		case f := <-r.progress:
			f()
		case res := <-r.results:
			r.finish(ctx, res)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if parked := r.sched.Parked(); len(parked) > 0 {
		return fmt.Errorf("%d job(s) failed, the first: %s: %w (see `suture experiment status`)", len(parked), parked[0].ID, r.failed[parked[0]])
	}
	return nil
}

// planBackends returns a pool of o.Workers backends from o.Backend, each
// set to the plan's precision.
func planBackends(p *Plan, o RunOptions) (chan kernels.Backend, error) {
	backends := make(chan kernels.Backend, o.Workers)
	for range o.Workers {
		b, err := o.Backend()
		if err != nil {
			return nil, err
		}
		if err := kernels.UsePrecision(b, kernels.Precision(p.Precision)); err != nil {
			return nil, fmt.Errorf("plan %s: %w", p.Name, err)
		}
		backends <- b
	}
	return backends, nil
}

// jobResult is how a job run by RunPlan ended, and its duration.
type jobResult struct {
	j   *Job
	err error
	sec float64
}

// planRunner is RunPlan's state. Only RunPlan's goroutine touches its maps;
// a job's goroutine uses the channels only.
type planRunner struct {
	o        RunOptions
	dir      string    // the results folder
	jobs     []*Job    // in plan order
	sched    *Schedule // each job's state, and which may start
	running  map[*Job]*RunningJob
	failed   map[*Job]error // the errors of the jobs parked
	order    []*Job         // running jobs in start order, for the progress line
	stopping bool           // ctx ended while a job ran: start no more
	backends chan kernels.Backend
	cache    *DataCache
	results  chan jobResult
	progress chan func() // a running job's progress, applied by RunPlan's goroutine
}

// snapshot reports the run's progress to o.Progress, if set: fin and ferr
// are the job that just ended and its error.
func (r *planRunner) snapshot(fin *Job, ferr error) {
	if r.o.Progress == nil {
		return
	}
	pr := RunProgress{Total: len(r.jobs), Done: r.sched.Count(StateDone), Failed: len(r.failed), Finished: fin, Err: ferr}
	for _, j := range r.order {
		pr.Running = append(pr.Running, *r.running[j])
	}
	r.o.Progress(pr)
}

// startReady starts the ready jobs, in plan order, while a worker is free,
// unless the run is stopping or ctx has ended.
func (r *planRunner) startReady(ctx context.Context) {
	for _, j := range r.sched.Ready() {
		if r.stopping || ctx.Err() != nil || len(r.running) >= r.o.Workers {
			break
		}
		r.start(ctx, j)
	}
}

// start runs job j in a goroutine on a backend of the pool, which it gives
// back before sending its result.
func (r *planRunner) start(ctx context.Context, j *Job) {
	rj := &RunningJob{ID: j.ID}
	r.sched.Set(j, StateRunning)
	r.running[j] = rj
	r.order = append(r.order, j)
	b := <-r.backends
	env := &jobEnv{b: b, root: r.dir, dir: filepath.Join(r.dir, j.Dir), job: j, load: r.cache.Load}
	env.progress = func(f float64) {
		select {
		case r.progress <- func() { rj.Frac = f; r.snapshot(nil, nil) }:
		case <-ctx.Done():
		}
	}
	backends, results := r.backends, r.results
	go func() {
		start := time.Now()
		err := runJob(ctx, env)
		backends <- b
		results <- jobResult{j, err, time.Since(start).Seconds()}
	}()
	r.snapshot(nil, nil)
}

// finish records how a job ended (done; failed; or neither when ctx has
// ended, and the run then starts no more jobs) and reports progress.
func (r *planRunner) finish(ctx context.Context, res jobResult) {
	delete(r.running, res.j)
	r.order = deleteJob(r.order, res.j)
	switch {
	case res.err == nil:
		r.sched.Set(res.j, StateDone)
	case ctx.Err() != nil:
		r.sched.Set(res.j, StatePending)
		r.stopping = true
	default:
		r.sched.Set(res.j, StateFailed)
		r.failed[res.j] = res.err
	}
	r.snapshot(res.j, res.err)
}

func deleteJob(js []*Job, j *Job) []*Job {
	for i, x := range js {
		if x == j {
			return append(js[:i], js[i+1:]...)
		}
	}
	return js
}

// runJob runs one job in its locked folder and records the outcome.
func runJob(ctx context.Context, env *jobEnv) error {
	j := env.job
	lock, err := lockRetry(env.dir, "suture experiment run: "+j.ID)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	start := time.Now()
	err = j.run(ctx, env)
	rec := jobRecord{ID: j.ID, Key: j.Key, Seconds: time.Since(start).Seconds(), At: time.Now().UTC().Format(time.RFC3339)}
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		var prev jobRecord
		readJSON(filepath.Join(env.dir, failedFile), &prev)
		rec.Error, rec.Attempts = err.Error(), prev.Attempts+1
		if werr := writeJSON(filepath.Join(env.dir, failedFile), rec); werr != nil {
			return fmt.Errorf("%v (and recording the failure: %v)", err, werr)
		}
		return err
	}
	os.Remove(filepath.Join(env.dir, failedFile))
	return writeJSON(filepath.Join(env.dir, doneFile), rec)
}

// lockRetry takes a job folder's lock, waiting briefly when `status` is
// looking at it.
func lockRetry(dir, what string) (*Lock, error) {
	var err error
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for range 50 {
		var l *Lock
		if l, err = LockFile(filepath.Join(dir, jobLockFile), dir, what); err == nil || !errors.Is(err, ErrLocked) {
			return l, err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, err
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeText(path, bytes.NewBuffer(append(b, '\n')))
}

// JobStatus is one job's state in a results folder.
type JobStatus struct {
	Job   *Job
	State JobState // done, running, failed or pending
	// Error and Attempts are set for failed jobs; Seconds for done ones.
	Error    string
	Attempts int
	Seconds  float64
}

// Status reads the state of every job of the plan stored in dir.
func Status(dir string) (*Plan, []JobStatus, error) {
	p, err := LoadStoredPlan(filepath.Join(dir, planFile))
	if err != nil {
		if os.IsNotExist(errors.Unwrap(err)) || os.IsNotExist(err) {
			return nil, nil, fmt.Errorf("%s holds no experiment (no %s)", dir, planFile)
		}
		return nil, nil, err
	}
	g := buildGraph(p)
	out := make([]JobStatus, len(g.jobs))
	for i, j := range g.jobs {
		st := JobStatus{Job: j, State: StatePending}
		jd := filepath.Join(dir, j.Dir)
		var rec jobRecord
		switch {
		case readJSON(filepath.Join(jd, doneFile), &rec) == nil && rec.Key == j.Key:
			st.State, st.Seconds = StateDone, rec.Seconds
		case isLocked(jd):
			st.State = StateRunning
		case readJSON(filepath.Join(jd, failedFile), &rec) == nil:
			st.State, st.Error, st.Attempts = StateFailed, rec.Error, rec.Attempts
		}
		out[i] = st
	}
	return p, out, nil
}

// isLocked reports whether a process holds dir's lock.
func isLocked(dir string) bool {
	return held(filepath.Join(dir, jobLockFile))
}
