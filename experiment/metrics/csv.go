package metrics

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"suture/internal/atomicfile"
	"suture/internal/sniff"
)

// csvHeader is the header line of the per-sample CSV.
const csvHeader = "name,dice,hd95"

// IsScoresCSV reports whether the file at path is a per-sample CSV as
// EncodeCSV writes one (by its header line; more columns may follow).
func IsScoresCSV(path string) bool { return sniff.CSVHeader(path, csvHeader) }

// EncodeCSV writes one line per sample, "name,dice,hd95", after that header
// line. Numbers are in Go's shortest round-trip form; NaN is written "NaN"
// (which pandas and numpy read back as NaN).
func EncodeCSV(w io.Writer, samples []Score) error {
	cw := csv.NewWriter(w)
	format := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	if err := cw.Write(strings.Split(csvHeader, ",")); err != nil {
		return err
	}
	for _, s := range samples {
		if err := cw.Write([]string{s.Name, format(s.Dice), format(s.HD95)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteCSV writes the samples to path atomically: on error the previous file
// at path, if any, is untouched.
func WriteCSV(path string, samples []Score) error {
	if err := atomicfile.Write(path, func(w io.Writer) error { return EncodeCSV(w, samples) }); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}
