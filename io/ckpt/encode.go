package ckpt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/klauspost/compress/zstd"
)

// streamName stands for the file name in errors from Encode and Decode.
const streamName = "stream"

// Encode writes c to w in the checkpoint format. Nothing is written when c
// is invalid (nil or device tensors, empty or repeated names, data that does
// not fill a shape, meta values that are not JSON).
func Encode(w io.Writer, c *Checkpoint) error {
	return encode(w, c, streamName)
}

func encode(w io.Writer, c *Checkpoint, name string) error {
	hdr, err := buildHeader(c, name)
	if err != nil {
		return err
	}
	hjson, err := json.Marshal(hdr)
	if err != nil {
		return &FormatError{File: name, Reason: "encoding header", Err: err}
	}
	if len(hjson) > maxHeaderBytes {
		return &FormatError{File: name, Reason: fmt.Sprintf("header of %d bytes exceeds the format's %d-byte limit", len(hjson), maxHeaderBytes)}
	}
	comp, err := compressTensors(c.Tensors, hdr.DataBytes)
	if err != nil {
		return &FormatError{File: name, Reason: "compressing tensor data", Err: err}
	}

	crc := crc32.New(castagnoli)
	out := io.MultiWriter(w, crc)
	var prefix [prefixBytes]byte
	copy(prefix[:], magic)
	binary.LittleEndian.PutUint32(prefix[8:], version)
	binary.LittleEndian.PutUint32(prefix[12:], uint32(len(hjson)))
	var dataLen [dataLenBytes]byte
	binary.LittleEndian.PutUint64(dataLen[:], uint64(len(comp)))
	for _, part := range [][]byte{prefix[:], hjson, dataLen[:], comp} {
		if _, err := out.Write(part); err != nil {
			return &FormatError{File: name, Reason: "writing", Err: err}
		}
	}
	var sum [checksumBytes]byte
	binary.LittleEndian.PutUint32(sum[:], crc.Sum32())
	if _, err := w.Write(sum[:]); err != nil {
		return &FormatError{File: name, Reason: "writing", Err: err}
	}
	return nil
}

// buildHeader validates c and lays its tensors out contiguously in order.
func buildHeader(c *Checkpoint, name string) (*header, error) {
	bad := func(format string, args ...any) error {
		return &FormatError{File: name, Reason: "cannot encode: " + fmt.Sprintf(format, args...)}
	}
	if c == nil {
		return nil, bad("nil checkpoint")
	}
	hdr := &header{Meta: c.Meta, Tensors: make([]indexEntry, 0, len(c.Tensors))}
	if hdr.Meta == nil {
		hdr.Meta = map[string]json.RawMessage{}
	}
	for k, v := range c.Meta {
		if !json.Valid(v) {
			return nil, bad("meta %q is not valid JSON", k)
		}
	}
	seen := make(map[string]bool, len(c.Tensors))
	var offset int64
	for i, n := range c.Tensors {
		switch {
		case n.Name == "":
			return nil, bad("tensor %d has an empty name", i)
		case seen[n.Name]:
			return nil, bad("tensor name %q appears twice", n.Name)
		case n.T == nil:
			return nil, bad("tensor %q is nil", n.Name)
		case !n.T.OnHost():
			return nil, bad("tensor %q is on a device; copy it to the host first", n.Name)
		}
		seen[n.Name] = true
		if err := n.T.Shape.Validate(); err != nil {
			return nil, bad("tensor %q: %v", n.Name, err)
		}
		if len(n.T.Data) != n.T.Numel() {
			return nil, bad("tensor %q: %d values for shape %v (%d elements)", n.Name, len(n.T.Data), n.T.Shape, n.T.Numel())
		}
		length := 4 * int64(n.T.Numel())
		if offset > math.MaxInt64/2-length {
			return nil, bad("tensor data exceeds %d bytes", int64(math.MaxInt64/2))
		}
		shape := make([]int64, len(n.T.Shape))
		for j, d := range n.T.Shape {
			shape[j] = int64(d)
		}
		hdr.Tensors = append(hdr.Tensors, indexEntry{Name: n.Name, Shape: shape, Offset: offset, Length: length})
		offset += length
	}
	hdr.DataBytes = offset
	return hdr, nil
}

// compressTensors returns one zstd frame holding the tensors' elements as
// little-endian float32, in order; dataBytes is their total size.
func compressTensors(tensors []Named, dataBytes int64) ([]byte, error) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithWindowSize(maxWindowBytes),
		zstd.WithEncoderConcurrency(1), // deterministic output, golden-file friendly
		zstd.WithEncoderCRC(true),
		zstd.WithZeroFrames(true))
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	if dataBytes == 0 {
		// A streaming frame without content size would declare a large window;
		// EncodeAll writes the minimal single-segment empty frame.
		return enc.EncodeAll(nil, nil), nil
	}
	var out bytes.Buffer
	enc.ResetContentSize(&out, dataBytes)
	const chunk = 1 << 14 // elements converted per Write
	buf := make([]byte, 4*chunk)
	for _, n := range tensors {
		data := n.T.Data
		for len(data) > 0 {
			k := min(len(data), chunk)
			for i, v := range data[:k] {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			if _, err := enc.Write(buf[:4*k]); err != nil {
				return nil, err
			}
			data = data[k:]
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
