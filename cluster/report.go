package cluster

import (
	"context"
	"os"

	"suture/experiment"
)

// Report fetches the results of the queue's plan named name ("" when the
// queue holds one) into the results folder dir (a temporary folder,
// removed afterwards, when dir is "") and writes the plan's report into
// dst, as experiment.Report does for a results folder.
func Report(ctx context.Context, q *Queue, name, dir, dst string) (*experiment.ReportResult, error) {
	p, err := q.Plan(ctx, name)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "suture-results-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	if _, err := Mirror(ctx, q, p, dir); err != nil {
		return nil, err
	}
	return experiment.Report(dir, dst)
}

// Row is the job's line in a status table (experiment.WriteStatus).
func (s QueueJobStatus) Row() experiment.StatusRow {
	return experiment.StatusRow{ID: s.Job.ID, State: s.State, Worker: s.Worker, Seconds: s.Seconds, Error: s.Error, Attempts: s.Attempts, Note: s.Note}
}
