package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"suture/experiment"
	"suture/io/ckpt"
	"suture/tensor"
	"suture/unet"
)

// Federated averaging across sites: each party's side of the job is a
// token of its own ("a.fed", "b.fed"), run by a worker holding that party's
// data (experiment.RunFedParty). The two sides meet through the jobs
// bucket and the object store:
//
//	fed.KEY.info.P        party P's data description (shape, classes, images)
//	fed.KEY.round.R.P     party P's round R: its log, the digest of the
//	                      weights it started from, the digest of its weights
//	fed/KEY/R/P (object)  party P's weights after its epoch of round R
//	KEY.resume/party-P/party.ckpt (object)  P's state after its last round
//	fed.KEY.err.P         P's last failure (the other side stops waiting)
//	fed.KEY.end.P         P has finished; the last to finish cleans up
//
// A party keeps its last two rounds' weights: the other side resumes at
// most one round back. A side that waits for the other says so in its run
// record (status shows it), and waits until the other comes back or the
// job is parked; it never averages with anything but the other's weights
// of the same round started from the same average.

var (
	errParked      = errors.New("the job was parked as failed")
	errOtherFailed = errors.New("the other party failed")
)

type roundRecord struct {
	Log    []unet.EpochLog `json:"log"`
	Base   string          `json:"base"`
	Digest string          `json:"digest"`
	Object string          `json:"object"`
}

type errRecord struct {
	Error string    `json:"error"`
	At    time.Time `json:"at"`
}

func fedWeightsName(key string, r int, party string) string {
	return fmt.Sprintf("fed/%s/%d/%s", key, r, party)
}

// fedExchange is one party's side of experiment.FedExchange over the queue.
type fedExchange struct {
	q      *Queue
	key    string
	party  string
	other  string
	rounds int
	start  time.Time
	hb     *heartbeat
}

func (f *fedExchange) rec(kind string, a ...any) string {
	s := "fed." + f.key + "." + kind
	for _, x := range a {
		s += fmt.Sprintf(".%v", x)
	}
	return s
}

// wait polls until get reports the other party's record, the job is
// parked, or the other party failed since this side started.
func (f *fedExchange) wait(ctx context.Context, what string, get func() (bool, error)) error {
	since := time.Now()
	f.hb.setNote(fmt.Sprintf("waiting for party %s's %s since %s", f.other, what, since.UTC().Format(time.TimeOnly)))
	defer f.hb.setNote("")
	for {
		ok, err := get()
		if err == nil && ok {
			return nil
		}
		var failed triesRecord
		if parked, _ := f.q.getJSON(ctx, f.q.jobs, "failed."+f.key, &failed); parked {
			return errParked
		}
		var e errRecord
		if ok, _ := f.q.getJSON(ctx, f.q.jobs, f.rec("err", f.other), &e); ok && e.At.After(f.start) {
			return fmt.Errorf("%w: %s", errOtherFailed, e.Error)
		}
		if !sleepCtx(ctx, 200*time.Millisecond) {
			return ctx.Err()
		}
	}
}

func (f *fedExchange) Setup(ctx context.Context, mine experiment.FedPartyInfo) ([2]experiment.FedPartyInfo, error) {
	var out [2]experiment.FedPartyInfo
	if err := f.q.putJSON(ctx, f.q.jobs, f.rec("info", f.party), mine); err != nil {
		return out, err
	}
	var other experiment.FedPartyInfo
	err := f.wait(ctx, "data description", func() (bool, error) { return f.q.getJSON(ctx, f.q.jobs, f.rec("info", f.other), &other) })
	if err != nil {
		return out, err
	}
	if f.party == "a" {
		out = [2]experiment.FedPartyInfo{mine, other}
	} else {
		out = [2]experiment.FedPartyInfo{other, mine}
	}
	return out, nil
}

func (f *fedExchange) Round(ctx context.Context, r int, mine experiment.FedRound) (experiment.FedRound, error) {
	var out experiment.FedRound
	f.hb.setFrac(float64(r)/float64(f.rounds), fmt.Sprintf("round %d/%d", r+1, f.rounds))
	enc, err := encodeWeights(mine.Weights)
	if err != nil {
		return out, err
	}
	name := fedWeightsName(f.key, r, f.party)
	digest, err := f.q.putBytes(ctx, name, enc)
	if err != nil {
		return out, err
	}
	if err := f.q.putJSON(ctx, f.q.jobs, f.rec("round", r, f.party), roundRecord{Log: mine.Log, Base: mine.Base, Digest: digest, Object: name}); err != nil {
		return out, err
	}
	if r >= 2 {
		// The other side has averaged round r-1, so it resumes at round
		// r-1 at the earliest: round r-2 is no longer needed.
		_ = f.q.deleteObject(ctx, fedWeightsName(f.key, r-2, f.party))
		_ = f.q.del(ctx, f.q.jobs, f.rec("round", r-2, f.party))
	}
	var rec roundRecord
	err = f.wait(ctx, fmt.Sprintf("weights of round %d/%d", r+1, f.rounds), func() (bool, error) {
		return f.q.getJSON(ctx, f.q.jobs, f.rec("round", r, f.other), &rec)
	})
	if err != nil {
		return out, err
	}
	b, err := f.q.getBytes(ctx, rec.Object, rec.Digest)
	if err != nil {
		return out, err
	}
	ws, err := decodeWeights(b, mine.Weights)
	if err != nil {
		return out, fmt.Errorf("party %s's weights of round %d: %w", f.other, r+1, err)
	}
	return experiment.FedRound{Weights: ws, Log: rec.Log, Base: rec.Base}, nil
}

func (f *fedExchange) Saved(ctx context.Context, r int, path string) error {
	_, err := f.q.putFile(ctx, resumeName(f.key, "party-"+f.party+"/"+experiment.FedPartyCheckpoint), path)
	return err
}

// encodeWeights packs host tensors as a checkpoint (zstd, CRC).
func encodeWeights(ws []*tensor.Tensor) ([]byte, error) {
	c := &ckpt.Checkpoint{}
	for i, t := range ws {
		c.Tensors = append(c.Tensors, ckpt.Named{Name: fmt.Sprintf("w%d", i), T: t})
	}
	var b bytes.Buffer
	if err := ckpt.Encode(&b, c); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// decodeWeights unpacks encodeWeights' output, which must hold tensors of
// like's shapes.
func decodeWeights(b []byte, like []*tensor.Tensor) ([]*tensor.Tensor, error) {
	var n int64
	for _, t := range like {
		n += int64(len(t.Data)) * 4
	}
	c, err := ckpt.Decode(bytes.NewReader(b), 2*n+1<<20)
	if err != nil {
		return nil, err
	}
	if len(c.Tensors) != len(like) {
		return nil, fmt.Errorf("%d tensors, want %d", len(c.Tensors), len(like))
	}
	out := make([]*tensor.Tensor, len(like))
	for i, nt := range c.Tensors {
		if nt.Name != fmt.Sprintf("w%d", i) || !nt.T.Shape.Equal(like[i].Shape) {
			return nil, fmt.Errorf("tensor %d: %s %v, want w%d %v", i, nt.Name, nt.T.Shape, i, like[i].Shape)
		}
		out[i] = nt.T
	}
	return out, nil
}

// runFed runs party's side of federated averaging job j from msg.
func (w *Worker) runFed(ctx context.Context, msg jetstream.Msg, wp *workerPlan, j *experiment.Job, party string) {
	start := time.Now()
	rel := experiment.FedPartyDir(j, party)
	dir, err := w.freshDir(rel)
	resumed := false
	if err == nil {
		err = w.q.getFile(ctx, resumeName(j.Key, "party-"+party+"/"+experiment.FedPartyCheckpoint), filepath.Join(dir, experiment.FedPartyCheckpoint), "")
		resumed = err == nil
		if errors.Is(err, errNoObject) {
			err = nil
		}
	}
	if err == nil {
		err = w.q.del(ctx, w.q.jobs, "fed."+j.Key+".err."+party)
	}
	if err != nil {
		w.abandon(ctx, msg, wp, j, party, err)
		return
	}
	other := map[string]string{"a": "b", "b": "a"}[party]
	if resumed {
		w.logf("took party %s of %s (%.12s), resuming from its last round in the store", party, j.ID, j.Key)
	} else {
		w.logf("took party %s of %s (%.12s)", party, j.ID, j.Key)
	}
	hb := w.heartbeat(ctx, msg, j, party, start, nil)
	ex := &fedExchange{q: w.q, key: j.Key, party: party, other: other, rounds: wp.plan.Fed.Rounds, start: start, hb: hb}
	b, err := w.o.Backend()
	if err != nil {
		hb.stop()
		w.abandon(ctx, msg, wp, j, party, err)
		return
	}
	env := experiment.JobEnv{Backend: b, Root: w.o.Cache, Load: w.loader(wp.plan)}
	runErr := experiment.RunFedParty(ctx, j, party, env, ex)
	hb.stop()
	switch {
	case runErr == nil:
		if party == "a" {
			// Party a leaves the job's files: the averaged network and the
			// log (its own optimizer state stays at its site).
			if err := w.complete(ctx, msg, j, dir, start, []string{experiment.FedPartyCheckpoint}); err != nil {
				w.abandon(ctx, msg, wp, j, party, err)
				return
			}
		} else {
			_ = w.q.del(ctx, w.q.jobs, runKey(j, party))
			actx, cancel := w.q.opCtx(ctx)
			_ = msg.DoubleAck(actx)
			cancel()
			w.logf("finished party %s of %s", party, j.ID)
		}
		w.fedCleanup(ctx, j, party, wp.plan.Fed.Rounds)
	case errors.Is(runErr, errParked):
		_ = w.q.del(ctx, w.q.jobs, runKey(j, party))
		_ = msg.Term()
		w.logf("dropped party %s of %s: the job is parked as failed", party, j.ID)
	case errors.Is(runErr, errOtherFailed):
		_ = w.q.del(ctx, w.q.jobs, runKey(j, party))
		_ = msg.NakWithDelay(2 * time.Second)
		w.logf("gave back party %s of %s: %v", party, j.ID, runErr)
	case ctx.Err() != nil:
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = w.q.del(dctx, w.q.jobs, runKey(j, party))
		cancel()
		_ = msg.Nak()
		w.logf("stopped party %s of %s; its last round is in the store", party, j.ID)
	default:
		_ = w.q.putJSON(ctx, w.q.jobs, "fed."+j.Key+".err."+party, errRecord{Error: runErr.Error(), At: time.Now()})
		w.fail(ctx, msg, wp, j, party, runErr)
	}
}

// fedCleanup removes a finished federated job's exchange records once
// both parties have finished.
func (w *Worker) fedCleanup(ctx context.Context, j *experiment.Job, party string, rounds int) {
	other := map[string]string{"a": "b", "b": "a"}[party]
	if err := w.q.putJSON(ctx, w.q.jobs, "fed."+j.Key+".end."+party, errRecord{At: time.Now()}); err != nil {
		return
	}
	var e errRecord
	if ok, _ := w.q.getJSON(ctx, w.q.jobs, "fed."+j.Key+".end."+other, &e); !ok {
		return
	}
	for _, p := range []string{"a", "b"} {
		for r := max(rounds-3, 0); r < rounds; r++ {
			_ = w.q.deleteObject(ctx, fedWeightsName(j.Key, r, p))
		}
		_ = w.q.deleteObject(ctx, resumeName(j.Key, "party-"+p+"/"+experiment.FedPartyCheckpoint))
	}
	keys, _ := w.q.keys(ctx, w.q.jobs, "fed."+j.Key+".>")
	for _, k := range keys {
		_ = w.q.del(ctx, w.q.jobs, k)
	}
}
