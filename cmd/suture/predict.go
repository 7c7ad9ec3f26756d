package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"suture/experiment"
	"suture/experiment/metrics"
	"suture/io/imageset"
	"suture/stitch"
	"suture/unet"
)

func runPredict(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("predict", out)
	model := fs.String("model", "", "U-Net or stitched checkpoint")
	in := fs.String("in", "", "input image (PNG, JPEG or TIFF)")
	dst := fs.String("out", "", "output mask PNG (0 background, 255 foreground)")
	net := fs.String("net", "ensemble", "for stitched models: a, b, ensemble, stitch-ensemble:K or switches:SPEC")
	mkBackend := backendFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require("model", *model, "in", *in, "out", *dst); err != nil {
		return err
	}
	b, err := mkBackend()
	if err != nil {
		return err
	}
	img, err := imageset.ReadImage(*in)
	if err != nil {
		return err
	}
	sample := []unet.Sample{{Name: filepath.Base(*in), Image: img}}
	kind, err := modelKind(*model)
	if err != nil {
		return err
	}
	var classes []uint8
	switch kind {
	case "unet":
		l, err := unet.Load(*model, b)
		if err != nil {
			return err
		}
		preds, err := l.Model.Predict(sample, 1)
		if err != nil {
			return fmt.Errorf("%s: %w", *in, err)
		}
		classes = preds[0]
	case "stitched":
		s, err := stitch.Load(*model, b, unet.LoadBase)
		if err != nil {
			return err
		}
		setting, err := experiment.ParseNet(*net, s.M.Pairs())
		if err != nil {
			return usageErr("%v", err)
		}
		probs, err := experiment.StitchedProbabilities(s, setting, sample, 1)
		if err != nil {
			return fmt.Errorf("%s: %w", *in, err)
		}
		if classes, err = unet.ArgMax(probs[0]); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%s: unknown model kind %q", *model, kind)
	}
	if err := imageset.WriteMask(*dst, experiment.Foreground(classes), img.Shape[1], img.Shape[2]); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s\n", *dst)
	return nil
}

// maskFiles maps stems to mask files in dir.
func maskFiles(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files := map[string]string{}
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".png" && ext != ".tif" && ext != ".tiff" && ext != ".jpg" && ext != ".jpeg") {
			continue
		}
		stem := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		if prev, dup := files[stem]; dup {
			return nil, fmt.Errorf("%s: %s and %s have the same stem", dir, prev, e.Name())
		}
		files[stem] = filepath.Join(dir, e.Name())
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no mask images (png, tif, jpg)", dir)
	}
	return files, nil
}

func runScore(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("score", out)
	pred := fs.String("pred", "", "folder of predicted masks")
	ref := fs.String("ref", "", "folder of reference masks with the same stems")
	csvPath := fs.String("out", "", "write per-sample scores to this CSV")
	asJSON := fs.Bool("json", false, "print one JSON object (n, dice_mean, hd95_mean, ...)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require("pred", *pred, "ref", *ref); err != nil {
		return err
	}
	pf, err := maskFiles(*pred)
	if err != nil {
		return err
	}
	rf, err := maskFiles(*ref)
	if err != nil {
		return err
	}
	stems := make([]string, 0, len(rf))
	for s := range rf {
		if _, ok := pf[s]; !ok {
			return fmt.Errorf("no prediction for reference mask %s in %s", rf[s], *pred)
		}
		stems = append(stems, s)
	}
	for s, f := range pf {
		if _, ok := rf[s]; !ok {
			return fmt.Errorf("no reference mask for prediction %s in %s", f, *ref)
		}
	}
	sort.Strings(stems)
	res := make([]metrics.Sample, len(stems))
	for i, s := range stems {
		p, err := imageset.ReadMask(pf[s])
		if err != nil {
			return err
		}
		r, err := imageset.ReadMask(rf[s])
		if err != nil {
			return err
		}
		if !p.Shape.Equal(r.Shape) {
			return fmt.Errorf("%s is %v, its reference %s is %v", pf[s], p.Shape, rf[s], r.Shape)
		}
		pm, _ := experiment.MaskOf(unet.Sample{Name: s, Mask: p})
		rm, _ := experiment.MaskOf(unet.Sample{Name: s, Mask: r})
		if res[i], err = metrics.Evaluate(s, pm, rm, p.Shape[1], p.Shape[2], metrics.PixelSpacing); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return report(out, res, *csvPath, *asJSON, summaryJSON{Data: *ref})
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
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if err := require("out", *dir); err != nil {
		return err
	}
	ds, err := imageset.Synth(*party, *n, *size, *seed)
	if err != nil {
		return err
	}
	if err := imageset.WriteFolderPair(*dir, ds.Samples); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %d images and masks of party %s (%dx%d) to %s\n", ds.Len(), *party, *size, *size, *dir)
	return nil
}
