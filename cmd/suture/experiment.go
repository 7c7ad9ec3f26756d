package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"runtime"
	"time"

	"suture/cluster"
	"suture/experiment"
	"suture/internal/progress"
	"suture/kernels"
	"suture/kernels/cpu"
)

func runExperiment(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usageErr("want a subcommand: plan, run, status or report")
	}
	switch args[0] {
	case "plan":
		return runExperimentPlan(ctx, args[1:], out)
	case "run":
		return runExperimentRun(ctx, args[1:], out)
	case "status":
		return runExperimentStatus(ctx, args[1:], out)
	case "report":
		return runExperimentReport(ctx, args[1:], out)
	case "estimate":
		return runExperimentEstimate(ctx, args[1:], out)
	}
	return usageErr("unknown subcommand %q: want plan, estimate, run, status or report", args[0])
}

func runExperimentPlan(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("experiment plan", out)
	a := fs.String("a", "", "party a's dataset (folder, or synth:a for the synthetic party)")
	b := fs.String("b", "", "party b's dataset")
	folds := fs.String("folds", "0,1,2,3,4", "cross-validation folds to run")
	quick := fs.Bool("quick", false, "a tiny plan (two folds, a few short epochs, small synthetic images) for trying it out")
	name := fs.String("name", "", "the plan's name (default: derived from the file name)")
	dst := fs.String("out", "", "plan file to write")
	noEstimate := fs.Bool("no-estimate", false, "skip timing a few steps for the estimate")
	elsewhere := fs.Bool("data-elsewhere", false, "the datasets are at the parties' sites, not here: do not look for them (implies --no-estimate); "+
		"each site's worker maps the plan's name for its data to its own folder")
	var drop listFlag
	fs.Var(&drop, "drop", "leave this approach out (repeatable), e.g. --drop 'a + b' where no site may hold both parties' data")
	force := fs.Bool("force", false, "replace an existing output that is not this command's own kind of file")
	mkBackend := backendFlag(fs)
	if err := parse(fs, args, "a", "b", "out"); err != nil {
		return err
	}
	if err := checkOutput(*dst, *force, planJSON); err != nil {
		return err
	}
	n := cmp.Or(*name, experiment.PlanName(*dst))
	p := experiment.DefaultPlan(n, *a, *b)
	if *quick {
		p = experiment.QuickPlan(n, *a, *b)
	}
	if !*quick || flagGiven(fs, "folds") {
		f, err := parseIntList(*folds, 0)
		if err != nil {
			return usageErr("--folds: %v", err)
		}
		p.Folds = f
	}
	for _, d := range drop {
		if err := p.Drop(d); err != nil {
			return usageErr("--drop %v", err)
		}
	}
	check := p.Validate
	if *elsewhere {
		check = p.ValidateSettings
	}
	if err := check(); err != nil {
		return usageErr("%v", err)
	}
	if err := p.Save(*dst); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s: plan %q, %d folds, %d approaches (edit it, then `suture experiment run --plan %s --dir RESULTS`)\n",
		*dst, p.Name, len(p.Folds), len(p.Approaches), *dst)
	if *noEstimate || *elsewhere {
		return nil
	}
	be, err := mkBackend()
	if err != nil {
		return err
	}
	return printEstimate(ctx, be, p, 1, out)
}

func runExperimentEstimate(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("experiment estimate", out)
	planPath := fs.String("plan", "", "plan file (from `suture experiment plan`)")
	workers := fs.Int("workers", 1, "jobs run at once, as with suture experiment run --workers N: each is timed on its share of the cores")
	if err := parse(fs, args, "plan"); err != nil {
		return err
	}
	if *workers < 1 {
		return usageErr("--workers must be >= 1")
	}
	p, err := experiment.LoadPlan(*planPath)
	if err != nil {
		return err
	}
	return printEstimate(ctx, cpu.New(max(1, runtime.GOMAXPROCS(0) / *workers)), p, *workers, out)
}

// printEstimate times plan p's steps on be and prints the estimate per job
// kind and, for workers workers, the wall time of the runner's schedule.
func printEstimate(ctx context.Context, be kernels.Backend, p *experiment.Plan, workers int, out io.Writer) error {
	fmt.Fprintf(out, "timing a few steps on %s for the estimate...\n", be.Name())
	e, err := experiment.EstimatePlan(ctx, be, p)
	if err != nil {
		return fmt.Errorf("estimate: %w", err)
	}
	e.WriteTable(out, p, workers)
	return nil
}

func runExperimentRun(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("experiment run", out)
	planPath := fs.String("plan", "", "plan file (from `suture experiment plan`)")
	dir := fs.String("dir", "", "results folder (created; reused to resume); with --queue, optional: it receives the results")
	workers := fs.Int("workers", 1, "independent jobs to run at once (each gets its share of the cores)")
	mkBackend := jobsBackendFlag(fs)
	qf := addQueueFlags(fs, false)
	attempts := fs.Int("attempts", 3, "with --queue: tries of a failing job before it is parked as failed")
	ackWait := fs.Duration("ack-wait", cluster.DefaultAckWait, "with --queue: a job silent this long (its worker gone) is offered again")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *qf.url != "" {
		if flagGiven(fs, "workers") || flagGiven(fs, "backend") {
			return usageErr("--workers and --backend are the workers' own (`suture worker --jobs N`), not the queue's")
		}
		if err := require("plan", *planPath); err != nil {
			return err
		}
		if *attempts < 1 || *ackWait < time.Second {
			return usageErr("--attempts must be >= 1 and --ack-wait at least 1s")
		}
		return runExperimentQueue(ctx, *planPath, *dir, qf, *attempts, *ackWait, out)
	}
	if err := require("plan", *planPath, "dir", *dir); err != nil {
		return err
	}
	if *workers < 1 {
		return usageErr("--workers must be >= 1")
	}
	p, err := experiment.LoadPlan(*planPath)
	if err != nil {
		return err
	}
	mk := mkBackend(max(1, runtime.GOMAXPROCS(0) / *workers))
	bar := progress.New(out)
	start := time.Now()
	err = experiment.RunPlan(ctx, p, *dir, experiment.RunOptions{Workers: *workers, Backend: mk, Progress: func(pr experiment.RunProgress) {
		experiment.WriteRunProgress(out, bar, time.Since(start), pr)
	}})
	bar.Done()
	if err != nil {
		return interrupted(err)
	}
	fmt.Fprintf(out, "all jobs of plan %q done in %s; `suture experiment report --dir %s --out DIR` writes the report\n", p.Name, *dir, *dir)
	return nil
}

func runExperimentStatus(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("experiment status", out)
	dir := fs.String("dir", "", "results folder")
	all := fs.Bool("all", false, "list every job, not only running and failed ones")
	qf := addQueueFlags(fs, false)
	plan := fs.String("plan", "", "with --queue: the plan's name (needed when the queue holds several)")
	if err := parse(fs, args); err != nil {
		return err
	}
	var rows []experiment.StatusRow
	var name, queue string
	if *qf.url != "" {
		if *dir != "" {
			return usageErr("give --dir or --queue, not both")
		}
		q, err := qf.open(ctx, "suture experiment status", 0, 0, nil)
		if err != nil {
			return err
		}
		defer q.Conn().Close()
		p, st, err := cluster.Status(ctx, q, *plan)
		if err != nil {
			return err
		}
		for _, s := range st {
			rows = append(rows, s.Row())
		}
		name, queue = p.Name, *qf.url
	} else {
		if *dir == "" {
			return usageErr("--dir or --queue is required")
		}
		p, st, err := experiment.Status(*dir)
		if err != nil {
			return err
		}
		for _, s := range st {
			rows = append(rows, s.Row())
		}
		name = p.Name
	}
	experiment.WriteStatus(out, name, queue, rows, *all)
	return nil
}

func runExperimentReport(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("experiment report", out)
	dir := fs.String("dir", "", "results folder of `suture experiment run` (with --queue: where to put the results fetched, default a temporary folder)")
	dst := fs.String("out", "", "folder for report.md, its PNG plots and timings.md")
	qf := addQueueFlags(fs, false)
	plan := fs.String("plan", "", "with --queue: the plan's name (needed when the queue holds several)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *qf.url == "" {
		if err := require("dir", *dir, "out", *dst); err != nil {
			return err
		}
		res, err := experiment.Report(*dir, *dst)
		return printReport(out, res, err)
	}
	if err := require("out", *dst); err != nil {
		return err
	}
	q, err := qf.open(ctx, "suture experiment report", 0, 0, nil)
	if err != nil {
		return err
	}
	defer q.Conn().Close()
	res, err := cluster.Report(ctx, q, *plan, *dir, *dst)
	return printReport(out, res, err)
}

// printReport prints which files a report wrote.
func printReport(out io.Writer, res *experiment.ReportResult, err error) error {
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s (and %d more files)\n", res.Files[0], len(res.Files)-1)
	return nil
}
