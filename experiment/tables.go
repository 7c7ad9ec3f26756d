package experiment

import (
	"fmt"
	"io"
	"time"
)

// The tables the commands print of a plan: its estimate and its status.

// WriteTable writes the estimate of plan p: the steps measured, a row per
// job kind and the total, and with workers > 1 the wall time of the
// runner's schedule.
func (e *Estimate) WriteTable(w io.Writer, p *Plan, workers int) {
	fmt.Fprintf(w, "measured: U-Net step %.3f s (batch %d), stitch step %.3f s (%d pairs, batch %d), inference %.1f ms/image (stitched %.1f)\n",
		e.UNetStep, p.UNet.Batch, e.StitchStep, e.Pairs, p.Stitch.Batch, 1e3*e.InferImage, 1e3*e.StitchInferImage)
	fmt.Fprintf(w, "%-10s %5s %12s %12s\n", "job kind", "jobs", "per job", "total")
	for _, r := range e.Rows {
		fmt.Fprintf(w, "%-10s %5d %12s %12s\n", r.Kind, r.Jobs, dur(r.Seconds/float64(max(r.Jobs, 1))), dur(r.Seconds))
	}
	fmt.Fprintf(w, "%-10s %5s %12s %12s  (job time summed, on this machine, not counting data loading)\n", "total", "", "", dur(e.Total()))
	if workers > 1 {
		fmt.Fprintf(w, "wall time with %d workers: %s (the runner's schedule replayed with these job times)\n", workers, dur(e.Wall(workers)))
	}
}

// StatusRow is one job's line in a status table: a results folder's
// JobStatus (Row), or a queue's.
type StatusRow struct {
	ID       string
	State    JobState
	Worker   string // a queue's: who finished it, or runs it
	Seconds  float64
	Error    string
	Attempts int
	Note     string // a queue's: what a ready job does, or why it waits
}

// Row is the job's line in a status table.
func (s JobStatus) Row() StatusRow {
	return StatusRow{ID: s.Job.ID, State: s.State, Seconds: s.Seconds, Error: s.Error, Attempts: s.Attempts}
}

// WriteStatus writes the status of the jobs of the plan named name: their
// count by state and the done jobs' time, then a line per failed, running
// or waiting job and per job with a note (with all: per job). queue names
// the queue the jobs are on, "" for a results folder; a queue's counts add
// its queued and waiting jobs, and its lines name the workers.
func WriteStatus(w io.Writer, name, queue string, rows []StatusRow, all bool) {
	count := map[JobState]int{}
	var sec float64
	for _, s := range rows {
		count[s.State]++
		sec += s.Seconds
	}
	if queue == "" {
		fmt.Fprintf(w, "plan %q: %d jobs: %d done, %d running, %d pending, %d failed (done jobs took %s)\n", name, len(rows),
			count[StateDone], count[StateRunning], count[StatePending], count[StateFailed], dur(sec))
	} else {
		fmt.Fprintf(w, "plan %q on %s: %d jobs: %d done, %d running, %d queued, %d waiting for a willing worker, %d pending, %d failed (done jobs took %s)\n",
			name, queue, len(rows), count[StateDone], count[StateRunning], count[StateQueued], count[StateWaiting], count[StatePending], count[StateFailed], dur(sec))
	}
	for _, s := range rows {
		line := fmt.Sprintf("%-8s %s", s.State, s.ID)
		switch {
		case s.State == StateFailed && queue == "":
			line = fmt.Sprintf("failed   %s (attempts %d): %s", s.ID, s.Attempts, s.Error)
		case s.State == StateFailed:
			line = fmt.Sprintf("failed   %s (attempts %d, last on %s): %s", s.ID, s.Attempts, s.Worker, s.Error)
		case s.Note != "":
			line += ": " + s.Note
		case s.State == StateRunning || s.State == StateWaiting:
		case !all:
			continue
		case s.State == StateDone && queue != "":
			line += fmt.Sprintf(" (by %s, %s)", s.Worker, dur(s.Seconds))
		}
		fmt.Fprintln(w, line)
	}
}

// dur is a time in seconds, rounded to the second ("1h2m3s").
func dur(sec float64) string {
	return time.Duration(sec * float64(time.Second)).Round(time.Second).String()
}

// DemoPreset is the demo's settings, writing into dir: the full demo, or
// with quick a tiny run (seconds) that shows the pipeline, not the result.
func DemoPreset(dir string, quick bool) DemoOptions {
	if quick {
		return DemoOptions{Dir: dir, N: 48, Size: 16, Features: []int{4, 8}, UNetEpochs: 2, UNetIters: 3, Batch: 4,
			StitchEpochs: 1, StitchIters: 2, Points: "all", Seed: 1}
	}
	return DemoOptions{Dir: dir, N: 360, Size: 32, Features: []int{16, 32, 64}, UNetEpochs: 12, Batch: 8,
		StitchEpochs: 3, Points: "all", Seed: 1}
}

// WriteTable writes the demo's result: the stitch-ensemble chosen, a row
// per network with its scores on both parties' test data, the files
// written and the time taken.
func (r *DemoResult) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "\n%d matched pairs; stitch-ensemble %d chosen on party a's validation data.\n\n", r.Pairs, r.Chosen)
	fmt.Fprintf(w, "%-20s %18s %18s\n", "network", "test a: Dice HD95", "test b: Dice HD95")
	for _, row := range r.Rows {
		fmt.Fprintf(w, "%-20s %9.4f %8.2f %9.4f %8.2f\n", row.Name, row.OnA.Dice, row.OnA.HD95, row.OnB.Dice, row.OnB.HD95)
	}
	fmt.Fprintf(w, "\nwrote:")
	for _, f := range r.Files {
		fmt.Fprintf(w, " %s", f)
	}
	fmt.Fprintf(w, "\ndone in %.0f s\n", r.Seconds)
}
