package experiment

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestSchedule: jobs become ready in plan order once their inputs are
// done; running, done and parked jobs are not ready; a parked input holds
// back the jobs needing it only.
func TestSchedule(t *testing.T) {
	x := &Job{ID: "x"}
	y := &Job{ID: "y"}
	z := &Job{ID: "z", Deps: []*Job{x, y}}
	w := &Job{ID: "w", Deps: []*Job{y}}
	s := NewSchedule([]*Job{x, y, z, w})
	ids := func(js []*Job) string {
		var out []string
		for _, j := range js {
			out = append(out, j.ID)
		}
		return strings.Join(out, ",")
	}
	steps := []struct {
		set         *Job
		to          JobState
		ready, park string
	}{
		{nil, "", "x,y", ""},
		{x, StateRunning, "y", ""},
		{x, StateDone, "y", ""},
		{y, StateFailed, "", "y"},
		{y, StatePending, "y", ""}, // a new run retries it
		{y, StateDone, "z,w", ""},
		{z, StateRunning, "w", ""},
		{w, StateDone, "", ""},
	}
	for i, st := range steps {
		if st.set != nil {
			s.Set(st.set, st.to)
		}
		if got := ids(s.Ready()); got != st.ready {
			t.Errorf("step %d: ready %q, want %q", i, got, st.ready)
		}
		if got := ids(s.Parked()); got != st.park {
			t.Errorf("step %d: parked %q, want %q", i, got, st.park)
		}
	}
	if s.Finished() || s.Count(StateDone) != 3 || s.Count(StateRunning) != 1 {
		t.Errorf("finished %v, %d done, %d running; want false, 3, 1", s.Finished(), s.Count(StateDone), s.Count(StateRunning))
	}
	s.Set(z, StateDone)
	if !s.Finished() {
		t.Error("every job done, not finished")
	}
}

// TestCheckPlanEdit is the plan-edit rule both runners apply.
func TestCheckPlanEdit(t *testing.T) {
	p := QuickPlan("quick", "synth:a", "synth:b")
	enc, _ := p.Encode()
	none := func(*Job) (bool, error) { return false, nil }
	some := func(j *Job) (bool, error) { return j.Kind == KindTest, nil }
	if err := CheckPlanEdit(nil, p, "here", some); err != nil {
		t.Errorf("a new place: %v", err)
	}
	if err := CheckPlanEdit(enc, p, "here", some); err != nil {
		t.Errorf("the same plan: %v", err)
	}
	edited := *p
	edited.Stitch.Epochs++
	if err := CheckPlanEdit(enc, &edited, "here", none); err != nil {
		t.Errorf("an edit before any test: %v", err)
	}
	if err := CheckPlanEdit(enc, &edited, "here", some); !errors.Is(err, ErrPlanMismatch) || !strings.Contains(err.Error(), "new name") {
		t.Errorf("an edit after tests: %v", err)
	}
	other := *p
	other.Name = "other"
	if err := CheckPlanEdit(enc, &other, "here", none); !errors.Is(err, ErrPlanMismatch) || !strings.Contains(err.Error(), `"quick"`) {
		t.Errorf("another plan: %v", err)
	}
	boom := errors.New("boom")
	if err := CheckPlanEdit(enc, &edited, "here", func(*Job) (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Errorf("a failing lookup: %v", err)
	}
}

// TestRunPlanDefaultBackend: RunOptions without a Backend runs on the CPU
// backend (it used to panic).
func TestRunPlanDefaultBackend(t *testing.T) {
	p := QuickPlan("quick-nb", "synth:a", "synth:b")
	p.Folds, p.Approaches = []int{0}, []string{ApA, ApB}
	dir := t.TempDir()
	if err := RunPlan(context.Background(), p, dir, RunOptions{Workers: 2}); err != nil {
		t.Fatal(err)
	}
	_, st, err := Status(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.State != StateDone {
			t.Errorf("%s: %s, want done", s.Job.ID, s.State)
		}
	}
}
