package cluster

import (
	"fmt"
	"maps"
	"time"

	"suture/experiment"
)

// The coordinator's decisions, apart from its I/O: each round RunPlan
// reads the queue into a view, step decides what to do, and RunPlan does
// it (planRun.carryOut). step reads no clock and does no I/O, so that its
// rules are tested on plain records (step_test.go).

// offerEvery is how long a ready job's tokens stand before they are
// published again (a token lost with a restarting server is replaced;
// the stream keeps one token per job and party).
const offerEvery = 30 * time.Second

// view is what the coordinator knows in one round, as plain data.
type view struct {
	st *states // the queue's job records (done, failed, tries, run)
	// offered is when this run last published each job's tokens.
	offered map[string]time.Time
	// workers are the live workers, when workersKnown (RunPlan reads them
	// only for a Progress callback, and a failed read is no change).
	workers      []workerRecord
	workersKnown bool
	// unfetched are the done jobs whose files could not be mirrored into
	// the results folder yet: their end is reported in a later round.
	unfetched map[string]bool
	now       time.Time
}

// memory is what step carries from one round to the next; the zero
// memory is a run's start.
type memory struct {
	started     bool            // a round was decided (the parked jobs were retried)
	reported    map[string]bool // job keys whose end was reported
	lastWaiting string          // waitingKey of the last Waiting event
	// fetchRounds counts the rounds in a row that found every job done
	// and some done job's files not yet mirrored.
	fetchRounds int
}

// maxFetchRounds is how many rounds in a row RunPlan tries to mirror the
// files of the last done jobs before it ends with an error naming them.
const maxFetchRounds = 30

// offer is a token to publish: a job's, or one party's side of a
// federated averaging job (class: the consumer class, tokens).
type offer struct {
	job          *experiment.Job
	class, party string
}

// decision is what one round does, in this order: clear the records and
// tokens of the jobs in retry; emit the ended events; when over, end the
// run with err (nil: every job is done); else publish the offers and emit
// waiting, when set.
type decision struct {
	retry   []*experiment.Job
	ended   []RunEvent
	over    bool
	err     error
	offers  []offer
	waiting *RunEvent
}

// step is one round of the coordinator: from the plan's jobs (in plan
// order), what the round read (v) and what earlier rounds left (m), what
// to do and what to remember.
//
//   - The first round retries the jobs an earlier run parked as failed:
//     their records are to be cleared, and step already counts them as
//     not failed.
//   - A job done (its files mirrored, when RunPlan mirrors) or parked as
//     failed is reported once, with the run's counts.
//   - The run is over when every job is done, or when no job is ready and
//     some are parked: an error naming the first; the jobs needing the
//     parked ones cannot run.
//   - Else the ready jobs not offered within offerEvery are offered: one
//     token per job, one per party for federated averaging, and of the
//     federated averaging jobs only the first (one at a time, so that two
//     sites' workers never wait on each other's other folds).
//   - With the live workers known, a change in the ready jobs' tokens that
//     no live worker may take (waitingJobs) is reported.
func step(jobs []*experiment.Job, v view, m memory) (decision, memory) {
	var d decision
	st := v.st
	if !m.started {
		d.retry, st = unpark(jobs, st)
	}
	next := memory{started: true, reported: maps.Clone(m.reported), lastWaiting: m.lastWaiting}
	if next.reported == nil {
		next.reported = map[string]bool{}
	}
	ev := RunEvent{Total: len(jobs)}
	for _, j := range jobs {
		switch {
		case st.done[j.Key] != nil:
			ev.Done++
		case st.failed[j.Key] != nil:
			ev.Failed++
		}
	}
	d.ended = endedEvents(jobs, st, v.unfetched, next.reported, ev)
	ready, parked := readyJobs(jobs, st)
	if len(ready) == 0 {
		if ev.Done == len(jobs) {
			return d, endOrFetch(&d, jobs, next, m.fetchRounds)
		}
		if len(parked) > 0 {
			first := parked[0]
			d.over = true
			d.err = fmt.Errorf("%d job(s) failed, the first: %s: %s (the queue's status lists every failure); the jobs needing them were not run",
				len(parked), first.ID, st.failed[first.Key].Error)
			return d, next
		}
	}
	d.offers = offers(ready, v)
	if v.workersKnown {
		waiting := waitingJobs(ready, st, v.workers)
		if key := waitingKey(waiting); key != next.lastWaiting {
			next.lastWaiting = key
			e := ev
			e.Waiting = waiting
			if waiting == nil {
				e.Waiting = []Waiting{}
			}
			d.waiting = &e
		}
	}
	return d, next
}

// endOrFetch ends a run whose jobs are all done (d.over), unless the
// files of some are not mirrored yet: then the run goes on, so that the
// next rounds try again, and ends with an error naming them after
// maxFetchRounds rounds in a row.
func endOrFetch(d *decision, jobs []*experiment.Job, next memory, rounds int) memory {
	var missing []*experiment.Job
	for _, j := range jobs {
		if !next.reported[j.Key] {
			missing = append(missing, j)
		}
	}
	if len(missing) == 0 {
		d.over = true
		return next
	}
	next.fetchRounds = rounds + 1
	if next.fetchRounds >= maxFetchRounds {
		d.over = true
		d.err = fmt.Errorf("every job is done, but the files of %d job(s) could not be copied into the results folder in %d tries, the first: %s; run the plan again with the same folder to copy them",
			len(missing), next.fetchRounds, missing[0].ID)
	}
	return next
}

// unpark lists the jobs parked as failed (and not done), and returns st
// as it is once their failed and tries records are cleared.
func unpark(jobs []*experiment.Job, st *states) ([]*experiment.Job, *states) {
	var parked []*experiment.Job
	for _, j := range jobs {
		if st.failed[j.Key] != nil && st.done[j.Key] == nil {
			parked = append(parked, j)
		}
	}
	if parked == nil {
		return nil, st
	}
	c := *st
	c.failed, c.tries = maps.Clone(st.failed), maps.Clone(st.tries)
	for _, j := range parked {
		delete(c.failed, j.Key)
		delete(c.tries, j.Key)
	}
	return parked, &c
}

// endedEvents lists an event (ev with Finished set) for each job done or
// parked as failed and not in reported, which it adds them to; a done job
// whose files are unfetched waits for a later round.
func endedEvents(jobs []*experiment.Job, st *states, unfetched, reported map[string]bool, ev RunEvent) []RunEvent {
	var out []RunEvent
	for _, j := range jobs {
		if reported[j.Key] {
			continue
		}
		e := ev
		if d := st.done[j.Key]; d != nil {
			if unfetched[j.Key] {
				continue
			}
			e.Finished, e.Worker = j, d.Worker
		} else if f := st.failed[j.Key]; f != nil {
			e.Finished, e.Worker, e.Err = j, f.Worker, fmt.Sprintf("%s (after %d attempts)", f.Error, f.Attempts)
		} else {
			continue
		}
		reported[j.Key] = true
		out = append(out, e)
	}
	return out
}

// oneFedAvg is ready without the federated averaging jobs after the
// first: they are offered one at a time, so that two sites' workers never
// hold parts of two different ones.
func oneFedAvg(ready []*experiment.Job) []*experiment.Job {
	out := make([]*experiment.Job, 0, len(ready))
	fedSeen := false
	for _, j := range ready {
		if j.Kind == experiment.KindFedAvg {
			if fedSeen {
				continue
			}
			fedSeen = true
		}
		out = append(out, j)
	}
	return out
}

// offers lists the tokens of the ready jobs not offered within offerEvery
// of v.now, and of only the first federated averaging job among them.
func offers(ready []*experiment.Job, v view) []offer {
	var out []offer
	for _, j := range oneFedAvg(ready) {
		if v.now.Sub(v.offered[j.Key]) < offerEvery {
			continue
		}
		for _, t := range tokens(j) {
			out = append(out, offer{job: j, class: t[0], party: t[1]})
		}
	}
	return out
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
