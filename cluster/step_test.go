package cluster

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"suture/experiment"
)

// stepJobs is the plan the step tests use: two folds of a, b, federated
// averaging and one stitching (27 jobs: fold k's train a and train b, its
// stitch a <-[b]-> b and sweep, the selection, the tests, fold k's fedavg).
func stepJobs(t *testing.T) ([]*experiment.Job, map[string]*experiment.Job) {
	t.Helper()
	p := experiment.QuickPlan("step", "synth:a", "synth:b")
	p.Approaches = []string{experiment.ApA, experiment.ApB, experiment.ApFed, experiment.ApStitchB}
	jobs := experiment.Jobs(p)
	byID := map[string]*experiment.Job{}
	for _, j := range jobs {
		byID[j.ID] = j
	}
	if len(jobs) != 27 {
		t.Fatalf("the step tests' plan has %d jobs, want 27", len(jobs))
	}
	return jobs, byID
}

// stepCase is one round of step: the queue's records and what the
// coordinator remembers (by job ID), and what it should decide.
type stepCase struct {
	name string
	// The view: jobs done (by w1), parked (ID -> attempts, error "boom"),
	// failed attempts of jobs not parked, federated parties running
	// (ID -> party), tokens published (ID -> how long ago), the live
	// workers when known, done jobs whose files were not fetched.
	done       []string
	parked     map[string]int
	tries      map[string]int
	running    map[string]string
	offeredAgo map[string]time.Duration
	workers    []workerRecord
	known      bool
	unfetched  []string
	// The memory: a round before this one (started), the jobs whose end
	// was reported.
	started     bool
	reported    []string
	lastWaiting string
	fetchRounds int

	retry  []string // jobs whose records are cleared
	ended  []string // "ID by WORKER [done/failed/total]", with ": ERR" for a failure
	over   bool
	err    string   // part of the error ending the run ("" when none)
	offers []string // "CLASS ID", "CLASS ID (PARTY)" for a party's side
	// waiting is the waiting event's "ID/PARTY: REASON" lines; nil: no
	// event (noneWaiting: an event that nothing waits).
	waiting     []string
	noneWaiting bool
}

var stepNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// input builds the case's view and memory.
func (c stepCase) input(byID map[string]*experiment.Job, t *testing.T) (view, memory) {
	key := func(id string) string {
		j := byID[id]
		if j == nil {
			t.Fatalf("%s: no job %q", c.name, id)
		}
		return j.Key
	}
	st := &states{done: map[string]*doneRecord{}, failed: map[string]*triesRecord{}, tries: map[string]*triesRecord{}, runs: map[string][]*runRecord{}}
	for _, id := range c.done {
		st.done[key(id)] = &doneRecord{ID: id, Key: key(id), Worker: "w1"}
	}
	for id, n := range c.parked {
		st.failed[key(id)] = &triesRecord{ID: id, Attempts: n, Error: "boom", Worker: "w2"}
		st.tries[key(id)] = &triesRecord{ID: id, Attempts: n, Error: "boom", Worker: "w2"}
	}
	for id, n := range c.tries {
		st.tries[key(id)] = &triesRecord{ID: id, Attempts: n, Error: "boom", Worker: "w2"}
	}
	for id, party := range c.running {
		st.runs[key(id)] = append(st.runs[key(id)], &runRecord{ID: id, Worker: "w3", Party: party})
	}
	v := view{st: st, offered: map[string]time.Time{}, workers: c.workers, workersKnown: c.known, unfetched: map[string]bool{}, now: stepNow}
	for id, ago := range c.offeredAgo {
		v.offered[key(id)] = stepNow.Add(-ago)
	}
	for _, id := range c.unfetched {
		v.unfetched[key(id)] = true
	}
	m := memory{started: c.started, lastWaiting: c.lastWaiting, fetchRounds: c.fetchRounds}
	if c.reported != nil {
		m.reported = map[string]bool{}
	}
	for _, id := range c.reported {
		m.reported[key(id)] = true
	}
	return v, m
}

// describe writes decision d as the case's fields do.
func describe(d decision) (retry, ended, offers, waiting []string) {
	for _, j := range d.retry {
		retry = append(retry, j.ID)
	}
	for _, e := range d.ended {
		s := fmt.Sprintf("%s by %s [%d/%d/%d]", e.Finished.ID, e.Worker, e.Done, e.Failed, e.Total)
		if e.Err != "" {
			s += ": " + e.Err
		}
		ended = append(ended, s)
	}
	for _, o := range d.offers {
		s := o.class + " " + o.job.ID
		if o.party != "" {
			s += " (" + o.party + ")"
		}
		offers = append(offers, s)
	}
	if d.waiting != nil {
		waiting = []string{}
		for _, w := range d.waiting.Waiting {
			waiting = append(waiting, w.Job.ID+"/"+w.Party+": "+w.Reason)
		}
	}
	return
}

// allBut lists the jobs' IDs but the given ones.
func allBut(jobs []*experiment.Job, except ...string) []string {
	var out []string
	for _, j := range jobs {
		if !slices.Contains(except, j.ID) {
			out = append(out, j.ID)
		}
	}
	return out
}

// freshOffers are a fresh plan's offers: every job without inputs, and of
// federated averaging fold 0's alone, one token per party.
var freshOffers = []string{
	"a.train fold 0: train a", "b.train fold 0: train b", "a.train fold 1: train a", "b.train fold 1: train b",
	"a.fed fold 0: fedavg a || b (a)", "b.fed fold 0: fedavg a || b (b)",
}

// stepCases are TestStep's cases, on stepJobs' jobs.
func stepCases(jobs []*experiment.Job) []stepCase {
	fold0 := []string{"fold 0: train a", "fold 0: train b", "fold 0: stitch a <-[b]-> b", "fold 0: sweep a <-[b]-> b", "fold 0: fedavg a || b"}
	recently := func(ids ...string) map[string]time.Duration {
		m := map[string]time.Duration{}
		for _, id := range ids {
			m[id] = 5 * time.Second
		}
		return m
	}
	siteA := workerRecord{Name: "wa", Parties: []string{"a"}, Allow: experiment.Categories}
	siteB := workerRecord{Name: "wb", Parties: []string{"b"}, Allow: []string{experiment.CatTrain, experiment.CatEval}}
	return []stepCase{{
		name:   "a fresh plan: the jobs without inputs, one federated averaging job (two tokens)",
		offers: freshOffers,
	}, {
		name: "a job finishing is reported once and unlocks its dependants; what was offered lately is not offered again",
		done: []string{"fold 0: train a", "fold 0: train b"}, reported: []string{"fold 0: train a"}, started: true,
		offeredAgo: recently("fold 1: train a", "fold 1: train b", "fold 0: fedavg a || b"),
		ended:      []string{"fold 0: train b by w1 [2/0/27]"},
		offers:     []string{"b.stitch fold 0: stitch a <-[b]-> b"},
	}, {
		name: "tokens published more than 30s ago are published again",
		done: []string{"fold 0: train a", "fold 0: train b"}, reported: []string{"fold 0: train a", "fold 0: train b"}, started: true,
		offeredAgo: map[string]time.Duration{"fold 1: train a": 31 * time.Second, "fold 1: train b": 29 * time.Second,
			"fold 0: fedavg a || b": time.Minute, "fold 0: stitch a <-[b]-> b": time.Second},
		offers: []string{"a.train fold 1: train a", "a.fed fold 0: fedavg a || b (a)", "b.fed fold 0: fedavg a || b (b)"},
	}, {
		name: "a done job whose files are not mirrored yet is reported later, but its dependants are offered",
		done: []string{"fold 0: train a", "fold 0: train b"}, unfetched: []string{"fold 0: train b"}, started: true, reported: []string{},
		offeredAgo: recently("fold 1: train a", "fold 1: train b", "fold 0: fedavg a || b"),
		ended:      []string{"fold 0: train a by w1 [2/0/27]"},
		offers:     []string{"b.stitch fold 0: stitch a <-[b]-> b"},
	}, {
		name:  "a job that failed fewer than MaxAttempts times stays offered",
		tries: map[string]int{"fold 0: train a": 2}, started: true,
		offeredAgo: map[string]time.Duration{"fold 0: train a": time.Minute},
		offers:     freshOffers,
	}, {
		name:   "a job parked at MaxAttempts is reported with its error; its dependants are not offered, the rest are",
		parked: map[string]int{"fold 0: train b": 3}, done: []string{"fold 0: train a"}, reported: []string{"fold 0: train a"}, started: true,
		ended: []string{"fold 0: train b by w2 [1/1/27]: boom (after 3 attempts)"},
		offers: []string{"a.train fold 1: train a", "b.train fold 1: train b",
			"a.fed fold 0: fedavg a || b (a)", "b.fed fold 0: fedavg a || b (b)"},
	}, {
		name:   "jobs parked by an earlier run are retried on the first round, not reported",
		parked: map[string]int{"fold 0: train b": 3, "fold 0: fedavg a || b": 3},
		retry:  []string{"fold 0: train b", "fold 0: fedavg a || b"},
		offers: freshOffers,
	}, {
		name: "one federated averaging job at a time: fold 1's once fold 0's is done",
		done: []string{"fold 0: fedavg a || b"}, started: true, reported: []string{"fold 0: fedavg a || b"},
		offeredAgo: recently("fold 0: train a", "fold 0: train b", "fold 1: train a", "fold 1: train b"),
		offers:     []string{"a.fed fold 1: fedavg a || b (a)", "b.fed fold 1: fedavg a || b (b)"},
	}, {
		name:  "with no live worker every token waits",
		known: true, started: true, offeredAgo: recently("fold 0: train a", "fold 0: train b", "fold 1: train a", "fold 1: train b", "fold 0: fedavg a || b"),
		waiting: []string{
			"fold 0: train a/: no worker is connected", "fold 0: train b/: no worker is connected",
			"fold 1: train a/: no worker is connected", "fold 1: train b/: no worker is connected",
			"fold 0: fedavg a || b/a: no worker is connected", "fold 0: fedavg a || b/b: no worker is connected",
		},
	}, {
		name:  "a job no live worker may take waits, with why; a party's side running does not",
		known: true, workers: []workerRecord{siteA, siteB}, started: true,
		done: []string{"fold 0: train a", "fold 0: train b"}, reported: []string{"fold 0: train a", "fold 0: train b"},
		running:    map[string]string{"fold 0: fedavg a || b": "a"},
		offeredAgo: recently("fold 1: train a", "fold 1: train b", "fold 0: fedavg a || b"),
		offers:     []string{"b.stitch fold 0: stitch a <-[b]-> b"},
		waiting:    []string{"fold 0: stitch a <-[b]-> b/: no live worker that holds its data allows it (wb: its site does not allow stitch jobs (it allows train,eval))"},
	}, {
		name:  "once live workers may take every ready job, an event that nothing waits",
		known: true, workers: []workerRecord{siteA, siteB}, started: true, lastWaiting: "fold 0: train b/...",
		offers: freshOffers, noneWaiting: true,
	}, {
		name:   "the run ends when only parked jobs and the jobs needing them are left",
		parked: map[string]int{"fold 1: train b": 3}, started: true,
		done:     append(slices.Clone(fold0), "fold 1: train a", "fold 1: fedavg a || b"),
		reported: append(slices.Clone(fold0), "fold 1: train a", "fold 1: fedavg a || b"),
		ended:    []string{"fold 1: train b by w2 [7/1/27]: boom (after 3 attempts)"},
		over:     true, err: "1 job(s) failed, the first: fold 1: train b: boom",
	}, {
		name: "a plan whose jobs are all done ends the run once they are reported",
		done: allBut(jobs), reported: allBut(jobs, "fold 1: test a <-[b]-> b on b"), started: true,
		ended: []string{"fold 1: test a <-[b]-> b on b by w1 [27/0/27]"},
		over:  true,
	}, {
		name: "a plan whose jobs are all done goes on while the last one's files are not mirrored",
		done: allBut(jobs), reported: allBut(jobs, "fold 1: test a <-[b]-> b on b"), started: true,
		unfetched: []string{"fold 1: test a <-[b]-> b on b"},
	}, {
		name: "and ends with an error naming the job when they could not be mirrored in maxFetchRounds rounds",
		done: allBut(jobs), reported: allBut(jobs, "fold 1: test a <-[b]-> b on b"), started: true,
		unfetched: []string{"fold 1: test a <-[b]-> b on b"}, fetchRounds: maxFetchRounds - 1,
		over: true, err: "could not be copied into the results folder in 30 tries, the first: fold 1: test a <-[b]-> b on b",
	}}
}

// TestStep: the coordinator's decisions on the queue's records, without
// a server or a clock.
func TestStep(t *testing.T) {
	jobs, byID := stepJobs(t)
	cases := stepCases(jobs)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, m := c.input(byID, t)
			d, next := step(jobs, v, m)
			retry, ended, offers, waiting := describe(d)
			check := func(what string, got, want []string) {
				t.Helper()
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s:\n%s\nwant:\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
			check("retried", retry, c.retry)
			check("ended", ended, c.ended)
			check("offers", offers, c.offers)
			if c.noneWaiting {
				if waiting == nil || len(waiting) > 0 {
					t.Errorf("waiting: %q, want an event that nothing waits", waiting)
				}
			} else {
				if (waiting == nil) != (c.waiting == nil) {
					t.Errorf("waiting event: %v, want one: %v", waiting != nil, c.waiting != nil)
				}
				check("waiting", waiting, c.waiting)
			}
			if d.over != c.over || (d.err == nil) != (c.err == "") || (d.err != nil && !strings.Contains(d.err.Error(), c.err)) {
				t.Errorf("over %v, err %v; want over %v, err %q", d.over, d.err, c.over, c.err)
			}
			if !next.started {
				t.Error("the memory does not say a round was decided")
			}
			for _, e := range d.ended {
				if !next.reported[e.Finished.Key] {
					t.Errorf("%s was reported, and the memory does not say so", e.Finished.ID)
				}
			}
		})
	}
}

// TestStepRounds: step over successive rounds, its memory carried: the
// parked jobs of an earlier run are retried on the first round only, an
// end is reported once, and the waiting jobs only when they change.
func TestStepRounds(t *testing.T) {
	jobs, byID := stepJobs(t)
	offered := map[string]time.Duration{}
	for _, o := range freshOffers {
		id, _, _ := strings.Cut(strings.SplitN(o, " ", 2)[1], " (")
		offered[id] = time.Second
	}
	parkedB := map[string]int{"fold 0: train b": 3}
	rounds := []struct {
		c                    stepCase
		retry, ended, offers int
		waiting              int // lines of the waiting event; -1: none
	}{
		{stepCase{parked: parkedB, known: true}, 1, 0, 6, 6},                      // an earlier run's parked job: retried
		{stepCase{known: true, offeredAgo: offered}, 0, 0, 0, -1},                 // nothing new
		{stepCase{parked: parkedB, known: true, offeredAgo: offered}, 0, 1, 0, 5}, // parked in this run: reported, waits no more
		{stepCase{parked: parkedB, known: true, offeredAgo: offered}, 0, 0, 0, -1},
	}
	var m memory
	for i, r := range rounds {
		v, _ := r.c.input(byID, t)
		var d decision
		d, m = step(jobs, v, m)
		retry, ended, offers, waiting := describe(d)
		nw := len(waiting)
		if waiting == nil {
			nw = -1
		}
		if len(retry) != r.retry || len(ended) != r.ended || len(offers) != r.offers || nw != r.waiting || d.over {
			t.Errorf("round %d: retried %q, ended %q, offers %q, waiting %q (over %v); want %d retried, %d ended, %d offers, %d waiting",
				i+1, retry, ended, offers, waiting, d.over, r.retry, r.ended, r.offers, r.waiting)
		}
	}
}
