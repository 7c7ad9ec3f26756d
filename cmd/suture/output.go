package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"suture/experiment"
	"suture/io/ckpt"
	"suture/io/imageset"
	"suture/stitch"
	"suture/unet"
)

// Every command that writes a file replaces an existing one only when it
// is recognisably that command's own kind of output (sniffed from its
// first bytes or its header); anything else needs --force. A folder at the
// path is always refused. The writes themselves are atomic (temporary file,
// rename), so a failed write leaves the old file whole.

// outputKind recognises a command's own earlier output.
type outputKind struct {
	what string                 // for messages: "a .npy array"
	ours func(path string) bool // reads only what it needs
}

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

// head returns up to n first bytes of the file at path.
func head(path string, n int) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	b := make([]byte, n)
	m, _ := io.ReadFull(f, b)
	return b[:m]
}

// firstLine is the file's first line (at most 4 KiB), without its newline.
func firstLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	line, _ := bufio.NewReaderSize(io.LimitReader(f, 4096), 4096).ReadString('\n')
	return strings.TrimRight(line, "\r\n")
}

var (
	npyOutput = outputKind{"a .npy array", func(p string) bool {
		return bytes.HasPrefix(head(p, 6), []byte("\x93NUMPY"))
	}}
	safetensorsOutput = outputKind{"a safetensors file", func(p string) bool {
		h := head(p, 9)
		return len(h) == 9 && binary.LittleEndian.Uint64(h) < 1<<30 && h[8] == '{'
	}}
	pngOutput = outputKind{"a PNG image", func(p string) bool {
		return bytes.HasPrefix(head(p, 8), []byte("\x89PNG\r\n\x1a\n"))
	}}
	scoresCSV = csvOutput("name,dice,hd95", "a per-sample scores CSV (name,dice,hd95)")
	sweepCSV  = csvOutput("network,index,a_vertex,b_vertex,dice,hd95", "a sweep CSV")
	sampleCSV = csvOutput("stitched_switches,active_stitches,output,dice,hd95,setting", "a sample CSV")
	planJSON  = outputKind{"a plan file", func(p string) bool {
		_, err := experiment.LoadPlan(p)
		return err == nil
	}}
	importedModel = outputKind{"a model checkpoint written by suture import", func(p string) bool {
		c, err := ckpt.Read(p)
		if err != nil {
			return false
		}
		kind, _ := c.Kind()
		var imported bool
		return kind == unet.Kind && c.GetMeta(importedMeta, &imported) == nil && imported
	}}
	extractedModel = outputKind{"a network checkpoint written by suture export network", func(p string) bool {
		c, err := ckpt.Read(p)
		if err != nil {
			return false
		}
		kind, _ := c.Kind()
		return kind == stitch.ExtractedKind
	}}
	sutureImage = outputKind{"an image Suture wrote", func(p string) bool {
		ok, err := imageset.WrittenBySuture(p)
		return err == nil && ok
	}}
	synthIndex = csvOutput("id,name,sequence_id", "an index Suture wrote")
)

// importedMeta is the checkpoint meta key that marks a model written by
// suture import (true), so that a later import may replace it and nothing
// else (a trained run's checkpoint) without --force.
const importedMeta = "imported"

// csvOutput recognises a CSV by its header line.
func csvOutput(header, what string) outputKind {
	return outputKind{what, func(p string) bool {
		line := firstLine(p)
		return line == header || strings.HasPrefix(line, header+",")
	}}
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
