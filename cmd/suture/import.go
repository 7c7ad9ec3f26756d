package main

import (
	"context"
	"fmt"
	"io"

	"suture/io/ckpt"
	"suture/unet"
)

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
	pos, err := parsePositional(fs, args[1:], 1, what, "out")
	if err != nil {
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
	m.Describe(out)
	fmt.Fprintf(out, "wrote %s\n", *dst)
	return nil
}
