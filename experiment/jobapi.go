package experiment

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"suture/kernels"
)

// The plan's job graph for runners other than RunPlan (a work queue whose
// workers sit at the parties' sites): the same jobs, the same keys and
// folders, run one at a time where their inputs have been put in place.

// Jobs lays out plan p's jobs, every job after its dependencies.
func Jobs(p *Plan) []*Job { return buildGraph(p).jobs }

// JobEnv is what RunJob gives a job.
type JobEnv struct {
	Backend kernels.Backend
	// Root is a results folder: the job runs in Root/Job.Dir and reads its
	// inputs from its dependencies' folders there.
	Root string
	// Load reads a dataset spec of the plan (nil: LoadData). A site's
	// worker maps its own party's spec to its own copy of the data and
	// refuses the others.
	Load Loader
	// Progress receives the fraction done (may be nil).
	Progress func(frac float64)
}

func (e JobEnv) env(j *Job, dir string) *jobEnv {
	load := e.Load
	if load == nil {
		load = LoadData
	}
	progress := e.Progress
	if progress == nil {
		progress = func(float64) {}
	}
	return &jobEnv{b: e.Backend, root: e.Root, dir: dir, job: j, load: load, progress: progress}
}

// RunJob runs job j as RunPlan does: in its locked folder Root/j.Dir,
// resuming from its Resume files when they are there, and records done.json
// (or failed.json with the error). The files of j.Inputs must be in place.
// A federated averaging job runs both parties here (see RunFedParty for
// one party's side).
func RunJob(ctx context.Context, j *Job, env JobEnv) error {
	if env.Backend == nil {
		return fmt.Errorf("job %s: no backend", j.ID)
	}
	return runJob(ctx, env.env(j, filepath.Join(env.Root, j.Dir)))
}

// FedPartyDir is the folder, relative to a results folder, where party
// ("a" or "b") runs its side of federated averaging job j.
func FedPartyDir(j *Job, party string) string { return filepath.Join(j.Dir, "party-"+party) }

// RunFedParty runs one party's side of federated averaging job j (kind
// fedavg) in Root/FedPartyDir(j, party), exchanging weights with the other
// party through ex (FedAvgParty). It resumes from the party's checkpoint
// when that is in the folder. Party a's folder ends with the job's
// last.ckpt and log.csv.
func RunFedParty(ctx context.Context, j *Job, party string, env JobEnv, ex FedExchange) error {
	if j.fed == nil {
		return fmt.Errorf("job %s is not federated averaging", j.ID)
	}
	if party != "a" && party != "b" {
		return fmt.Errorf("job %s: party %q, want a or b", j.ID, party)
	}
	p := map[string]int{"a": 0, "b": 1}[party]
	dir := filepath.Join(env.Root, FedPartyDir(j, party))
	e := env.env(j, dir)
	spec, err := j.fed(dir, e.load)
	if err != nil {
		return err
	}
	spec.Resume = exists(filepath.Join(dir, FedPartyCheckpoint))
	_, err = FedAvgParty(ctx, e.b, spec, p, ex, trainProgress(e))
	return err
}

// BindResults ties results folder dir to plan p as RunPlan does (a folder
// holds one plan's results; an edited plan is refused once test scores
// exist), for a runner that fills the folder with results computed
// elsewhere.
func BindResults(dir string, p *Plan) error {
	if err := p.ValidateSettings(); err != nil {
		return err
	}
	return bindPlan(dir, p, buildGraph(p))
}

// JobDone reports whether results folder dir holds job j's result.
func JobDone(dir string, j *Job) bool { return jobDone(dir, j) }

// RecordDone writes j's done.json into dir/j.Dir, for a result computed
// elsewhere (by worker, in seconds) whose files are in place.
func RecordDone(dir string, j *Job, seconds float64, at time.Time, worker string) error {
	rec := jobRecord{ID: j.ID, Key: j.Key, Seconds: seconds, At: at.UTC().Format(time.RFC3339), Worker: worker}
	return writeJSON(filepath.Join(dir, j.Dir, doneFile), rec)
}
