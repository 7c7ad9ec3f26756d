package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"suture/io/ckpt"
	"suture/unet"
)

// parsePositional parses flags that may come before, between or after n
// positional arguments, and returns the positionals (errors and -h as in
// parse).
func parsePositional(fs *flag.FlagSet, args []string, n int, what string) ([]string, error) {
	var pos []string
	out := fs.Output()
	fs.SetOutput(io.Discard)
	defer fs.SetOutput(out)
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(out, "Usage of %s:\n", fs.Name())
				fs.SetOutput(out)
				fs.PrintDefaults()
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != n {
		return nil, usageErr("want %s (got %d arguments besides flags)", what, len(pos))
	}
	return pos, nil
}

func runImport(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || (args[0] != "nnunet" && args[0] != "safetensors") {
		return usageErr("want: suture import nnunet RESULTS_DIR --fold K [--checkpoint final|best] --out MODEL.ckpt\n   or: suture import safetensors FILE --out MODEL.ckpt")
	}
	nnunet := args[0] == "nnunet"
	fs := newFlags("import "+args[0], out)
	fold, which, what := new(int), new(string), "one safetensors FILE"
	if nnunet {
		fold = fs.Int("fold", -1, "the fold to import (fold_K in the results folder)")
		which = fs.String("checkpoint", "final", "final or best (checkpoint_final.pth or checkpoint_best.pth)")
		what = "one RESULTS_DIR (DatasetNNN_Name/nnUNetTrainer__nnUNetPlans__2d)"
	}
	dst := fs.String("out", "", "the Suture model checkpoint to write")
	force := forceFlag(fs)
	mkBackend := backendFlag(fs)
	pos, err := parsePositional(fs, args[1:], 1, what)
	if err != nil {
		return err
	}
	if err := require("out", *dst); err != nil {
		return err
	}
	if err := checkOutput(*dst, *force, importedModel); err != nil {
		return err
	}
	if nnunet && *fold < 0 {
		return usageErr("--fold is required (0..4, or the fold the folder holds)")
	}
	if nnunet && *which != "final" && *which != "best" {
		return usageErr("--checkpoint %q, want final or best", *which)
	}
	b, err := mkBackend()
	if err != nil {
		return err
	}
	var m *unet.Model
	if nnunet {
		m, err = unet.ImportNNUNet(pos[0], *fold, *which, b)
	} else {
		m, err = unet.LoadSafetensors(pos[0], b)
	}
	if err != nil {
		return err
	}
	if err := m.SaveImported(*dst, ckpt.RunInfo{Data: pos[0], Fold: *fold}); err != nil {
		return err
	}
	describe(out, m)
	fmt.Fprintf(out, "wrote %s\n", *dst)
	return nil
}

// describe prints a one-paragraph summary of a U-Net.
func describe(out io.Writer, m *unet.Model) {
	c, inf := m.Config, m.InferenceFor()
	arch := "PlainConvUNet"
	if c.Encoder == unet.EncoderResidual {
		arch = "ResidualEncoderUNet"
	}
	fmt.Fprintf(out, "%s: %d stages, features %v, %d input channels, %d classes", arch, c.NStages, c.FeaturesPerStage, c.InChannels, c.NumClasses)
	if len(inf.Labels) > 0 {
		fmt.Fprintf(out, " %v", inf.Labels)
	}
	fmt.Fprintf(out, "; patch %dx%d; mirroring axes %v", inf.PatchSize[0], inf.PatchSize[1], inf.MirrorAxes)
	if inf.Source != "" {
		fmt.Fprintf(out, "; from %s", inf.Source)
	}
	fmt.Fprintln(out)
}
