// Package unet is an nnU-Net-style 2D U-Net (PlainConvUNet): a Config with
// nnU-Net v2's arch_kwargs semantics, the 2D planner's rules, Build (an
// *nn.Graph in call order), the nnU-Net default training loop with
// augmentation, prediction, and checkpoints (Save/Load from paths,
// Write/Read on streams). A *Model is also a stitch.Base: LoadBase rebuilds
// it from a stitched checkpoint.
package unet
