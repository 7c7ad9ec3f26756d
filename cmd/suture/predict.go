package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"suture/experiment"
	"suture/experiment/metrics"
	"suture/io/imageset"
	"suture/segment"
	"suture/stitch"
	"suture/unet"
)

func runPredict(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("predict", out)
	model := fs.String("model", "", "U-Net, stitched or extracted-network checkpoint")
	in := fs.String("in", "", "input image (PNG, JPEG or TIFF), or a folder of them")
	dst := fs.String("out", "", "output mask PNG, or a folder for the masks (same stems, .png)")
	net := fs.String("net", "", "stitched models only: a, b, ensemble (default), stitch-ensemble:K or switches:SPEC")
	noMirror := fs.Bool("no-mirror", false, "turn test-time mirroring off")
	step := fs.Float64("step", 0.5, "sliding-window step as a fraction of the patch")
	mkBackend := backendFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require("model", *model, "in", *in, "out", *dst); err != nil {
		return err
	}
	if !(*step > 0 && *step <= 1) {
		return usageErr("--step %g must be in (0, 1]", *step)
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
	m.Options = segment.Options{NoMirror: *noMirror, Step: *step}
	// A large image keeps a few hundred MB live (the image, the scores);
	// the default GC target (twice the live heap) would let per-tile garbage
	// double the peak. 25% keeps a 6000x4000 RGB image under 1 GB
	// (bench/RESULTS.md section 7).
	debug.SetGCPercent(25)
	st, err := os.Stat(*in)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		if err := predictOne(m, *in, *dst); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s\n", *dst)
		return nil
	}
	files, err := imageFiles(*in)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dst, 0o755); err != nil {
		return err
	}
	bar := newProgress(notices)
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			bar.done()
			return fmt.Errorf("%w after %d of %d images", errInterrupted, i, len(files))
		}
		bar.update(i, len(files), fmt.Sprintf("%d/%d %s", i, len(files), filepath.Base(f)))
		stem := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		if err := predictOne(m, f, filepath.Join(*dst, stem+".png")); err != nil {
			bar.done()
			return err
		}
	}
	bar.done()
	fmt.Fprintf(out, "wrote %d masks to %s\n", len(files), *dst)
	return nil
}

// predictOne segments the image at path and writes its mask: 0 and 255 for
// a two-class model, the class indices for more classes.
func predictOne(m *segment.Model, path, dst string) error {
	img, err := imageset.ReadImage(path)
	if err != nil {
		return err
	}
	h, w := img.Shape[1], img.Shape[2]
	classes, err := m.Classes(img)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if m.NumClasses == 2 {
		return imageset.WriteMask(dst, classes, h, w)
	}
	return imageset.WriteLabels(dst, classes, h, w)
}

// imageFiles lists the images (png, jpg, jpeg, tif, tiff) in dir, sorted.
func imageFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.IsDir() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".tif" || ext == ".tiff") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no images (png, jpg, tif)", dir)
	}
	return files, nil
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
	res := make([]metrics.Score, len(stems))
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
