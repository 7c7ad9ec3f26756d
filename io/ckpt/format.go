package ckpt

import (
	"encoding/json"
	"hash/crc32"
	"math/bits"
)

// Layout constants of format version 1 (see the package documentation).
const (
	magic          = "SUTURECK"
	version uint32 = 1

	prefixBytes   = 8 + 4 + 4 // magic, version, header length
	dataLenBytes  = 8
	checksumBytes = 4
	// minFileBytes is the size of a file with an empty header and no data.
	minFileBytes = prefixBytes + dataLenBytes + checksumBytes

	// maxHeaderBytes bounds the JSON header; a real one is a few KiB.
	maxHeaderBytes = 64 << 20
	// maxWindowBytes bounds the zstd window, so the decoder's history buffer.
	maxWindowBytes = 4 << 20
	minWindowBytes = 1 << 10

	// DefaultMaxBytes is the limit Read applies to the file size and to the
	// decompressed tensor data.
	DefaultMaxBytes int64 = 4 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// header is the JSON header of a checkpoint file.
type header struct {
	Meta      map[string]json.RawMessage `json:"meta"`
	DataBytes int64                      `json:"data_bytes"`
	Tensors   []indexEntry               `json:"tensors"`
}

// indexEntry locates one tensor in the decompressed data stream.
type indexEntry struct {
	Name   string  `json:"name"`
	Shape  []int64 `json:"shape"`
	Offset int64   `json:"offset"` // bytes from the start of the decompressed stream
	Length int64   `json:"length"` // bytes; 4 * number of elements
}

// windowLimit is the largest zstd window a frame holding dataBytes bytes may
// use: the smallest power of two above dataBytes, clamped to
// [minWindowBytes, maxWindowBytes].
func windowLimit(dataBytes int64) uint64 {
	if dataBytes >= maxWindowBytes {
		return maxWindowBytes
	}
	return max(minWindowBytes, uint64(1)<<bits.Len64(uint64(dataBytes)))
}
