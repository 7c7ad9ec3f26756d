package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"suture/io/npy"
	"suture/tensor"
	"suture/unet"
)

func runForward(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("forward", out)
	model := fs.String("model", "", "U-Net checkpoint (Suture's own or imported)")
	in := fs.String("in", "", "input .npy: float32 (N, C, H, W), already normalised")
	dst := fs.String("out", "", "output .npy: the logits (N, K, H, W)")
	all := fs.Bool("all-outputs", false, "also write every deep-supervision output, as OUT_ds1.npy, OUT_ds2.npy, ...")
	force := fs.Bool("force", false, "replace an existing output that is not this command's own kind of file")
	mkBackend := backendFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require("model", *model, "in", *in, "out", *dst); err != nil {
		return err
	}
	if err := checkOutput(*dst, *force, npyOutput); err != nil {
		return err
	}
	b, err := mkBackend()
	if err != nil {
		return err
	}
	l, err := unet.Load(*model, b)
	if err != nil {
		return err
	}
	x, err := npy.ReadFile(*in)
	if err != nil {
		return err
	}
	if len(x.Shape) != 4 {
		return fmt.Errorf("%s: shape %v: want rank 4 (N, C, H, W)", *in, x.Shape)
	}
	var outs []*tensor.Tensor
	if *all {
		outs, err = l.Model.Forward(x)
	} else {
		var y *tensor.Tensor
		y, err = l.Model.ForwardMain(x)
		outs = []*tensor.Tensor{y}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	stem := strings.TrimSuffix(*dst, filepath.Ext(*dst))
	paths := make([]string, len(outs))
	for i := range outs {
		paths[i] = *dst
		if i > 0 {
			paths[i] = fmt.Sprintf("%s_ds%d.npy", stem, i)
		}
		if err := checkOutput(paths[i], *force, npyOutput); err != nil {
			return err
		}
	}
	for i, o := range outs {
		path := paths[i]
		if err := npy.WriteFile(path, o); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s %v\n", path, o.Shape)
	}
	return nil
}
