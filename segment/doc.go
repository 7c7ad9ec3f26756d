// Package segment is Suture's API for programs that embed segmentation:
// load any Suture model (a U-Net trained here or imported from nnU-Net, a
// network of a stitched model, an extracted stitch-ensemble) with Load or
// Read, and segment an image.Image in one call with Segment. Open, which
// Load builds on, is the one place that tells the kinds of checkpoint
// apart; it gives the network itself (package experiment scores it).
// Normalisation, cropping, the sliding window (nnU-Net's: tiles of the
// plan's patch size at step 0.5, Gaussian importance weighting, test-time
// mirroring) and resizing happen inside. It links neither the plotting
// libraries nor package experiment.
//
// Files: SegmentFile segments an image file after checking its declared size
// against a pixel limit (Options.MaxPixels, by default from the memory the
// process may use), so a huge or hostile header is refused before decoding;
// FolderJobs and CheckOutputs plan a folder's masks without overwriting
// anything Suture did not write; SegmentFiles goes on past failed images
// and reports them together.
//
// # Concurrency
//
// A Model is not safe for concurrent use: running a network sets its
// layers' mode and caches their parameters' autograd leaves. Use one Model
// per goroutine (load it once per goroutine; weights are small) or
// serialise calls. The cpu backend (suture/kernels/cpu) is safe for
// concurrent use by several models: its scratch buffers are locked and its
// helper goroutines take work by compare-and-swap, a busy helper's part
// running on the caller instead. Those helpers are started on first use and
// kept for speed; cpu.StopHelpers ends them (a later call starts them
// again), for programs that must not leave goroutines behind.
package segment
