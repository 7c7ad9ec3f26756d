package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"suture/experiment"
	"suture/internal/progress"
	"suture/unet"
)

func runDistill(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 && args[0] == "cost" {
		return runDistillCost(ctx, args[1:], out)
	}
	fs := newFlags("distill", out)
	rf := addRunFlags(fs, "the party's dataset (folder, or synth:PARTY[:N[:SIZE[:SEED]]]); its training part of --fold is used",
		"cross-validation fold 0..4 (its training part is distilled on)", "resize original Kvasir/CVC frames to this size (0: as stored)",
		"continue the student in --out", "overwrite --out if it exists")
	teacher := fs.String("teacher", "", "stitched checkpoint (suture stitch), or a stitch-ensemble exported from one")
	net := fs.String("net", "", "the teacher's stitch-ensemble: stitch-ensemble:K (may be left out for an exported one)")
	unlabelled := fs.String("unlabelled", "", "a folder of further images without masks (png, jpg, tif): teacher's term only")
	student := fs.String("student", "a", "a (network A of the teacher: its architecture and weights), or a plans.json or config JSON for a new network")
	dst := fs.String("out", "", "student checkpoint to write (rewritten after every epoch, with its training state)")
	opts := unet.DefaultTrainOptions()
	opts.Epochs = 12
	fs.IntVar(&opts.Epochs, "epochs", opts.Epochs, "epochs (the poly schedule spans them)")
	fs.IntVar(&opts.BatchSize, "batch", opts.BatchSize, "images per step")
	fs.IntVar(&opts.ItersPerEpoch, "iters", 0, "steps per epoch (0: one pass over the training images)")
	lr := fs.Float64("lr", 0, "initial learning rate (0: 1e-3 from a, 1e-2 for a new network)")
	temp := fs.Float64("temperature", 2, "softmax temperature T of teacher and student in the KL term")
	alpha := fs.Float64("alpha", 1, "weight A of the labelled Dice + CE (0: the teacher alone)")
	noAug := fs.Bool("no-augment", false, "turn data augmentation off")
	noVal := fs.Bool("no-validate", false, "do not score the validation part after every epoch")
	seed := fs.Uint64("seed", 1, "seed of batches, augmentation and a new network's weights")
	mkBackend := backendFlag(fs)
	if err := parse(fs, args, "teacher", "data", "out"); err != nil {
		return err
	}
	if k, ok := strings.CutPrefix(*net, "stitch-ensemble:"); *net != "" && (!ok || !isIndex(k)) {
		return usageErr("--net %q names no stitch-ensemble; want stitch-ensemble:K (K a stitch index)", *net)
	}
	if !(*temp > 0) || math.IsInf(*temp, 0) {
		return usageErr("--temperature %g must be a positive number", *temp)
	}
	if !(*alpha >= 0) || math.IsInf(*alpha, 0) {
		return usageErr("--alpha %g must be a number >= 0", *alpha)
	}
	if opts.Epochs < 1 || opts.BatchSize < 1 {
		return usageErr("--epochs and --batch must be >= 1")
	}
	if *lr < 0 {
		return usageErr("--lr %g must be >= 0", *lr)
	}
	prec, err := rf.check()
	if err != nil {
		return err
	}
	opts.LR, opts.NoAugment = float32(*lr), *noAug
	if flagGiven(fs, "precision") {
		opts.Precision = prec // given: a resume checks it against the run's
	}
	if *lr == 0 {
		opts.LR = 1e-2
		if *student == "a" || *student == "" {
			opts.LR = 1e-3
		}
	}
	b, err := mkBackend()
	if err != nil {
		return err
	}
	spec := experiment.DistillSpec{Out: *dst, Teacher: *teacher, Net: *net, Data: *rf.data, Size: *rf.size, Fold: *rf.fold, SplitSeed: *rf.splitSeed,
		Unlabelled: *unlabelled, Student: *student, Seed: *seed, Opts: opts, Temperature: *temp, Alpha: *alpha,
		Validate: !*noVal, Resume: *rf.resume, Force: *rf.force}
	bar := progress.New(out)
	start := time.Now()
	res, err := experiment.Distill(ctx, b, spec, func(e experiment.DistillEvent) { experiment.WriteDistillEvent(out, bar, *teacher, e) })
	bar.Done()
	if err != nil {
		return trainErr(err)
	}
	if res.Stopped != nil {
		fmt.Fprintln(out, res.Stopped)
	}
	fmt.Fprintf(out, "done in %v; wrote %s\n", time.Since(start).Round(time.Second), res.Out)
	return nil
}

// runDistillCost prints the cost of a, a & b, the teacher and a student.
func runDistillCost(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("distill cost", out)
	teacher := fs.String("teacher", "", "the student's teacher: stitched checkpoint")
	net := fs.String("net", "", "the teacher's stitch-ensemble: stitch-ensemble:K")
	student := fs.String("student", "", "the student checkpoint (suture distill --out)")
	batch := fs.Int("batch", 32, "images per forward pass")
	rounds := fs.Int("rounds", 7, "timed rounds (every network once per round; the median is reported)")
	asJSON := fs.Bool("json", false, "print one JSON object per network")
	mkBackend := backendFlag(fs)
	if err := parse(fs, args, "teacher", "student"); err != nil {
		return err
	}
	if *batch < 1 || *rounds < 1 {
		return usageErr("--batch %d and --rounds %d must be >= 1", *batch, *rounds)
	}
	b, err := mkBackend()
	if err != nil {
		return err
	}
	tc, err := experiment.LoadTeacher(*teacher, b, *net)
	if err != nil {
		return err
	}
	st, err := unet.Load(*student, b)
	if err != nil {
		return err
	}
	rows, err := experiment.DistillCost(ctx, b, tc, st.Model, experiment.CostOptions{Batch: *batch, Rounds: *rounds})
	if err != nil {
		return interrupted(err)
	}
	if *asJSON {
		return writeJSONLines(out, rows)
	}
	experiment.WriteCostTable(out, rows, tc.S.Meta.Input, *batch, b.Name())
	return nil
}

// isIndex reports whether s is a non-negative decimal integer.
func isIndex(s string) bool {
	k, err := strconv.Atoi(s)
	return err == nil && k >= 0
}
