// Package tensor holds Suture's one data type: a float32 array with a shape.
//
// Storage is flat and row-major, like image.RGBA: for a 4-D tensor of shape
// (N, C, H, W) element (n, c, h, w) lives at Data[((n*C+c)*H+h)*W+w]. A tensor
// either owns host memory (Data) or refers to memory on a device (Dev); kernels
// backends decide which they accept. The package also has the seeded random
// fills and the closeness checks that tests use.
package tensor
