package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"suture/experiment"
)

// Site is what a worker holds and allows: the parties whose data it has
// and the job categories its site lets run on that data.
type Site struct {
	Parties []string
	Allow   []string
}

// refuses says why a worker of site s may not run job j (party: the side
// of a federated averaging job), or "" when it may. A job reading a
// party's data needs that party's data here and its category allowed;
// the selection reads no data and runs anywhere.
func (s Site) refuses(j *experiment.Job, party string) string {
	parties := j.Parties
	if j.Kind == experiment.KindFedAvg {
		parties = []string{party}
	}
	for _, p := range parties {
		if !slices.Contains(s.Parties, p) {
			return fmt.Sprintf("it does not hold party %s's data", p)
		}
	}
	if c := j.Category(); c != "" && !slices.Contains(s.Allow, c) {
		return fmt.Sprintf("its site does not allow %s jobs (it allows %s)", c, strings.Join(s.Allow, ","))
	}
	return ""
}

// liveWorkers lists the registered workers heard from within workerGone.
func (q *Queue) liveWorkers(ctx context.Context) ([]workerRecord, error) {
	recs, err := q.snapshot(ctx, q.workers, ">")
	if err != nil {
		return nil, err
	}
	var out []workerRecord
	for k, v := range recs {
		var w workerRecord
		if err := json.Unmarshal(v, &w); err != nil {
			return nil, fmt.Errorf("worker record %s: %w", k, err)
		}
		if time.Since(w.At) < workerGone {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b workerRecord) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// refusal says why no live worker may take job j's token (party's, for
// federated averaging), or "" when one may.
func refusal(ws []workerRecord, j *experiment.Job, party string) string {
	if len(ws) == 0 {
		return "no worker is connected"
	}
	need := j.Parties
	if j.Kind == experiment.KindFedAvg {
		need = []string{party}
	}
	var holders, reasons []string
	for _, w := range ws {
		r := Site{Parties: w.Parties, Allow: w.Allow}.refuses(j, party)
		if r == "" {
			return ""
		}
		if !strings.HasPrefix(r, "it does not hold") {
			holders = append(holders, w.Name)
			reasons = append(reasons, w.Name+": "+r)
		}
	}
	if len(holders) == 0 {
		what := fmt.Sprintf("party %s's data", strings.Join(need, ""))
		if len(need) == 2 {
			what = "both parties' data (pooled data is data shared by definition)"
		}
		return "no live worker holds " + what
	}
	return "no live worker that holds its data allows it (" + strings.Join(reasons, "; ") + ")"
}

// waitingJobs is the one definition of a job waiting for a willing
// worker, which the coordinator's events and Status share: among the
// ready jobs (readyJobs: offered, or offered on the coordinator's next
// look), each token that no live worker may take, with why. Of the
// federated averaging jobs only the first is offered (one at a time), and
// a party's side already running does not wait.
func waitingJobs(ready []*experiment.Job, st *states, ws []workerRecord) []Waiting {
	var out []Waiting
	for _, j := range oneFedAvg(ready) {
		for _, t := range tokens(j) {
			if j.Kind == experiment.KindFedAvg && slices.ContainsFunc(st.runs[j.Key], func(r *runRecord) bool { return r.Party == t[1] }) {
				continue
			}
			if r := refusal(ws, j, t[1]); r != "" {
				out = append(out, Waiting{Job: j, Party: t[1], Reason: r})
			}
		}
	}
	return out
}

// QueueJobStatus is one job's state on the queue (experiment.JobStatus is a results folder's).
type QueueJobStatus struct {
	Job *experiment.Job
	// State is done, running, queued (offered, a worker may take it),
	// waiting (offered, but no live worker may take it: Note says why),
	// pending (its inputs are not done) or failed (parked: Error).
	State    experiment.JobState
	Worker   string // who finished it, or runs it
	Seconds  float64
	Error    string
	Attempts int
	// Note says more: progress and what a running job does (a federated
	// party waiting for the other's weights), why a job waits, the last
	// error of a job being retried.
	Note string
}

// Status reads the state of every job of the plan named name ("" when the
// queue holds one plan).
func Status(ctx context.Context, q *Queue, name string) (*experiment.Plan, []QueueJobStatus, error) {
	p, err := q.Plan(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	st, err := readStates(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	ws, err := q.liveWorkers(ctx)
	if err != nil {
		return nil, nil, err
	}
	jobs := experiment.Jobs(p)
	ready, _ := readyJobs(jobs, st)
	waiting := waitingJobs(ready, st, ws)
	out := make([]QueueJobStatus, len(jobs))
	now := time.Now()
	fedSeen := false
	for i, j := range jobs {
		s := QueueJobStatus{Job: j, State: experiment.StatePending}
		switch {
		case st.done[j.Key] != nil:
			d := st.done[j.Key]
			s.State, s.Worker, s.Seconds = experiment.StateDone, d.Worker, d.Seconds
		case st.failed[j.Key] != nil:
			f := st.failed[j.Key]
			s.State, s.Worker, s.Error, s.Attempts = experiment.StateFailed, f.Worker, f.Error, f.Attempts
		case slices.Contains(ready, j):
			var notes []string
			running := false
			for _, r := range st.runs[j.Key] {
				running = true
				n := fmt.Sprintf("on %s", r.Worker)
				if r.Party != "" {
					n = fmt.Sprintf("party %s on %s", r.Party, r.Worker)
				}
				n += fmt.Sprintf(", %.0f%%", 100*r.Frac)
				if r.Note != "" {
					n += ": " + r.Note
				}
				if silent := now.Sub(r.At); silent > time.Duration(r.AckWait*float64(time.Second)) {
					n += fmt.Sprintf(" (no heartbeat for %s: the worker may be gone; the job is offered again after the ack wait)", silent.Round(time.Second))
				}
				notes = append(notes, n)
				s.Worker = r.Worker
			}
			var waits []string
			for _, w := range waiting {
				if w.Job != j {
					continue
				}
				r := "waiting for a willing worker: " + w.Reason
				if w.Party != "" {
					r = "party " + w.Party + ": " + r
				}
				waits = append(waits, r)
			}
			switch {
			case j.Kind == experiment.KindFedAvg && !running && fedSeen:
				s.State = experiment.StateQueued
				notes = append(notes, "after the federated job before it (one at a time)")
			case running:
				s.State = experiment.StateRunning
			case len(waits) > 0:
				s.State = experiment.StateWaiting
			default:
				s.State = experiment.StateQueued
			}
			if j.Kind == experiment.KindFedAvg {
				fedSeen = true
			}
			notes = append(notes, waits...)
			if t := st.tries[j.Key]; t != nil {
				s.Attempts = t.Attempts
				notes = append(notes, fmt.Sprintf("attempt %d failed on %s: %s", t.Attempts, t.Worker, t.Error))
			}
			s.Note = strings.Join(notes, "; ")
		}
		out[i] = s
	}
	return p, out, nil
}
