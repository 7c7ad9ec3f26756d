package experiment

import (
	"bytes"
	"errors"
	"testing"
)

// TestWriteStatus: a results folder's status and a queue's, as `suture
// experiment status` prints them (with and without --all).
func TestWriteStatus(t *testing.T) {
	folder := []StatusRow{
		{ID: "fold 0: train a", State: StateDone, Seconds: 61.4},
		{ID: "fold 0: train b", State: StateRunning},
		{ID: "fold 0: stitch", State: StatePending},
		{ID: "fold 1: train a", State: StateFailed, Error: "boom", Attempts: 2},
	}
	queue := []StatusRow{
		{ID: "fold 0: train a", State: StateDone, Worker: "w1", Seconds: 3599.6},
		{ID: "fold 0: train b", State: StateRunning, Worker: "w2", Note: "on w2, 40%"},
		{ID: "fold 0: a || b", State: StateWaiting, Note: "waiting for a willing worker: no worker is connected"},
		{ID: "fold 1: train a", State: StateQueued, Note: "attempt 1 failed on w1: boom"},
		{ID: "fold 1: train b", State: StateQueued},
		{ID: "fold 1: stitch", State: StatePending},
		{ID: "fold 2: train a", State: StateFailed, Worker: "w1", Error: "boom", Attempts: 3},
	}
	for _, c := range []struct {
		rows  []StatusRow
		queue string
		all   bool
		want  string
	}{
		{folder, "", false, `plan "p": 4 jobs: 1 done, 1 running, 1 pending, 1 failed (done jobs took 1m1s)
running  fold 0: train b
failed   fold 1: train a (attempts 2): boom
`},
		{folder, "", true, `plan "p": 4 jobs: 1 done, 1 running, 1 pending, 1 failed (done jobs took 1m1s)
done     fold 0: train a
running  fold 0: train b
pending  fold 0: stitch
failed   fold 1: train a (attempts 2): boom
`},
		{queue, "nats://h:1", false, `plan "p" on nats://h:1: 7 jobs: 1 done, 1 running, 2 queued, 1 waiting for a willing worker, 1 pending, 1 failed (done jobs took 1h0m0s)
running  fold 0: train b: on w2, 40%
waiting  fold 0: a || b: waiting for a willing worker: no worker is connected
queued   fold 1: train a: attempt 1 failed on w1: boom
failed   fold 2: train a (attempts 3, last on w1): boom
`},
		{queue, "nats://h:1", true, `plan "p" on nats://h:1: 7 jobs: 1 done, 1 running, 2 queued, 1 waiting for a willing worker, 1 pending, 1 failed (done jobs took 1h0m0s)
done     fold 0: train a (by w1, 1h0m0s)
running  fold 0: train b: on w2, 40%
waiting  fold 0: a || b: waiting for a willing worker: no worker is connected
queued   fold 1: train a: attempt 1 failed on w1: boom
queued   fold 1: train b
pending  fold 1: stitch
failed   fold 2: train a (attempts 3, last on w1): boom
`},
	} {
		var b bytes.Buffer
		WriteStatus(&b, "p", c.queue, c.rows, c.all)
		if b.String() != c.want {
			t.Errorf("queue %q, all %v:\n%s\nwant\n%s", c.queue, c.all, b.String(), c.want)
		}
	}
}

// TestParseCategories: a site's policy, blanks ignored; an unknown
// category or none is an error.
func TestParseCategories(t *testing.T) {
	if got, err := ParseCategories(" train, eval,"); err != nil || len(got) != 2 || got[0] != "train" || got[1] != "eval" {
		t.Errorf("%q, %v", got, err)
	}
	if _, err := ParseCategories("train,steal"); err == nil || err.Error() != `unknown job category "steal" (known: train,finetune,stitch,eval)` {
		t.Errorf("steal: %v", err)
	}
	for _, l := range []string{"", " , "} {
		if _, err := ParseCategories(l); !errors.Is(err, ErrNoCategory) {
			t.Errorf("%q: %v", l, err)
		}
	}
}
