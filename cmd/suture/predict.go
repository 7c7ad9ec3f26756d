package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"

	"suture/experiment"
	"suture/internal/progress"
	"suture/io/imageset"
	"suture/segment"
	"suture/stitch"
)

func runPredict(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("predict", out)
	model := fs.String("model", "", "U-Net, stitched or extracted-network checkpoint")
	in := fs.String("in", "", "input image (PNG, JPEG or TIFF), or a folder of them")
	dst := fs.String("out", "", "output mask PNG, or a folder for the masks (same stems, .png); not inside --in")
	net := fs.String("net", "", "stitched models only: a, b, ensemble (default), stitch-ensemble:K or switches:SPEC")
	noMirror := fs.Bool("no-mirror", false, "turn test-time mirroring off")
	step := fs.Float64("step", 0.5, fmt.Sprintf("sliding-window step as a fraction of the patch (%g..%g)", segment.MinStep, segment.MaxStep))
	maxPixels := fs.Int64("max-pixels", 0, "refuse images larger than this many pixels (width x height), read from their headers (0: half the machine's memory at segment.BytesPerPixel)")
	force := fs.Bool("force", false, "replace existing files at the mask paths even when they are not masks Suture wrote")
	mkBackend := backendFlag(fs)
	if err := parse(fs, args, "model", "in", "out"); err != nil {
		return err
	}
	opts := segment.Options{NoMirror: *noMirror, Step: *step, MaxPixels: *maxPixels}
	if err := segment.CheckStep(*step); err != nil {
		return usageErr("--step: %v", err)
	}
	if err := opts.Check(); err != nil {
		return usageErr("--max-pixels: %v", err)
	}
	st, err := os.Stat(*in)
	if err != nil {
		return err
	}
	var jobs []segment.FileJob
	if st.IsDir() {
		if jobs, err = segment.FolderJobs(*in, *dst); err != nil {
			return err
		}
	} else {
		jobs = []segment.FileJob{{In: *in, Out: *dst}}
	}
	if err := segment.CheckOutputs(jobs, *force); err != nil {
		return withForceHint(err, segment.ErrNotOurs)
	}
	b, err := mkBackend()
	if err != nil {
		return err
	}
	m, err := segment.Load(*model, b, *net)
	if ne := (*stitch.NetError)(nil); errors.As(err, &ne) {
		return usageErr("--net: %v", err)
	} else if err != nil {
		return err
	}
	m.Options = opts
	// A large image keeps a few hundred MB live (the image, the scores);
	// the default GC target (twice the live heap) would let per-tile garbage
	// double the peak. 25% keeps a 6000x4000 RGB image under 1 GB
	// (bench/RESULTS.md section 7).
	debug.SetGCPercent(25)
	if !st.IsDir() {
		if err := m.SegmentFile(*in, *dst); err != nil {
			return predictErr(err)
		}
		fmt.Fprintf(out, "wrote %s\n", *dst)
		return nil
	}
	if err := os.MkdirAll(*dst, 0o755); err != nil {
		return err
	}
	bar := progress.New(notices)
	written, err := m.SegmentFiles(ctx, jobs, func(i, n int, j segment.FileJob) {
		bar.Update(i, n, fmt.Sprintf("%d/%d %s", i, n, filepath.Base(j.In)))
	})
	bar.Done()
	fmt.Fprintf(out, "wrote %d of %d masks to %s\n", written, len(jobs), *dst)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w after %d of %d images: %v", errInterrupted, written, len(jobs), err)
	}
	return predictErr(err)
}

// predictErr adds the flag that lifts the pixel limit to an error that
// hit it.
func predictErr(err error) error {
	if err != nil && errors.Is(err, segment.ErrTooLarge) {
		return fmt.Errorf("%w\n(--max-pixels raises the limit, if the machine has the memory)", err)
	}
	return err
}

// withForceHint adds "--force replaces it" to an error that refused to
// replace an existing file.
func withForceHint(err, refusal error) error {
	if err != nil && errors.Is(err, refusal) {
		return fmt.Errorf("%w (--force replaces it)", err)
	}
	return err
}

func runScore(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("score", out)
	pred := fs.String("pred", "", "folder of predicted masks")
	ref := fs.String("ref", "", "folder of reference masks with the same stems")
	checkCSV, printScores := scoresOutFlags(fs, "write per-sample scores to this CSV")
	if err := parse(fs, args, "pred", "ref"); err != nil {
		return err
	}
	if err := checkCSV(); err != nil {
		return err
	}
	ev, err := experiment.ScoreMasks(*pred, *ref)
	if err != nil {
		return err
	}
	return printScores(out, ev)
}

func runData(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "synth" {
		return usageErr("want: suture data synth --party a|b --n N --size S --out DIR")
	}
	fs := newFlags("data synth", out)
	party := fs.String("party", "a", "party a or b (b has a domain shift)")
	n := fs.Int("n", 600, "number of images")
	size := fs.Int("size", 64, "image side in pixels")
	seed := fs.Uint64("seed", 1, "seed")
	dir := fs.String("out", "", "output folder (images/, masks/)")
	force := forceFlag(fs)
	if err := parse(fs, args[1:], "out"); err != nil {
		return err
	}
	ds, err := imageset.Synth(*party, *n, *size, *seed)
	if err != nil {
		return err
	}
	if err := checkSynthOutput(*dir, ds.Names(), *force); err != nil {
		return err
	}
	if err := imageset.WriteFolderPair(*dir, ds.Samples); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %d images and masks of party %s (%dx%d) to %s\n", ds.Len(), *party, *size, *size, *dir)
	return nil
}
