package imageset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// indexRow is one row of an index.csv: a sample's stem and group.
type indexRow struct {
	name  string
	group string
	line  int
}

// readIndex reads an index.csv with a "name" column (file stems, or file
// names) and an optional "sequence_id" column
// (the group). found is false when the file does not exist.
func readIndex(path string) (rows []indexRow, found bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("imageset: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err == io.EOF {
		return nil, true, fmt.Errorf("imageset: %s is empty (want a header with a \"name\" column)", path)
	}
	if err != nil {
		return nil, true, fmt.Errorf("imageset: %s: %w", path, err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff") // a UTF-8 byte-order mark
	}
	for i := range header {
		header[i] = strings.TrimSpace(header[i])
	}
	nameCol := slices.Index(header, "name")
	if nameCol < 0 {
		return nil, true, fmt.Errorf("imageset: %s has no \"name\" column (header %q)", path, header)
	}
	groupCol := slices.Index(header, "sequence_id")
	seen := make(map[string]int)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, true, fmt.Errorf("imageset: %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		name := strings.TrimSpace(rec[nameCol])
		if name == "" {
			return nil, true, fmt.Errorf("imageset: %s line %d: empty name", path, line)
		}
		if prev, dup := seen[name]; dup {
			return nil, true, fmt.Errorf("imageset: %s line %d: name %q already on line %d", path, line, name, prev)
		}
		seen[name] = line
		row := indexRow{name: name, line: line}
		if groupCol >= 0 {
			row.group = strings.TrimSpace(rec[groupCol])
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, true, fmt.Errorf("imageset: %s lists no samples", path)
	}
	return rows, true, nil
}
