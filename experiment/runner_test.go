package experiment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"suture/kernels"
	"suture/kernels/cpu"
)

func oneThread() (kernels.Backend, error) { return cpu.New(1), nil }

// TestQuickExperiment runs the --quick plan on the synthetic parties, checks
// that the report has every approach, table and plot, then runs the same
// plan again, killed (cancelled) in the middle of a random job and resumed,
// and expects a byte-identical report.
func TestQuickExperiment(t *testing.T) {
	root := t.TempDir()
	p := QuickPlan("quick", "synth:a", "synth:b")
	full := filepath.Join(root, "full")
	start := time.Now()
	if err := RunPlan(context.Background(), p, full, RunOptions{Workers: 2, Backend: oneThread}); err != nil {
		t.Fatal(err)
	}
	t.Logf("quick plan: %d jobs in %v", len(buildGraph(p).jobs), time.Since(start))
	rep1 := filepath.Join(root, "report1")
	res, err := Report(full, rep1)
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(rep1, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Every approach on both test sets", "## Perspective of party a", "## Perspective of party b",
		"## Stitch-ensembles: selection on validation data", "**F1**", "**F2**", "**F3**", "**F4**", "**F5**", "Holm"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	for _, ap := range Approaches {
		if !bytes.Contains(md, []byte("| `"+ap)) {
			t.Errorf("report.md has no row for %q", ap)
		}
	}
	if bytes.Contains(md, []byte(root)) {
		t.Error("report.md holds an absolute path")
	}
	pngs := 0
	for _, f := range res.Files {
		if strings.HasSuffix(f, ".png") {
			b, err := os.ReadFile(f)
			if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
				t.Errorf("%s: not a PNG (%v)", f, err)
			}
			if !bytes.Contains(md, []byte("]("+filepath.Base(f)+")")) {
				t.Errorf("report.md does not show %s", filepath.Base(f))
			}
			pngs++
		}
	}
	if pngs != 10 {
		t.Errorf("%d plots, want 10 (Figure 6 x2, Figures 7-8 x4, Figures 9-10 x4)", pngs)
	}

	// Killed in the middle of a random job, then resumed.
	seed := uint64(time.Now().UnixNano())
	total := len(buildGraph(p).jobs)
	k := 1 + rand.New(rand.NewPCG(seed, 1)).IntN(total-2)
	t.Logf("killing the second run during job %d of %d (seed %d)", k+1, total, seed)
	killed := filepath.Join(root, "killed")
	ctx, cancel := context.WithCancel(context.Background())
	err = RunPlan(ctx, p, killed, RunOptions{Workers: 2, Backend: oneThread, Progress: func(pr RunProgress) {
		if pr.Done >= k && len(pr.Running) > 0 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("killed run returned %v", err)
	}
	_, st, err := Status(killed)
	if err != nil {
		t.Fatal(err)
	}
	done := 0
	for _, s := range st {
		if s.State == "done" {
			done++
		}
	}
	if done == total {
		t.Fatal("the killed run finished every job")
	}
	if err := RunPlan(context.Background(), p, killed, RunOptions{Workers: 2, Backend: oneThread}); err != nil {
		t.Fatal(err)
	}
	rep2 := filepath.Join(root, "report2")
	res2, err := Report(killed, rep2)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res2.Files {
		if filepath.Base(f) == "timings.md" {
			continue
		}
		a, _ := os.ReadFile(filepath.Join(rep1, filepath.Base(f)))
		b, _ := os.ReadFile(f)
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between the uninterrupted and the killed-and-resumed run", filepath.Base(f))
		}
	}

	// A finished plan runs no job again.
	ran := 0
	if err := RunPlan(context.Background(), p, full, RunOptions{Workers: 1, Backend: oneThread, Progress: func(pr RunProgress) {
		if pr.Finished != nil {
			ran++
		}
	}}); err != nil || ran != 0 {
		t.Errorf("re-running a finished plan ran %d jobs (err %v)", ran, err)
	}

	// The protocol: a results folder belongs to one plan; after test scores,
	// an edited plan must get a new name.
	other := *p
	other.Name = "other"
	if err := RunPlan(context.Background(), &other, full, RunOptions{Backend: oneThread}); !errors.Is(err, ErrPlanMismatch) || !strings.Contains(err.Error(), `"quick"`) {
		t.Errorf("another plan into the folder: %v", err)
	}
	edited := *p
	edited.Stitch.Epochs = 2
	if err := RunPlan(context.Background(), &edited, full, RunOptions{Backend: oneThread}); !errors.Is(err, ErrPlanMismatch) || !strings.Contains(err.Error(), "new name") {
		t.Errorf("an edited plan after test scores: %v", err)
	}
	stored, err := LoadPlan(filepath.Join(full, planFile))
	if err != nil || stored.Stitch.Epochs != p.Stitch.Epochs {
		t.Errorf("the refused plan changed the stored one: %v", err)
	}
}

// TestRunRecordsFailures: a job that fails is recorded with its error, the
// jobs needing it wait, the others run; a second runner on the same folder
// is refused.
func TestRunRecordsFailures(t *testing.T) {
	dir := t.TempDir()
	p := QuickPlan("fail", "synth:a", "synth:b")
	p.Folds = []int{0}
	// Different image sizes: pooled data and federated averaging (one
	// network for both) fail; everything else runs.
	p.B.Data = "synth:b:48:24"
	err := RunPlan(context.Background(), p, dir, RunOptions{Workers: 2, Backend: oneThread})
	if err == nil || !strings.Contains(err.Error(), "job(s) failed") {
		t.Fatalf("run with failing jobs returned %v", err)
	}
	_, st, err := Status(dir)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]JobState{}
	for _, s := range st {
		states[s.Job.ID] = s.State
		if s.State == "failed" && (s.Error == "" || s.Attempts != 1) {
			t.Errorf("failed job %s recorded without its error: %+v", s.Job.ID, s)
		}
	}
	for id, want := range map[string]JobState{"fold 0: train a": "done", "fold 0: train b": "done", "fold 0: pooled a + b": "failed",
		"fold 0: fedavg a || b": "failed", "fold 0: test a + b on a": "pending", "fold 0: test a || b on b": "pending",
		"fold 0: test a <-[a]-> b on a": "done", "fold 0: test a <-[a]-> b on b": "done"} {
		if states[id] != want {
			t.Errorf("%s: %s, want %s", id, states[id], want)
		}
	}
	lock, err := LockDir(dir, "another runner")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	if err := RunPlan(context.Background(), p, dir, RunOptions{Backend: oneThread}); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "another runner") {
		t.Errorf("second runner: %v", err)
	}
}

// TestPlanValidation: bad plans give one clear error naming the fault.
func TestPlanValidation(t *testing.T) {
	for _, c := range []struct {
		edit func(p *Plan)
		want string
	}{
		{func(p *Plan) { p.Approaches = append(p.Approaches, "a ** b") }, `unknown approach "a ** b"`},
		{func(p *Plan) { p.Folds = []int{0, 7} }, "fold 7 outside 0..4"},
		{func(p *Plan) { p.Folds = []int{1, 1} }, "fold 1 listed twice"},
		{func(p *Plan) { p.A.Data = filepath.Join(t.TempDir(), "missing") }, "party a: dataset"},
		{func(p *Plan) { p.Stitch.Mode = "triple" }, "stitch mode"},
		{func(p *Plan) { p.Fed.Weighting = "votes" }, "weighting"},
		{func(p *Plan) { p.Approaches = []string{ApB} }, "cannot be left out"},
	} {
		p := QuickPlan("q", "synth:a", "synth:b")
		c.edit(p)
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error mentioning %q, got %v", c.want, err)
		}
	}
	b, _ := QuickPlan("q", "synth:a", "synth:b").Encode()
	bad := bytes.Replace(b, []byte(`"eval_batch"`), []byte(`"eval_btach"`), 1)
	if _, err := ParsePlan(bad, "plan.json"); err == nil || !strings.Contains(err.Error(), "eval_btach") {
		t.Errorf("misspelt setting: %v", err)
	}
	if p, err := ParsePlan(b, "plan.json"); err != nil || fmt.Sprint(p.Folds) != "[0 1]" {
		t.Errorf("round trip: %v %v", p, err)
	}
}

// TestDataCache: a spec at a size is opened once and the same dataset
// handed out after; another size is another dataset; a bad spec is an
// error and is not cached.
func TestDataCache(t *testing.T) {
	var opened []string
	c := &DataCache{Opened: func(spec string) { opened = append(opened, spec) }}
	var load Loader = c.Load
	a, err := load("synth:a:12:16", 0)
	if err != nil || a.Len() != 12 {
		t.Fatalf("synth:a:12:16: %v", err)
	}
	again, err := load("synth:a:12:16", 0)
	if err != nil || again != a {
		t.Errorf("the second load gave another dataset (%v)", err)
	}
	small, err := load("synth:a:12:16", 24)
	if err != nil || small == a || small.Samples[0].Image.Shape[1] != 24 {
		t.Errorf("another size: %v", err)
	}
	for range 2 {
		if _, err := load("synth:nonsense", 0); err == nil {
			t.Error("a bad spec was loaded")
		}
	}
	if got := strings.Join(opened, ","); got != "synth:a:12:16,synth:a:12:16,synth:nonsense,synth:nonsense" {
		t.Errorf("opened %s", got)
	}
}
