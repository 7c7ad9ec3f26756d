// Package imageset loads 2-D segmentation datasets (images with per-pixel class
// masks) into tensors, writes them back as PNG folders, and generates the
// project's embedded synthetic two-party data.
//
// Supported on-disk layouts (Open detects which one a folder uses):
//
//   - folder pair: DIR/images/<stem>.{png,jpg,jpeg,tif,tiff} and
//     DIR/masks/<stem>.<ext>, with an optional DIR/index.csv whose "name"
//     column lists the stems (its row order becomes the sample order) and
//     whose optional "sequence_id" column gives each sample's group;
//   - nnU-Net raw: DIR/dataset.json, DIR/imagesTr/<case>_0000.<ext> (further
//     _0001, ... files are more channels) and DIR/labelsTr/<case>.<ext>;
//   - the original Kvasir-SEG release (images/*.jpg + masks/*.jpg) and
//     CVC-ClinicDB release (Original/*.tif + "Ground Truth"/*.tif), which may
//     be resized on load (area averaging) since their frames vary in size;
//     their masks are thresholded at half range (both have soft edges).
//
// Masks in the folder-pair layout hold {0,255} or {0,1}; JPEG masks are
// thresholded at >127 because compression blurs their edges, and any other
// value in a lossless mask is an error. TIFF decoding uses
// golang.org/x/image/tiff.
//
// ZScore normalises an image per channel as nnU-Net does; WriteFolderPair
// writes samples as PNG folder pairs with atomic file writes; Synth makes the
// synthetic two-party data (see synth.go).
//
// Images become (C, H, W) float32 tensors with values 0..255 (C = 3 for
// colour, 1 for grey); masks become (1, H, W) tensors of class indices.
//
// Nothing here prints or reads flags; every failure is an error that names
// the file at fault.
package imageset
