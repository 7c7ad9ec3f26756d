package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"

	"suture/experiment"
	"suture/experiment/metrics"
	"suture/io/ckpt"
	"suture/kernels"
	"suture/stitch"
	"suture/unet"
)

// summaryJSON is the one object `--json` prints for eval and score.
type summaryJSON struct {
	N        int      `json:"n"`
	DiceMean *float64 `json:"dice_mean"` // null when undefined for every sample
	HD95Mean *float64 `json:"hd95_mean"`
	DiceNaN  int      `json:"dice_nan"`
	HD95NaN  int      `json:"hd95_nan"`
	Model    string   `json:"model,omitempty"`
	Net      string   `json:"net,omitempty"`
	Data     string   `json:"data,omitempty"`
	Split    string   `json:"split,omitempty"`
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// report prints a summary (table or JSON) and writes the per-sample CSV.
func report(out io.Writer, res []metrics.Score, csvPath string, asJSON bool, meta summaryJSON) error {
	if csvPath != "" {
		if err := metrics.WriteCSV(csvPath, res); err != nil {
			return err
		}
	}
	s := metrics.Summarize(res)
	if asJSON {
		meta.N, meta.DiceMean, meta.HD95Mean, meta.DiceNaN, meta.HD95NaN = s.N, finite(s.DiceMean), finite(s.HD95Mean), s.DiceNaN, s.HD95NaN
		return json.NewEncoder(out).Encode(meta)
	}
	fmt.Fprintf(out, "n %d  Dice %.4f  HD95 %.3f px", s.N, s.DiceMean, s.HD95Mean)
	if s.DiceNaN+s.HD95NaN > 0 {
		fmt.Fprintf(out, "  (undefined: Dice %d, HD95 %d)", s.DiceNaN, s.HD95NaN)
	}
	fmt.Fprintln(out)
	if csvPath != "" {
		fmt.Fprintf(out, "per-sample scores: %s\n", csvPath)
	}
	return nil
}

// modelKind reads a checkpoint's kind ("unet" or "stitched").
func modelKind(path string) (string, error) {
	c, err := ckpt.Read(path)
	if err != nil {
		return "", err
	}
	var kind string
	if err := c.GetMeta("kind", &kind); err != nil {
		return "", fmt.Errorf("%s: not a Suture model checkpoint: %w", path, err)
	}
	return kind, nil
}

// evalData loads data and picks a split, defaulting fold and split seed to
// those recorded in the model's run.
func evalData(data string, size int, run ckpt.RunInfo, fold int, splitSeed int64, split string) ([]unet.Input, error) {
	ds, err := experiment.LoadData(data, size)
	if err != nil {
		return nil, err
	}
	if fold < 0 {
		fold = run.Fold
	}
	seed := run.SplitSeed
	if splitSeed >= 0 {
		seed = uint64(splitSeed)
	}
	part, err := experiment.Split(ds, seed, fold)
	if err != nil {
		return nil, err
	}
	return part.Subset(split)
}

func runEval(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("eval", out)
	model := fs.String("model", "", "U-Net or stitched checkpoint")
	data := fs.String("data", "", "dataset folder or synth:PARTY[:N[:SIZE[:SEED]]]")
	split := fs.String("split", "test", "which samples: test, val, train or all")
	fold := fs.Int("fold", -1, "cross-validation fold (default: the model's)")
	splitSeed := fs.Int64("split-seed", -1, "seed of the six-part split (default: the model's)")
	net := fs.String("net", "", "stitched models only: a, b, ensemble (default), stitch-ensemble:K or switches:SPEC")
	csvPath := fs.String("out", "", "write per-sample scores (name, dice, hd95) to this CSV")
	asJSON := fs.Bool("json", false, "print one JSON object (n, dice_mean, hd95_mean, ...)")
	batch := fs.Int("batch", 8, "images per forward pass")
	size := fs.Int("size", 0, "resize original Kvasir/CVC frames to this size")
	force := fs.Bool("force", false, "replace an existing output that is not this command's own kind of file")
	mkBackend := backendFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require("model", *model, "data", *data); err != nil {
		return err
	}
	if *csvPath != "" {
		if err := checkOutput(*csvPath, *force, scoresCSV); err != nil {
			return err
		}
	}
	b, err := mkBackend()
	if err != nil {
		return err
	}
	res, meta, err := evaluate(b, *model, *data, *size, *split, *fold, *splitSeed, *net, *batch)
	if err != nil {
		return err
	}
	return report(out, res, *csvPath, *asJSON, meta)
}

// evaluate scores a U-Net or one network extracted from a stitched model.
func evaluate(b kernels.Backend, model, data string, size int, split string, fold int, splitSeed int64, net string, batch int) ([]metrics.Score, summaryJSON, error) {
	meta := summaryJSON{Model: model, Data: data, Split: split}
	kind, err := modelKind(model)
	if err != nil {
		return nil, meta, err
	}
	if net != "" && kind != stitch.Kind {
		return nil, meta, usageErr("%s: a %s checkpoint is one network; --net applies to stitched checkpoints only", model, kind)
	}
	switch kind {
	case "unet":
		l, err := unet.Load(model, b)
		if err != nil {
			return nil, meta, err
		}
		samples, err := evalData(data, size, l.Meta.Run, fold, splitSeed, split)
		if err != nil {
			return nil, meta, err
		}
		res, err := experiment.EvalUNet(l.Model, samples, batch)
		return res, meta, err
	case "stitched":
		s, err := stitch.Load(model, b, unet.LoadBase)
		if err != nil {
			return nil, meta, err
		}
		if net == "" {
			net = "ensemble"
		}
		setting, err := stitch.ParseNet(net, s.M.Pairs())
		if err != nil {
			return nil, meta, usageErr("--net: %v", err)
		}
		meta.Net = net
		samples, err := evalData(data, size, s.Meta.Run, fold, splitSeed, split)
		if err != nil {
			return nil, meta, err
		}
		res, err := experiment.EvalStitched(s, setting, samples, batch)
		return res, meta, err
	case stitch.ExtractedKind:
		c, err := ckpt.Read(model)
		if err != nil {
			return nil, meta, err
		}
		s, setting, err := stitch.FromExtracted(model, c, b, unet.LoadBase)
		if err != nil {
			return nil, meta, err
		}
		meta.Net = setting.String()
		samples, err := evalData(data, size, s.Meta.Run, fold, splitSeed, split)
		if err != nil {
			return nil, meta, err
		}
		res, err := experiment.EvalStitched(s, setting, samples, batch)
		return res, meta, err
	}
	return nil, meta, fmt.Errorf("%s: unknown model kind %q", model, kind)
}
