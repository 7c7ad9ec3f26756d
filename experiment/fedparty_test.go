package experiment

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"suture/io/imageset"
	"suture/kernels/cpu"
)

// memExchange joins two parties of FedAvgParty in one process: each side
// posts its message and waits for the other's.
type memExchange struct {
	mu     sync.Mutex
	cond   *sync.Cond
	infos  [2]*FedPartyInfo
	rounds map[[2]int]FedRound // (round, party)
	saved  [2]int              // rounds saved per party
	// corrupt, when set, changes what party b sends in that round.
	corrupt func(r int, f *FedRound)
}

func newMemExchange() *memExchange {
	m := &memExchange{rounds: map[[2]int]FedRound{}}
	m.cond = sync.NewCond(&m.mu)
	return m
}

// side is one party's view of the exchange.
type side struct {
	m *memExchange
	p int
}

func (s side) wait(ctx context.Context, ready func() bool) error {
	deadline := time.Now().Add(time.Minute)
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	for !ready() {
		if ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("party %d: no answer", s.p)
		}
		s.m.mu.Unlock()
		time.Sleep(time.Millisecond)
		s.m.mu.Lock()
	}
	return nil
}

func (s side) Setup(ctx context.Context, mine FedPartyInfo) ([2]FedPartyInfo, error) {
	s.m.mu.Lock()
	s.m.infos[s.p] = &mine
	s.m.mu.Unlock()
	err := s.wait(ctx, func() bool { return s.m.infos[1-s.p] != nil })
	return [2]FedPartyInfo{*s.m.infos[0], *s.m.infos[1]}, err
}

func (s side) Round(ctx context.Context, r int, mine FedRound) (FedRound, error) {
	s.m.mu.Lock()
	if s.p == 1 && s.m.corrupt != nil {
		s.m.corrupt(r, &mine)
	}
	s.m.rounds[[2]int{r, s.p}] = mine
	s.m.mu.Unlock()
	var got FedRound
	err := s.wait(ctx, func() bool {
		var ok bool
		got, ok = s.m.rounds[[2]int{r, 1 - s.p}]
		return ok
	})
	return got, err
}

func (s side) Saved(ctx context.Context, r int, path string) error {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if _, err := os.Stat(path); err != nil {
		return err
	}
	s.m.saved[s.p] = r + 1
	return nil
}

// runParties runs both parties of spec in dir/a and dir/b at once.
func runParties(ctx context.Context, spec FedSpec, dir string, ex *memExchange, resume [2]bool) [2]error {
	var errs [2]error
	var wg sync.WaitGroup
	for p := range 2 {
		wg.Go(func() {
			s := spec
			s.Dir, s.Resume = filepath.Join(dir, string("ab"[p])), resume[p]
			// Each party opens its own data only.
			s.Loader = func(d string, size int) (*imageset.Dataset, error) {
				if d != spec.Data[p] {
					return nil, fmt.Errorf("party %c may not open %s", "ab"[p], d)
				}
				return LoadData(d, size)
			}
			_, errs[p] = FedAvgParty(ctx, cpu.New(1), s, p, side{ex, p}, nil)
		})
	}
	wg.Wait()
	return errs
}

// TestFedAvgPartiesMatchFedAvg: the two parties run apart, each on its
// own data, exchanging weights once per round, end with FedAvg's network
// bit for bit; an interrupted party resumes from its checkpoint to the
// same network; a party that started a round from other weights is caught.
func TestFedAvgPartiesMatchFedAvg(t *testing.T) {
	dir := t.TempDir()
	spec := FedSpec{Data: [2]string{"synth:a:36:16", "synth:b:36:16"}, Seed: 3, Seeds: [2]uint64{4, 5}, Opts: tinyOpts(3),
		Features: []int{4, 8}, Weighting: "samples"}
	whole := spec
	whole.Dir = filepath.Join(dir, "whole")
	if _, err := FedAvg(context.Background(), cpu.New(1), whole, nil); err != nil {
		t.Fatal(err)
	}
	ex := newMemExchange()
	errs := runParties(context.Background(), spec, filepath.Join(dir, "apart"), ex, [2]bool{})
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	sameWeights(t, filepath.Join(whole.Dir, "last.ckpt"), filepath.Join(dir, "apart", "a", "last.ckpt"))
	sameWeights(t, filepath.Join(whole.Dir, "last.ckpt"), filepath.Join(dir, "apart", "b", "last.ckpt"))
	if ex.saved != [2]int{3, 3} {
		t.Errorf("rounds saved per party: %v, want 3 each", ex.saved)
	}
	wantLog, err := os.ReadFile(filepath.Join(whole.Dir, "log.csv"))
	if err != nil {
		t.Fatal(err)
	}
	gotLog, err := os.ReadFile(filepath.Join(dir, "apart", "a", "log.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if lossColumn(t, string(gotLog)) != lossColumn(t, string(wantLog)) {
		t.Errorf("log.csv losses differ:\n%s\nagainst FedAvg's\n%s", gotLog, wantLog)
	}

	// Party a stops after its first round; party b waits for it, and the
	// resumed party a finishes both.
	res := filepath.Join(dir, "resumed")
	ex = newMemExchange()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var errB error
	wg.Go(func() {
		s := spec
		s.Dir = filepath.Join(res, "b")
		_, errB = FedAvgParty(context.Background(), cpu.New(1), s, 1, side{ex, 1}, nil)
	})
	sa := spec
	sa.Dir = filepath.Join(res, "a")
	_, err = FedAvgParty(ctx, cpu.New(1), sa, 0, side{ex, 0}, func(e TrainEvent) {
		if e.Kind == "epoch" {
			cancel()
		}
	})
	if err == nil {
		t.Fatal("party a, cancelled, reported success")
	}
	sa.Resume = true
	if _, err := FedAvgParty(context.Background(), cpu.New(1), sa, 0, side{ex, 0}, nil); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if errB != nil {
		t.Fatal(errB)
	}
	sameWeights(t, filepath.Join(whole.Dir, "last.ckpt"), filepath.Join(res, "a", "last.ckpt"))

	// A party whose round starts from other weights stops both.
	ex = newMemExchange()
	ex.corrupt = func(r int, f *FedRound) {
		if r == 1 {
			f.Base = strings.Repeat("0", 64)
		}
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wg.Go(func() {
		s := spec
		s.Dir = filepath.Join(dir, "diverged", "b")
		_, errB = FedAvgParty(ctx, cpu.New(1), s, 1, side{ex, 1}, nil)
	})
	sa.Dir, sa.Resume = filepath.Join(dir, "diverged", "a"), false
	_, err = FedAvgParty(ctx, cpu.New(1), sa, 0, side{ex, 0}, nil)
	cancel() // party b waits for a round party a will not send
	wg.Wait()
	if err == nil || !strings.Contains(err.Error(), "diverged") {
		t.Errorf("party a after a diverged round: %v", err)
	}
	if errB == nil {
		t.Error("party b finished without party a")
	}
}

// lossColumn is the train_loss column of a log.csv (the times differ).
func lossColumn(t *testing.T, csv string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	col := -1
	for i, h := range strings.Split(lines[0], ",") {
		if h == "train_loss" {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("no train_loss column in %q", lines[0])
	}
	var out []string
	for _, l := range lines[1:] {
		out = append(out, strings.Split(l, ",")[col])
	}
	return strings.Join(out, " ")
}
