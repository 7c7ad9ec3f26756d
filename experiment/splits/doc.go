// Package splits divides a dataset into the paper's evaluation parts: six
// near-equal parts, the last of which is the held-out test set, and 5-fold
// cross-validation over the other five (section 4.1.3 of Guijt et al., 2025).
//
// Ungrouped samples are assigned at random (seeded). Grouped samples (for
// example CVC-ClinicDB frames by video sequence) are assigned with the paper's
// bin-covering variant so that no group spans two parts; see binCover.
package splits
