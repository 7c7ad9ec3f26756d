// Package metrics scores predicted segmentation masks against reference
// masks (Dice, HD95), summarises the scores over a test set, writes them as
// CSV, and holds the paired statistics of the paper's evaluation (Wilcoxon
// signed-rank test, Holm-Bonferroni correction).
//
// A mask is a []uint8 of H*W pixels in row-major order, pixel (y, x) at
// index y*W+x, holding 1 for foreground and 0 for background; any other value
// is an error (a 0/255 PNG mask must be converted first).
//
// Conventions (DESIGN.md section 7):
//   - Dice = 2TP / (2TP + FP + FN); NaN when both masks are empty.
//   - HD95: the boundary of a mask is the mask minus its erosion by the
//     4-connected cross, with pixels outside the image counted as
//     background, so foreground pixels on the image border are always on the
//     boundary (as scipy's binary_erosion with border_value=0, used by
//     medpy). For every boundary pixel of the prediction the Euclidean
//     distance to the nearest boundary pixel of the reference is taken, and
//     vice versa; both sets are pooled and HD95 is their 95th percentile with
//     linear interpolation (numpy's default). NaN when either mask is empty.
//     Distances are in pixels unless a Spacing is given.
//   - Summaries average the non-NaN values and report how many were NaN.
package metrics
