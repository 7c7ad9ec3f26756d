// Package nn builds networks from autograd ops: parameters held in one flat
// buffer per model, layers (Conv2d, ConvTranspose2d, InstanceNorm2d,
// BatchNorm2d, LeakyReLU, Concat, the 1x1 stitch conv), Graph (a DAG of module
// calls in call order, DESIGN.md section 6), losses, optimizers over the flat
// buffer, learning-rate schedules and initialisers.
package nn
