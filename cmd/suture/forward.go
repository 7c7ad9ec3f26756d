package main

import (
	"context"
	"fmt"
	"io"

	"suture/io/npy"
	"suture/unet"
)

func runForward(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("forward", out)
	model := fs.String("model", "", "U-Net checkpoint (Suture's own or imported)")
	in := fs.String("in", "", "input .npy: float32 (N, C, H, W), already normalised")
	dst := fs.String("out", "", "output .npy: the logits (N, K, H, W)")
	all := fs.Bool("all-outputs", false, "also write every deep-supervision output, as OUT_ds1.npy, OUT_ds2.npy, ...")
	force := forceFlag(fs)
	mkBackend := backendFlag(fs)
	if err := parse(fs, args, "model", "in", "out"); err != nil {
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
	outs, err := l.Model.ForwardFile(*in, *all)
	if err != nil {
		return err
	}
	paths := unet.OutputFiles(*dst, len(outs))
	for _, p := range paths {
		if err := checkOutput(p, *force, npyOutput); err != nil {
			return err
		}
	}
	for i, o := range outs {
		if err := npy.WriteFile(paths[i], o); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s %v\n", paths[i], o.Shape)
	}
	return nil
}
