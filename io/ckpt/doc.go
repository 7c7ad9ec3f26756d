// Package ckpt reads and writes Suture checkpoints: named float32 host tensors
// plus free-form JSON metadata (model kind and config, training state, ...).
//
// # File format, version 1
//
// All integers are little-endian. Offsets are from the start of the file.
//
//	offset     size  field
//	0          8     magic "SUTURECK"
//	8          4     format version, uint32 (= 1)
//	12         4     H: header length in bytes, uint32 (at most 64 MiB)
//	16         H     header: one JSON object, UTF-8 (see below)
//	16+H       8     C: compressed data length in bytes, uint64
//	24+H       C     tensor data: one zstd frame (RFC 8878)
//	24+H+C     4     CRC-32C (Castagnoli polynomial) of bytes [0, 24+H+C)
//
// The file ends right after the checksum: its size is exactly 28+H+C bytes,
// and anything after the checksum is an error (trailing garbage).
//
// The header object has exactly these keys (unknown keys are an error):
//
//	{
//	  "meta":       {"kind": "unet", "config": {...}, "epoch": 12},
//	  "data_bytes": D,
//	  "tensors":    [{"name": "enc0.conv.w", "shape": [16, 3, 3, 3],
//	                  "offset": 0, "length": 1728}, ...]
//	}
//
// meta maps keys to arbitrary JSON values; the package does not interpret
// them. D is the size in bytes of the decompressed tensor data. Each tensor
// entry gives its name (non-empty, unique), its shape (outermost dimension
// first, dimensions >= 0; [] is a scalar), and the byte range
// [offset, offset+length) of its elements in the decompressed stream, where
// length = 4 * (product of the shape). The ranges must not overlap and must
// tile [0, D) exactly (no gaps). Elements are float32, IEEE 754, little-endian,
// row-major (the layout of tensor.Tensor.Data). The writer stores tensors in
// the order of Checkpoint.Tensors, contiguously; the reader returns them in
// index order whatever their offsets.
//
// The compressed data is a single zstd frame that decompresses to exactly D
// bytes. Its window size is at most min(4 MiB, max(1 KiB, P)) where P is the
// smallest power of two greater than D; the reader configures zstd with that
// limit so a hostile frame cannot make it reserve more memory. The writer enables
// zstd's own content checksum (XXH64) as well.
//
// # Reading defensively
//
// The reader never trusts a length it has not checked against the bytes it
// actually has: the header and compressed lengths are checked against the
// file size, D against a caller-supplied limit, the index for consistency
// (names, negative or overflowing shapes, lengths that do not match shapes,
// overlaps, gaps, ranges outside D), and tensor memory is grown as
// decompressed bytes arrive rather than allocated up front from the index.
// Every problem is reported as a *FormatError naming the file and the fault.
// The CRC is verified before the header is parsed, so a corrupted header is
// reported as a checksum mismatch unless the corruption is in the H or C
// fields themselves, which shows up as a size mismatch.
//
// # Writing atomically
//
// Write encodes into a temporary file in the target's directory, fsyncs it,
// renames it over the target and fsyncs the directory. On any failure the
// temporary file is removed and the previous checkpoint at the path is left
// untouched; readers of the path see either the old or the new file, never a
// partial one. Package suture/internal/atomicfile does this for every file
// kind Suture writes.
package ckpt
