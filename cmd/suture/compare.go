package main

import (
	"context"
	"encoding/json"
	"fmt"
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
		enc := json.NewEncoder(out)
		for _, c := range res {
			if err := enc.Encode(c); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(out, "%s against %s (alt - ref; two-sided Wilcoxon signed-rank, normal approximation; Holm over the %d alternatives)\n",
		*metric, *ref, len(res))
	fmt.Fprintf(out, "%-24s %6s %8s %11s %11s %10s %10s\n", "alt", "n", "dropped", "mean diff", "median diff", "p", "p (Holm)")
	for _, c := range res {
		fmt.Fprintf(out, "%-24s %6d %8d %11.5f %11.5f %10s %10s\n", c.Alt, c.N, c.Dropped, c.MeanDiff, c.MedianDiff, pval(c.P), pval(c.PHolm))
	}
	return nil
}

func pval(p float64) string {
	if p != p {
		return "-"
	}
	return fmt.Sprintf("%.4g", p)
}
