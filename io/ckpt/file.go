package ckpt

import (
	"fmt"
	"io"
	"os"

	"suture/internal/atomicfile"
)

// wrapTemp lets tests put a failing writer (a full disk) between the encoder
// and the file.
var wrapTemp = func(w io.Writer) io.Writer { return w }

// Write saves c at path atomically (see atomicfile.Write): on error the file
// that was at path, if any, is left as it was.
func Write(path string, c *Checkpoint) error {
	// Validate before touching the file system, so a bad checkpoint does not
	// even create a temporary file.
	if _, err := buildHeader(c, path); err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { return encode(wrapTemp(w), c, path) })
}

// Read loads the checkpoint at path with DefaultMaxBytes as the limit.
func Read(path string) (*Checkpoint, error) {
	return ReadLimit(path, DefaultMaxBytes)
}

// ReadLimit loads the checkpoint at path; maxBytes caps the file size and the
// decompressed tensor data, as in Decode.
func ReadLimit(path string, maxBytes int64) (*Checkpoint, error) {
	if maxBytes <= 0 {
		return nil, &FormatError{File: path, Reason: fmt.Sprintf("limit %d must be positive", maxBytes)}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &FormatError{File: path, Reason: "opening", Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &FormatError{File: path, Reason: "stat", Err: err}
	}
	if !st.Mode().IsRegular() {
		return nil, &FormatError{File: path, Reason: "not a regular file"}
	}
	if st.Size() > maxBytes {
		return nil, &FormatError{File: path, Reason: fmt.Sprintf("file of %d bytes exceeds the limit of %d bytes", st.Size(), maxBytes)}
	}
	// The size comes from the file system, not from the file's content, so
	// allocating it is safe; ReadFull then catches a file that shrank.
	buf := make([]byte, st.Size())
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, &FormatError{File: path, Reason: "reading", Err: err}
	}
	if n, _ := f.Read(make([]byte, 1)); n > 0 {
		return nil, &FormatError{File: path, Reason: "file grew while being read"}
	}
	return decodeBytes(buf, path, maxBytes)
}
