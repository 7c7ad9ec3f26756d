package experiment

import (
	"bytes"
	"fmt"
)

// JobKind names what a job computes; it is part of the job's key and of
// its folder's name.
type JobKind string

// The kinds of job a plan has.
const (
	KindTrain    JobKind = "train"    // a U-Net on one party's data
	KindPooled   JobKind = "pooled"   // a U-Net on both parties' data ("a + b")
	KindFineTune JobKind = "finetune" // a trained U-Net fine-tuned on the other party's data
	KindFedAvg   JobKind = "fedavg"   // federated averaging ("a || b")
	KindStitch   JobKind = "stitch"   // stitch training
	KindSweep    JobKind = "sweep"    // every stitch-ensemble scored on validation data
	KindSelect   JobKind = "select"   // the stitch-ensembles chosen, before any test
	KindTest     JobKind = "test"     // an approach scored on a test set
	KindDistill  JobKind = "distill"  // a student distilled from a stitch-ensemble
)

// Trains reports whether jobs of kind k train a network epoch by epoch
// (with a plan's curves, their log.csv has a validation score per epoch).
func (k JobKind) Trains() bool {
	switch k {
	case KindTrain, KindPooled, KindFineTune, KindFedAvg, KindDistill:
		return true
	}
	return false
}

// JobState is where a job stands in a run. A results folder knows
// pending, running, done and failed; a work queue also queued and
// waiting.
type JobState string

// The states of a job.
const (
	StatePending JobState = "pending" // its inputs are not all done
	StateQueued  JobState = "queued"  // ready: offered, or about to be
	StateWaiting JobState = "waiting" // ready, but no live worker may take it
	StateRunning JobState = "running"
	StateDone    JobState = "done"
	StateFailed  JobState = "failed" // parked: the jobs needing it wait
)

// Schedule is the scheduling core that both runners drive, the local one
// (RunPlan) and a work queue's coordinator: the plan's jobs in order, the
// state of each, and which may start. It holds no clock and does no I/O;
// a runner tells it what happened (Set) and asks what to start (Ready).
type Schedule struct {
	jobs  []*Job
	state map[*Job]JobState
}

// NewSchedule starts every job of jobs (in plan order) as pending.
func NewSchedule(jobs []*Job) *Schedule {
	s := &Schedule{jobs: jobs, state: make(map[*Job]JobState, len(jobs))}
	for _, j := range jobs {
		s.state[j] = StatePending
	}
	return s
}

// Set records job j's state.
func (s *Schedule) Set(j *Job, st JobState) { s.state[j] = st }

// State is job j's recorded state.
func (s *Schedule) State(j *Job) JobState { return s.state[j] }

// ready reports whether job j may start: not started, finished or parked,
// and every input done.
func (s *Schedule) ready(j *Job) bool {
	switch s.state[j] {
	case StateRunning, StateDone, StateFailed:
		return false
	}
	for _, d := range j.Deps {
		if s.state[d] != StateDone {
			return false
		}
	}
	return true
}

// Ready lists the jobs that may start, in plan order: a runner starts the
// first of them its workers have room for.
func (s *Schedule) Ready() []*Job {
	var out []*Job
	for _, j := range s.jobs {
		if s.ready(j) {
			out = append(out, j)
		}
	}
	return out
}

// Count is the number of jobs in state st.
func (s *Schedule) Count(st JobState) int {
	n := 0
	for _, j := range s.jobs {
		if s.state[j] == st {
			n++
		}
	}
	return n
}

// Parked lists the failed jobs in plan order.
func (s *Schedule) Parked() []*Job {
	var out []*Job
	for _, j := range s.jobs {
		if s.state[j] == StateFailed {
			out = append(out, j)
		}
	}
	return out
}

// Finished reports whether every job is done.
func (s *Schedule) Finished() bool { return s.Count(StateDone) == len(s.jobs) }

// CheckPlanEdit is the rule for storing plan p where the encoded plan old
// (nil: none) is stored already, the same for a results folder and a work
// queue (DESIGN.md 7.1): a new place, or the same plan, is accepted; a
// plan of another name is refused; the same plan edited is refused once a
// test job of the stored plan is done (testDone says, for one of its
// jobs), since the protocol asks for a new plan with a new name. where
// names the place in the errors.
func CheckPlanEdit(old []byte, p *Plan, where string, testDone func(*Job) (bool, error)) error {
	if old == nil {
		return nil
	}
	enc, err := p.Encode()
	if err != nil {
		return err
	}
	if bytes.Equal(bytes.TrimSpace(old), bytes.TrimSpace(enc)) {
		return nil
	}
	prev, err := ParseStoredPlan(old, where)
	if err != nil {
		return fmt.Errorf("%w: %s does not hold a readable plan: %v", ErrPlanMismatch, where, err)
	}
	if prev.Name != p.Name {
		return fmt.Errorf("%w: %s holds the results of plan %q, not %q; use another folder for a new plan", ErrPlanMismatch, where, prev.Name, p.Name)
	}
	for _, j := range buildGraph(prev).jobs {
		if j.Kind != KindTest {
			continue
		}
		done, err := testDone(j)
		if err != nil {
			return err
		}
		if done {
			return fmt.Errorf("%w: plan %q was edited after test scores were computed in %s; the protocol (DESIGN.md 7.1) asks for a new plan with a new name", ErrPlanMismatch, p.Name, where)
		}
	}
	return nil
}
