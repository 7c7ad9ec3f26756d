package experiment

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"suture/internal/progress"
	"suture/unet"
)

// The jobs' progress as the commands show it: each event type's lines on
// the writer the caller gives, and its steps on the caller's bar.

// WriteTrainEvent writes a training job's event: its start, its epochs,
// its steps on bar.
func WriteTrainEvent(w io.Writer, bar *progress.Bar, e TrainEvent) {
	if e.Kind != "start" {
		writeEpochEvent(w, bar, e.Kind, e.Progress, e.Epoch, e.Best)
		return
	}
	i := e.Info
	if i.Resumed > 0 {
		fmt.Fprintf(w, "resuming at epoch %d\n", i.ResumedEpoch+1)
	}
	if i.FromCheckpoint != "" {
		fmt.Fprintf(w, "fine-tuning %s: base learning rate %.3g, warm-up from %.3g\n", i.FromCheckpoint, i.LR, i.WarmupFrom)
	}
	fmt.Fprintf(w, "training %s (%d train, %d validation images of %v) for %d epochs on %s\n", i.Data, i.Train, i.Val, i.Shape, i.Epochs, i.Backend)
	fmt.Fprintf(w, "network: %d stages, features %v, %d parameters\n", i.Stages, i.Features, i.Parameters)
}

// WriteDistillEvent writes a distillation's event (teacher names the
// teacher's checkpoint).
func WriteDistillEvent(w io.Writer, bar *progress.Bar, teacher string, e DistillEvent) {
	if e.Kind != "start" {
		writeEpochEvent(w, bar, e.Kind, e.Progress, e.Epoch, e.Best)
		return
	}
	i := e.Info
	if i.Resumed {
		fmt.Fprintf(w, "resuming at epoch %d\n", i.ResumedEpoch+1)
	}
	fmt.Fprintf(w, "distilling %s of %s (%d stitches) at T %g, alpha %g\n", i.Meta.Net, teacher, i.TeacherPairs, i.Meta.Temperature, i.Meta.Alpha)
	fmt.Fprintf(w, "student %s: features %v, %d parameters; %d labelled, %d unlabelled, %d validation images; %d epochs on %s\n",
		i.Meta.Student, i.Features, i.StudentParams, i.Train, i.Unlabelled, i.Val, i.Epochs, i.Backend)
}

// writeEpochEvent writes a step (on bar) or an epoch of a U-Net's training
// (training and distillation alike).
func writeEpochEvent(w io.Writer, bar *progress.Bar, kind string, p unet.Progress, row unet.EpochLog, best bool) {
	switch kind {
	case "step":
		bar.Update(p.Iter, p.Iters, fmt.Sprintf("epoch %d/%d  step %d/%d  loss %.4f", p.Epoch+1, p.Epochs, p.Iter, p.Iters, p.Loss))
	case "epoch":
		bar.Done()
		mark := ""
		if best {
			mark = "  (best)"
		}
		fmt.Fprintf(w, "epoch %3d  loss %.4f  val Dice %.4f  lr %.5f  %.1fs%s\n", row.Epoch+1, row.TrainLoss, row.ValDice, row.LR, row.Seconds, mark)
	}
}

// WriteStitchEvent writes a stitch job's event (aPath and bPath name its
// networks).
func WriteStitchEvent(w io.Writer, bar *progress.Bar, aPath, bPath string, e StitchEvent) {
	switch e.Kind {
	case "start":
		i := e.Info
		fmt.Fprintf(w, "stitching %s and %s: %d matched pairs, %d stitch parameters; %s training on %d images for %d epochs\n",
			aPath, bPath, i.Pairs, i.Parameters, i.Mode, i.Images, i.Epochs)
	case "step":
		p := e.Progress
		bar.Update(p.Iter, p.Iters, fmt.Sprintf("epoch %d/%d  step %d/%d  loss %.5f", p.Epoch+1, p.Epochs, p.Iter, p.Iters, p.Loss))
	case "epoch":
		bar.Done()
		r := e.Epoch
		fmt.Fprintf(w, "epoch %3d  loss %.5f  lr %.2e  %.1fs\n", r.Epoch+1, r.Loss, r.LR, r.Seconds)
	}
}

// WriteRunProgress writes a plan run's progress: a line per job finished
// (since: the time since the run started), the first job running on bar.
func WriteRunProgress(w io.Writer, bar *progress.Bar, since time.Duration, pr RunProgress) {
	if pr.Finished != nil {
		bar.Done()
		verdict := "done"
		switch {
		case errors.Is(pr.Err, context.Canceled):
			verdict = "stopped (resumes with the next run)"
		case pr.Err != nil:
			verdict = "FAILED: " + pr.Err.Error()
		}
		fmt.Fprintf(w, "[%d/%d] %s  %s  (%s since start)\n", pr.Done, pr.Total, pr.Finished.ID, verdict, since.Round(time.Second))
	}
	if len(pr.Running) > 0 {
		r := pr.Running[0]
		label := fmt.Sprintf("%d/%d jobs  %s %3.0f%%", pr.Done, pr.Total, r.ID, 100*r.Frac)
		if len(pr.Running) > 1 {
			label += fmt.Sprintf(" (+%d running)", len(pr.Running)-1)
		}
		bar.Update(int(1000*r.Frac), 1000, label)
	}
}

// DemoProgress returns the demo's progress writer: a line when a stage
// starts, its steps on bar.
func DemoProgress(w io.Writer, bar *progress.Bar) func(DemoStage) {
	stage := ""
	return func(s DemoStage) {
		if s.Stage != stage {
			bar.Done()
			stage = s.Stage
			fmt.Fprintf(w, "- %s\n", stage)
		}
		bar.Update(s.Done, s.Total, fmt.Sprintf("%d/%d  loss %.4f", s.Done, s.Total, s.Loss))
	}
}

// WriteRQ1Header writes the head of RQ1's table; WriteRQ1Row its rows.
func WriteRQ1Header(w io.Writer) {
	fmt.Fprintf(w, "%-10s %6s %10s %10s %10s %10s %14s\n", "run", "nets", "0-25%", "25-50%", "50-75%", "75-100%", ">= 50% (n)")
}

// WriteRQ1Row writes a run's row of RQ1's table (label, its sample
// rows): the mean Dice of its networks by fraction of switches stitched.
func WriteRQ1Row(w io.Writer, label string, rows []SampleRow) {
	b := SummarizeRQ1(rows, 0)
	fmt.Fprintf(w, "%-10s %6d %10.4f %10.4f %10.4f %10.4f %8.4f (%d)\n", label, len(rows),
		b.Bins[0], b.Bins[1], b.Bins[2], b.Bins[3], b.AtLeastHalf, b.NHalf)
}

// WriteCostTable writes DistillCost's rows as a table (in: the images'
// (C, H, W); batch and backend as timed).
func WriteCostTable(w io.Writer, rows []NetCost, in [3]int, batch int, backend string) {
	fmt.Fprintf(w, "%-28s %10s %12s %10s   (%dx%d images, batch %d, %s)\n", "network", "parameters", "GFLOP/image", "images/s", in[1], in[2], batch, backend)
	for _, r := range rows {
		fmt.Fprintf(w, "%-28s %10d %12.4f %10.1f\n", r.Name, r.Params, r.GFLOP, r.ImgPerSec)
	}
}
