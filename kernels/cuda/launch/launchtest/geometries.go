package launchtest

import "suture/kernels/cuda/launch"

// Geometry is a named set of launch options.
type Geometry struct {
	Name    string
	Options launch.Options
}

// Geometries are the launch configurations every kernel is tested at: each
// GEMM tile, split-K on and off, element-wise blocks of 32 to 1024 threads
// (97: not a multiple of the warp), grids capped to force grid-stride loops,
// and reductions with one to several chunks per group.
func Geometries() []Geometry {
	return []Geometry{
		{"default", launch.Options{}},
		{"small", launch.Options{Block: 32, MaxGrid: 3, ReduceBlock: 32, Chunks: 3, Tile: "s", SplitK: 3}},
		{"tile-m", launch.Options{Block: 128, ReduceBlock: 64, Chunks: 1, Tile: "m", SplitK: 2}},
		{"tile-l", launch.Options{Block: 1024, MaxGrid: 1, ReduceBlock: 1024, Chunks: 2, Tile: "l", SplitK: 1}},
		{"odd", launch.Options{Block: 97, MaxGrid: 5, ReduceBlock: 96, Chunks: 7, SplitK: 5}},
	}
}
