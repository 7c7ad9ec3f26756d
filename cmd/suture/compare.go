package main

import (
	"context"
	"encoding/json"
	"io"

	"suture/experiment"
)

func runCompare(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("compare", out)
	ref := fs.String("ref", "", "per-sample CSV of the reference (name,dice,hd95[,fold], as `suture eval --out` writes)")
	var alts labelledFiles
	fs.Var(&alts, "alt", "NAME=CSV: an alternative to compare with the reference (repeat)")
	metric := fs.String("metric", "dice", "dice or hd95")
	asJSON := fs.Bool("json", false, "one JSON object per alternative")
	if err := parse(fs, args, "ref"); err != nil {
		return err
	}
	if len(alts.files) == 0 {
		return usageErr("give at least one --alt NAME=CSV")
	}
	if *metric != "dice" && *metric != "hd95" {
		return usageErr("--metric %q, want dice or hd95", *metric)
	}
	res, err := experiment.CompareFiles(*ref, alts.labels, alts.files, *metric)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONLines(out, res)
	}
	experiment.WriteComparisons(out, *metric, *ref, res)
	return nil
}

// writeJSONLines writes each of rows as a JSON object on a line.
func writeJSONLines[T any](out io.Writer, rows []T) error {
	enc := json.NewEncoder(out)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
