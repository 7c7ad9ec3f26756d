package ckpt

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"

	"github.com/klauspost/compress/zstd"

	"suture/tensor"
)

// Decode reads one checkpoint from r. maxBytes caps both the number of bytes
// read from r and the size of the decompressed tensor data, so it bounds the
// memory Decode allocates; a checkpoint over the limit is an error.
func Decode(r io.Reader, maxBytes int64) (*Checkpoint, error) {
	if maxBytes <= 0 {
		return nil, &FormatError{File: streamName, Reason: fmt.Sprintf("limit %d must be positive", maxBytes)}
	}
	// ReadAll grows its buffer as bytes arrive, so a short stream costs little
	// whatever the limit.
	buf, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, &FormatError{File: streamName, Reason: "reading", Err: err}
	}
	if int64(len(buf)) > maxBytes {
		return nil, &FormatError{File: streamName, Reason: fmt.Sprintf("longer than the limit of %d bytes", maxBytes)}
	}
	return decodeBytes(buf, streamName, maxBytes)
}

// decodeBytes decodes a whole checkpoint file held in buf; name is used in errors.
func decodeBytes(buf []byte, name string, maxBytes int64) (*Checkpoint, error) {
	bad := func(format string, args ...any) error {
		return &FormatError{File: name, Reason: fmt.Sprintf(format, args...)}
	}
	size := int64(len(buf))
	switch {
	case size == 0:
		return nil, bad("truncated: empty file")
	case size < int64(len(magic)) && magic[:size] == string(buf):
		return nil, bad("truncated: %d bytes, inside the magic bytes", size)
	case size < int64(len(magic)) || string(buf[:len(magic)]) != magic:
		return nil, bad("not a Suture checkpoint (bad magic bytes)")
	}
	if size < minFileBytes {
		return nil, bad("truncated: %d bytes, the smallest checkpoint has %d", size, minFileBytes)
	}
	if v := binary.LittleEndian.Uint32(buf[8:]); v != version {
		return nil, bad("unsupported format version %d (this reader knows version %d)", v, version)
	}
	hlen := int64(binary.LittleEndian.Uint32(buf[12:]))
	if hlen > maxHeaderBytes {
		return nil, bad("header length %d exceeds the format's limit of %d bytes", hlen, maxHeaderBytes)
	}
	if prefixBytes+hlen+dataLenBytes+checksumBytes > size {
		return nil, bad("truncated (or corrupt length field): header length %d does not fit in %d bytes", hlen, size)
	}
	clen := binary.LittleEndian.Uint64(buf[prefixBytes+hlen:])
	fixed := prefixBytes + hlen + dataLenBytes + checksumBytes
	if clen > uint64(size-fixed) {
		return nil, bad("truncated (or corrupt length field): compressed data length %d, but only %d bytes are left for it", clen, size-fixed)
	}
	total := fixed + int64(clen)
	if size > total {
		return nil, bad("%d bytes of trailing garbage after the checksum", size-total)
	}
	body := buf[:total-checksumBytes]
	want := binary.LittleEndian.Uint32(buf[total-checksumBytes:])
	if got := crc32.Checksum(body, castagnoli); got != want {
		return nil, bad("checksum mismatch: stored CRC-32C %08x, computed %08x (file corrupted)", want, got)
	}

	hdr, err := parseHeader(buf[prefixBytes:prefixBytes+hlen], name)
	if err != nil {
		return nil, err
	}
	if err := checkIndex(hdr, name, maxBytes); err != nil {
		return nil, err
	}
	comp := buf[prefixBytes+hlen+dataLenBytes : total-checksumBytes]
	tensors, err := decompressTensors(comp, hdr, name)
	if err != nil {
		return nil, err
	}
	return &Checkpoint{Meta: hdr.Meta, Tensors: tensors}, nil
}

func parseHeader(raw []byte, name string) (*header, error) {
	var hdr header
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&hdr); err != nil {
		return nil, &FormatError{File: name, Reason: "corrupt header JSON", Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &FormatError{File: name, Reason: "corrupt header JSON: data after the header object"}
	}
	if hdr.Meta == nil {
		hdr.Meta = map[string]json.RawMessage{}
	}
	return &hdr, nil
}

// maxElements bounds one tensor's element count (as tensor.Shape.Validate does).
const maxElements = 1 << 40

// checkIndex verifies that the tensor index is consistent before anything is
// allocated from it.
func checkIndex(hdr *header, name string, maxBytes int64) error {
	bad := func(format string, args ...any) error {
		return &FormatError{File: name, Reason: "inconsistent tensor index: " + fmt.Sprintf(format, args...)}
	}
	if hdr.DataBytes < 0 {
		return bad("negative data_bytes %d", hdr.DataBytes)
	}
	if hdr.DataBytes > maxBytes {
		return &FormatError{File: name, Reason: fmt.Sprintf("tensor data of %d bytes exceeds the limit of %d bytes", hdr.DataBytes, maxBytes)}
	}
	seen := make(map[string]bool, len(hdr.Tensors))
	for _, e := range hdr.Tensors {
		if e.Name == "" {
			return bad("a tensor has an empty name")
		}
		if seen[e.Name] {
			return bad("tensor name %q appears twice", e.Name)
		}
		seen[e.Name] = true
		numel := int64(1)
		for _, d := range e.Shape {
			if d < 0 {
				return bad("tensor %q: negative dimension in shape %v", e.Name, e.Shape)
			}
			// Checking d alone as well catches absurd dimensions hidden by a zero.
			if d > maxElements || d != 0 && numel > maxElements/d {
				return bad("tensor %q: shape %v has too many elements", e.Name, e.Shape)
			}
			numel *= d
		}
		if e.Length != 4*numel {
			return bad("tensor %q: length %d bytes, but shape %v needs %d", e.Name, e.Length, e.Shape, 4*numel)
		}
		if e.Offset < 0 || e.Offset > hdr.DataBytes-e.Length {
			return bad("tensor %q: bytes [%d, %d+%d) outside the %d-byte data", e.Name, e.Offset, e.Offset, e.Length, hdr.DataBytes)
		}
	}
	order := byOffset(hdr.Tensors)
	var end int64
	for i, k := range order {
		e := hdr.Tensors[k]
		if i > 0 && e.Offset < end {
			prev := hdr.Tensors[order[i-1]]
			return bad("tensors %q and %q overlap", prev.Name, e.Name)
		}
		if e.Offset > end {
			return bad("gap of %d bytes before tensor %q", e.Offset-end, e.Name)
		}
		end = e.Offset + e.Length
	}
	if end != hdr.DataBytes {
		return bad("tensors cover %d bytes, data_bytes says %d", end, hdr.DataBytes)
	}
	return nil
}

// byOffset returns the indices of entries sorted by offset (then length, so
// an empty tensor sorts before a non-empty one at the same offset).
func byOffset(entries []indexEntry) []int {
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ea, eb := entries[a], entries[b]
		return cmp.Or(cmp.Compare(ea.Offset, eb.Offset), cmp.Compare(ea.Length, eb.Length))
	})
	return order
}

// decompressTensors decodes the zstd frame into the tensors of a checked
// index. Tensor memory grows as decompressed bytes arrive, so a frame that
// ends early costs no more than the bytes it really holds.
func decompressTensors(comp []byte, hdr *header, name string) ([]Named, error) {
	zerr := func(reason string, err error) error {
		return &FormatError{File: name, Reason: reason, Err: err}
	}
	zr, err := zstd.NewReader(bytes.NewReader(comp),
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(windowLimit(hdr.DataBytes)))
	if err != nil {
		return nil, zerr("starting zstd decoder", err)
	}
	defer zr.Close()

	out := make([]Named, len(hdr.Tensors))
	buf := make([]byte, 1<<16)
	var done int64 // decompressed bytes consumed so far
	for _, k := range byOffset(hdr.Tensors) {
		e := hdr.Tensors[k]
		numel := int(e.Length / 4)
		data := make([]float32, 0, min(numel, len(buf)/4))
		for rest := e.Length; rest > 0; {
			n := int(min(rest, int64(len(buf))))
			if _, err := io.ReadFull(zr, buf[:n]); err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					return nil, &FormatError{File: name, Reason: fmt.Sprintf("compressed data ends early: index needs %d bytes, got fewer than %d", hdr.DataBytes, done+int64(n))}
				}
				return nil, zerr(fmt.Sprintf("decompressing tensor %q", e.Name), err)
			}
			data = growFloats(data, n/4, numel)
			for i := 0; i < n; i += 4 {
				data = append(data, math.Float32frombits(binary.LittleEndian.Uint32(buf[i:])))
			}
			rest -= int64(n)
			done += int64(n)
		}
		shape := make([]int, len(e.Shape))
		for j, d := range e.Shape {
			shape[j] = int(d)
		}
		t, err := tensor.FromData(data, shape...)
		if err != nil { // unreachable after checkIndex; kept so a bug cannot panic
			return nil, &FormatError{File: name, Reason: fmt.Sprintf("tensor %q", e.Name), Err: err}
		}
		out[k] = Named{Name: e.Name, T: t}
	}
	// The frame must end exactly here: more output, or bytes after the frame,
	// mean the index and the data disagree.
	var one [1]byte
	switch _, err := io.ReadFull(zr, one[:]); {
	case err == nil:
		return nil, &FormatError{File: name, Reason: fmt.Sprintf("compressed data holds more than the %d bytes the index describes", hdr.DataBytes)}
	case err != io.EOF:
		return nil, zerr("decompressing after the last tensor", err)
	}
	return out, nil
}

// growFloats makes room for k more elements, doubling the capacity but never
// beyond limit, so the final slice is exactly limit long with no slack.
func growFloats(data []float32, k, limit int) []float32 {
	if cap(data)-len(data) >= k {
		return data
	}
	newCap := min(limit, max(2*cap(data), len(data)+k))
	grown := make([]float32, len(data), newCap)
	copy(grown, data)
	return grown
}
