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
	sched := NewSchedule(g.jobs)
	for _, j := range g.jobs {
		if jobDone(dir, j) {
			sched.Set(j, StateDone)
		}
	}
	backends := make(chan kernels.Backend, o.Workers)
	for range o.Workers {
		b, err := o.Backend()
		if err != nil {
			return err
		}
		if err := kernels.UsePrecision(b, kernels.Precision(p.Precision)); err != nil {
			return fmt.Errorf("plan %s: %w", p.Name, err)
		}
		backends <- b
	}
	cache := &dataCache{}
	type result struct {
		j   *Job
		err error
		sec float64
	}
	results := make(chan result)
	running := map[*Job]*RunningJob{}
	failed := map[*Job]error{}
	var order []*Job // running jobs in start order, for the progress line
	snapshot := func(fin *Job, ferr error) {
		if o.Progress == nil {
			return
		}
		pr := RunProgress{Total: len(g.jobs), Done: sched.Count(StateDone), Failed: len(failed), Finished: fin, Err: ferr}
		for _, j := range order {
			pr.Running = append(pr.Running, *running[j])
		}
		o.Progress(pr)
	}
	progressCh := make(chan func())
	stopping := false
	for {
		for _, j := range sched.Ready() {
			if stopping || ctx.Err() != nil || len(running) >= o.Workers {
				break
			}
			sched.Set(j, StateRunning)
			rj := &RunningJob{ID: j.ID}
			running[j] = rj
			order = append(order, j)
			b := <-backends
			env := &jobEnv{b: b, root: dir, dir: filepath.Join(dir, j.Dir), job: j, load: cache.load}
			env.progress = func(f float64) {
				select {
				case progressCh <- func() { rj.Frac = f; snapshot(nil, nil) }:
				case <-ctx.Done():
				}
			}
			go func() {
				start := time.Now()
				err := runJob(ctx, env)
				backends <- b
				results <- result{j, err, time.Since(start).Seconds()}
			}()
			snapshot(nil, nil)
		}
		if len(running) == 0 {
			break
		}
		select {
		case f := <-progressCh:
			f()
		case r := <-results:
			delete(running, r.j)
			order = deleteJob(order, r.j)
			switch {
			case r.err == nil:
				sched.Set(r.j, StateDone)
			case ctx.Err() != nil:
				sched.Set(r.j, StatePending)
				stopping = true
			default:
				sched.Set(r.j, StateFailed)
				failed[r.j] = r.err
			}
			snapshot(r.j, r.err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if parked := sched.Parked(); len(parked) > 0 {
		return fmt.Errorf("%d job(s) failed, the first: %s: %w (see `suture experiment status`)", len(parked), parked[0].ID, failed[parked[0]])
	}
	return nil
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
	p, err := loadStoredPlan(filepath.Join(dir, planFile))
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
