package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"suture/bench/profile"
	"suture/experiment"
	"suture/experiment/metrics"
	"suture/io/imageset"
	"suture/io/npy"
	"suture/io/safetensors"
	"suture/stitch"
	"suture/unet"
)

// Every command that writes a file replaces an existing one only when it
// is recognisably that command's own kind of output (each package
// recognises its own files); anything else needs --force. A folder at the
// path is always refused. The writes themselves are atomic (temporary
// file, rename), so a failed write leaves the old file whole.

// outputKind recognises a command's own earlier output.
type outputKind struct {
	what string                 // for messages: "a .npy array"
	ours func(path string) bool // reads only what it needs
}

var (
	npyOutput         = outputKind{"a .npy array", npy.IsFile}
	safetensorsOutput = outputKind{"a safetensors file", safetensors.IsFile}
	pngOutput         = outputKind{"a PNG image", imageset.IsPNG}
	scoresCSV         = outputKind{"a per-sample scores CSV (name,dice,hd95)", metrics.IsScoresCSV}
	sweepCSV          = outputKind{"a sweep CSV", experiment.IsSweepCSV}
	sampleCSV         = outputKind{"a sample CSV", experiment.IsSampleCSV}
	planJSON          = outputKind{"a plan file", experiment.IsPlanFile}
	importedModel     = outputKind{"a model checkpoint written by suture import", unet.IsImported}
	extractedModel    = outputKind{"a network checkpoint written by suture export network", stitch.IsExtracted}
	synthIndex        = outputKind{"an index Suture wrote", imageset.IsIndex}
	cpuProfileOutput  = outputKind{"a CPU profile", profile.IsCPUProfile}
	goTraceOutput     = outputKind{"a runtime trace", profile.IsGoTrace}
	chromeTraceOutput = outputKind{"a Chrome trace Suture wrote", profile.IsChromeTrace}
	sutureImage       = outputKind{"an image Suture wrote", func(p string) bool {
		ok, err := imageset.WrittenBySuture(p)
		return err == nil && ok
	}}
)

// checkOutput refuses path when it exists and is not of kind k, unless
// force, and always when it is not a regular file.
func checkOutput(path string, force bool, k outputKind) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s exists and is not a regular file", path)
	}
	if force || k.ours(path) {
		return nil
	}
	return fmt.Errorf("%s exists and is not %s (--force replaces it)", path, k.what)
}

// checkSynthOutput checks every file data synth would write into dir:
// images/NAME.png and masks/NAME.png for each name, and index.csv.
func checkSynthOutput(dir string, names []string, force bool) error {
	for _, n := range names {
		for _, sub := range []string{"images", "masks"} {
			if err := checkOutput(filepath.Join(dir, sub, n+".png"), force, sutureImage); err != nil {
				return err
			}
		}
	}
	return checkOutput(filepath.Join(dir, "index.csv"), force, synthIndex)
}

// checkProfileOutput refuses a profile flag's path that holds some other
// file (the profile flags have no --force): nothing but an earlier profile
// is replaced.
func checkProfileOutput(flagName, path string, k outputKind) error {
	if path == "" {
		return nil
	}
	if err := checkOutput(path, false, k); err != nil {
		return fmt.Errorf("--%s: %s exists and is not %s; remove it or name another file", flagName, path, k.what)
	}
	return nil
}
