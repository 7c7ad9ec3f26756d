// Package stitch joins two frozen networks (any nn.Graph; it does not know
// U-Nets) with trained 1x1-conv stitches and switches, after Guijt et al.
// (2025) and DESIGN.md section 6:
//
//   - Candidates and Match: every vertex output with its scale, channels and
//     progress; an order-preserving maximum-weight alignment of the two call
//     orders (Hirschberg's linear-memory divide and conquer).
//   - Model: both networks side by side with a stitch each way and a switch
//     at every matched pair, plus the output switch (A, B or their mean).
//   - Training without labels: direct matching, and double-batched training
//     whose reference half runs without a tape.
//   - Settings: any switch setting as a pruned, runnable network; the
//     stitch-ensemble of pair k; the ensemble; A; B.
//   - Sampling (RQ1), the per-position sweep, and selection strategies.
//   - Joined: a stitched model with its two base networks (any Base), and
//     its checkpoints (Save/Load from paths, Write/Read on streams); the
//     package that owns the base networks supplies a BaseLoader.
package stitch
