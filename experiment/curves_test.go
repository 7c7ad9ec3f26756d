package experiment

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestCurvesPlan runs one fold of a plan with and without "curves": with
// it, every trained network's log.csv has a validation score for every
// epoch; the setting changes no job's key when off and no weight when on
// (every test score is the same, byte for byte).
func TestCurvesPlan(t *testing.T) {
	if testing.Short() {
		t.Skip("trains every approach twice")
	}
	p := QuickPlan("quick-c", "synth:a", "synth:b")
	p.Folds, p.Approaches = []int{0}, []string{ApA, ApB, ApAtoB, ApFed, ApPooled, ApStitchA}
	p.Distill = DefaultDistillPlan(p)
	p.Distill.Epochs, p.Distill.Iters, p.Distill.Batch = 2, 2, 4
	enc, _ := p.Encode()
	if bytes.Contains(enc, []byte(`"curves"`)) {
		t.Error("a plan without the setting writes a curves key")
	}
	off := buildGraph(p)
	dir := t.TempDir()
	if err := RunPlan(context.Background(), p, filepath.Join(dir, "off"), RunOptions{Workers: 2, Backend: oneThread}); err != nil {
		t.Fatal(err)
	}
	p.Curves = true
	on := buildGraph(p)
	if err := RunPlan(context.Background(), p, filepath.Join(dir, "on"), RunOptions{Workers: 2, Backend: oneThread}); err != nil {
		t.Fatal(err)
	}
	logs, scores := 0, 0
	for i, j := range on.jobs {
		jo := off.jobs[i]
		switch j.Kind {
		case "train", "pooled", "finetune", "fedavg", "distill":
			if j.Key == jo.Key {
				t.Errorf("%s: the same key with curves on and off", j.ID)
			}
			rows, err := readValDice(filepath.Join(dir, "on", j.Dir, "log.csv"))
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) < 2 {
				t.Errorf("%s: %d epochs in log.csv, want every epoch", j.ID, len(rows))
			}
			for e, r := range rows {
				if !(r > 0 && r <= 1) {
					t.Errorf("%s: epoch %d val_dice %v, want a score in (0, 1]", j.ID, e+1, r)
				}
			}
			logs++
		case "test":
			names, _ := filepath.Glob(filepath.Join(dir, "off", jo.Dir, "*test-*.csv"))
			if len(names) == 0 {
				t.Errorf("%s: no scores", jo.ID)
			}
			for _, name := range names {
				a, err1 := os.ReadFile(name)
				b, err2 := os.ReadFile(filepath.Join(dir, "on", j.Dir, filepath.Base(name)))
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				if !bytes.Equal(a, b) {
					t.Errorf("%s: %s differs with curves on: validation changed a weight", j.ID, filepath.Base(name))
				}
				scores++
			}
		}
	}
	if scores < 10 {
		t.Errorf("%d score files compared, want every test job's", scores)
	}
	if logs != 6 { // a, b, a -> b, a || b, a + b, distil(a <-[a]-> b)
		t.Errorf("%d training logs checked, want 6 (one per trained network)", logs)
	}
	for _, run := range []string{"off", "on"} {
		if _, err := Report(filepath.Join(dir, run), filepath.Join(dir, "rep-"+run)); err != nil {
			t.Fatal(err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "rep-on", "report.md"))
	mdOff, _ := os.ReadFile(filepath.Join(dir, "rep-off", "report.md"))
	if bytes.Contains(mdOff, []byte("## Training curves")) {
		t.Error("the report of a plan without curves has a curves section")
	}
	for _, want := range []string{"## Training curves", "| `a` | a | 1-2 |", "| `b` | b | 1-2 |", "| `a -> b` | b | 3-4 |",
		"| `a || b` | a+b | 1-2 |", "| `a + b` | a+b | 1-2 |", "| `distil(a <-[a]-> b)` | a | 3-4 |", "![curves-a+b](curves-a+b.png)"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	for _, f := range []string{"curves-a.png", "curves-b.png", "curves-a+b.png"} {
		if st, err := os.Stat(filepath.Join(dir, "rep-on", f)); err != nil || st.Size() < 1000 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestEstimateWall replays small schedules whose answers are known.
func TestEstimateWall(t *testing.T) {
	e := &Estimate{Jobs: []JobEstimate{
		{ID: "x", Seconds: 10},
		{ID: "y", Seconds: 10},
		{ID: "z", Seconds: 5, Deps: []int{0, 1}},
		{ID: "w", Seconds: 1},
	}}
	for _, c := range []struct {
		workers int
		want    float64
	}{{1, 26}, {2, 15}, {3, 15}, {8, 15}} {
		if got := e.Wall(c.workers); got != c.want {
			t.Errorf("Wall(%d) = %v, want %v", c.workers, got, c.want)
		}
	}
	// A job whose input comes late does not hold up a later ready one.
	e = &Estimate{Jobs: []JobEstimate{
		{ID: "long", Seconds: 20},
		{ID: "after", Seconds: 3, Deps: []int{0}},
		{ID: "free", Seconds: 4},
	}}
	if got := e.Wall(2); got != 23 {
		t.Errorf("Wall(2) = %v, want 23 (free runs beside long)", got)
	}
}

// TestEstimateCoversEveryJob estimates a quick plan with a student and
// curves: every job has an estimate, the kinds sum to the jobs, and the
// schedule of one worker is the sum while two take between half of it
// and all of it.
func TestEstimateCoversEveryJob(t *testing.T) {
	p := QuickPlan("quick-e", "synth:a", "synth:b")
	p.Folds = []int{0}
	p.Distill = DefaultDistillPlan(p)
	p.Curves = true
	b, _ := oneThread()
	e, err := EstimatePlan(context.Background(), b, p)
	if err != nil {
		t.Fatal(err)
	}
	g := buildGraph(p)
	if len(e.Jobs) != len(g.jobs) {
		t.Fatalf("%d job estimates for %d jobs", len(e.Jobs), len(g.jobs))
	}
	var sum float64
	for i, j := range e.Jobs {
		if j.ID != g.jobs[i].ID || len(j.Deps) != len(g.jobs[i].Deps) {
			t.Errorf("estimate %d is %s with %d inputs, job is %s with %d", i, j.ID, len(j.Deps), g.jobs[i].ID, len(g.jobs[i].Deps))
		}
		if j.Seconds < 0 || math.IsNaN(j.Seconds) {
			t.Errorf("%s: %v s", j.ID, j.Seconds)
		}
		sum += j.Seconds
	}
	if math.Abs(sum-e.Total()) > 1e-9*sum {
		t.Errorf("jobs sum to %v s, kinds to %v s", sum, e.Total())
	}
	if w := e.Wall(1); math.Abs(w-sum) > 1e-9*sum {
		t.Errorf("Wall(1) = %v, want the sum %v", w, sum)
	}
	if w := e.Wall(2); w < sum/2 || w > sum {
		t.Errorf("Wall(2) = %v, want within [%v, %v]", w, sum/2, sum)
	}
}

// TestCostModel checks the pure cost model on made-up step times and part
// sizes: a training job is epochs x steps x the step time plus its
// validation passes; a sweep scores every stitch-ensemble and the three
// references on the validation part.
func TestCostModel(t *testing.T) {
	p := QuickPlan("quick-cm", "synth:a", "synth:b")
	p.Folds = []int{0}
	p.UNet.Iters, p.Stitch.Iters = 0, 0 // one pass: ceil(images / batch) steps
	p.Curves = true
	p.Distill = DefaultDistillPlan(p)
	st := StepTimes{UNetStep: 1, StitchStep: 2, InferImage: 0.01, StitchInferImage: 0.03, Pairs: 5}
	e, err := costModel(p, st, [2]partSizes{{train: 40, val: 10, test: 8}, {train: 30, val: 6, test: 5}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, j := range e.Jobs {
		got[j.ID] = j.Seconds
	}
	b, ep := float64(p.UNet.Batch), float64(p.UNet.Epochs)
	steps := func(n float64) float64 { return math.Ceil(n / b) }
	for id, want := range map[string]float64{
		"fold 0: train a":               ep*steps(40)*1 + ep*10*0.01,
		"fold 0: pooled a + b":          ep*steps(70)*1 + ep*16*0.01,
		"fold 0: sweep a <-[b]-> b":     (5 + 3) * 6 * 0.03,
		"fold 0: stitch a <-[a]-> b":    float64(p.Stitch.Epochs) * math.Ceil(40/float64(p.Stitch.Batch)) * 2,
		"fold 0: test a on a":           8 * 0.01,
		"fold 0: test a & b on b":       5 * 2 * 0.01,
		"fold 0: test a <-[a]-> b on a": 8 * 3 * 0.03,
	} {
		if g, ok := got[id]; !ok || math.Abs(g-want) > 1e-9 {
			t.Errorf("%s: %v s, want %v (present %v)", id, g, want, ok)
		}
	}
}
