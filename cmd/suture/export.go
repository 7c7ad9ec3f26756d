package main

import (
	"context"
	"fmt"
	"io"

	"suture/io/ckpt"
	"suture/stitch"
	"suture/unet"
)

func runExport(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || (args[0] != "safetensors" && args[0] != "network") {
		return usageErr("want: suture export safetensors --model MODEL.ckpt --out M.safetensors\n   or: suture export network --model STITCHED.ckpt --net stitch-ensemble:K --out NET.ckpt")
	}
	if args[0] == "network" {
		return runExportNetwork(args[1:], out)
	}
	fs := newFlags("export safetensors", out)
	model := fs.String("model", "", "U-Net checkpoint (Suture's own or imported)")
	dst := fs.String("out", "", "safetensors file to write")
	force := forceFlag(fs)
	mkBackend := backendFlag(fs)
	if err := parse(fs, args[1:], "model", "out"); err != nil {
		return err
	}
	if err := checkOutput(*dst, *force, safetensorsOutput); err != nil {
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
	if err := l.Model.SaveSafetensors(*dst); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s (nnU-Net state-dict names; plans, dataset and inference settings in the metadata)\n", *dst)
	return nil
}

// runExportNetwork saves one network of a stitched model (a stitch-ensemble,
// say) as a standalone model that predict and package segment load like any
// other.
func runExportNetwork(args []string, out io.Writer) error {
	fs := newFlags("export network", out)
	model := fs.String("model", "", "stitched checkpoint")
	net := fs.String("net", "", "the network: a, b, ensemble, stitch-ensemble:K or switches:SPEC")
	dst := fs.String("out", "", "model checkpoint to write")
	force := forceFlag(fs)
	mkBackend := backendFlag(fs)
	if err := parse(fs, args, "model", "net", "out"); err != nil {
		return err
	}
	if err := checkOutput(*dst, *force, extractedModel); err != nil {
		return err
	}
	b, err := mkBackend()
	if err != nil {
		return err
	}
	c, err := ckpt.Read(*model)
	if err != nil {
		return err
	}
	s, err := stitch.FromCheckpoint(*model, c, b, unet.LoadBase)
	if err != nil {
		return err
	}
	setting, err := stitch.ParseNet(*net, s.M.Pairs())
	if err != nil {
		return usageErr("--net: %v", err)
	}
	if err := s.SaveExtracted(*dst, setting); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s (%s)\n", *dst, setting)
	return nil
}
