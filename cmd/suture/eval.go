package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"suture/experiment"
	"suture/experiment/metrics"
	"suture/segment"
	"suture/stitch"
)

// report writes the per-sample CSV (when csvPath is set) and prints the
// summary: a table line, or with asJSON the summary object.
func report(out io.Writer, ev *experiment.Evaluation, csvPath string, asJSON bool) error {
	if csvPath != "" {
		if err := metrics.WriteCSV(csvPath, ev.Scores); err != nil {
			return err
		}
	}
	if asJSON {
		return json.NewEncoder(out).Encode(ev.Summary())
	}
	metrics.WriteSummary(out, metrics.Summarize(ev.Scores))
	if csvPath != "" {
		fmt.Fprintf(out, "per-sample scores: %s\n", csvPath)
	}
	return nil
}

// scoresOutFlags adds --out (a per-sample CSV), --json and --force, and
// returns a function that checks the CSV's path and one that reports.
func scoresOutFlags(fs interface {
	String(name, value, usage string) *string
	Bool(name string, value bool, usage string) *bool
}, csvUsage string) (check func() error, print func(io.Writer, *experiment.Evaluation) error) {
	csvPath := fs.String("out", "", csvUsage)
	asJSON := fs.Bool("json", false, "print one JSON object (n, dice_mean, hd95_mean, ...)")
	force := fs.Bool("force", false, forceUsage)
	check = func() error {
		if *csvPath == "" {
			return nil
		}
		return checkOutput(*csvPath, *force, scoresCSV)
	}
	return check, func(out io.Writer, ev *experiment.Evaluation) error { return report(out, ev, *csvPath, *asJSON) }
}

func runEval(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("eval", out)
	spec := experiment.EvalSpec{Part: experiment.DataPart{Fold: -1, SplitSeed: -1}}
	fs.StringVar(&spec.Model, "model", "", "U-Net or stitched checkpoint")
	fs.StringVar(&spec.Part.Data, "data", "", "dataset folder or synth:PARTY[:N[:SIZE[:SEED]]]")
	fs.StringVar(&spec.Part.Split, "split", "test", "which samples: test, val, train or all")
	fs.IntVar(&spec.Part.Fold, "fold", -1, "cross-validation fold (default: the model's)")
	fs.Int64Var(&spec.Part.SplitSeed, "split-seed", -1, "seed of the six-part split (default: the model's)")
	fs.StringVar(&spec.Net, "net", "", "stitched models only: a, b, ensemble (default), stitch-ensemble:K or switches:SPEC")
	fs.IntVar(&spec.Batch, "batch", 8, "images per forward pass")
	fs.IntVar(&spec.Part.Size, "size", 0, "resize original Kvasir/CVC frames to this size")
	checkCSV, printScores := scoresOutFlags(fs, "write per-sample scores (name, dice, hd95) to this CSV")
	mkBackend := backendFlag(fs)
	if err := parse(fs, args, "model", "data"); err != nil {
		return err
	}
	if err := checkCSV(); err != nil {
		return err
	}
	b, err := mkBackend()
	if err != nil {
		return err
	}
	ev, err := experiment.Evaluate(b, spec)
	if one := (*segment.OneNetworkError)(nil); errors.As(err, &one) {
		return usageErr("%s: a %s checkpoint is one network; --net applies to stitched checkpoints only", one.Name, one.Kind)
	} else if ne := (*stitch.NetError)(nil); errors.As(err, &ne) {
		return usageErr("--net: %v", err)
	} else if err != nil {
		return err
	}
	return printScores(out, ev)
}
