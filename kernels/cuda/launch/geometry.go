package launch

import "fmt"

// tileConfig mirrors one TileConfig of gemm_core.cuh.
type tileConfig struct {
	suffix     string // kernel name suffix
	bm, bn, bk int
}

// The tile configurations of gemm_core.cuh; every one runs 256 threads.
var (
	tileS = tileConfig{"s", 32, 32, 16}
	tileM = tileConfig{"m", 64, 64, 16}
	tileL = tileConfig{"l", 128, 128, 8}
)

const gemmThreads = 256

func tileByName(name string) (tileConfig, error) {
	switch name {
	case "":
		return tileConfig{}, nil
	case "s":
		return tileS, nil
	case "m":
		return tileM, nil
	case "l":
		return tileL, nil
	}
	return tileConfig{}, fmt.Errorf("tile %q, want \"s\", \"m\", \"l\" or \"\"", name)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// tiles is the block count of an m x n output with tile t.
func (t tileConfig) tiles(m, n int) int { return ceilDiv(m, t.bm) * ceilDiv(n, t.bn) }

// gemmGrid is the grid of an m x n output with tile t and splits K slices.
func (t tileConfig) grid(m, n, splits int) Dim3 {
	return Dim3{ceilDiv(n, t.bn), ceilDiv(m, t.bm), splits}
}

// pickTile chooses the largest tile that still gives every multiprocessor a
// block; small outputs get small tiles and more blocks.
func (b *Backend) pickTile(m, n int) tileConfig {
	if t, _ := tileByName(b.opt.Tile); t.suffix != "" {
		return t
	}
	for _, t := range []tileConfig{tileL, tileM} {
		if t.tiles(m, n) >= b.sms {
			return t
		}
	}
	return tileS
}

// pickSplits chooses how many K slices a weight-gradient GEMM uses: enough
// blocks to fill the device twice over, each slice at least 16 BK steps.
func (b *Backend) pickSplits(m, n, k int, t tileConfig) int {
	steps := max(ceilDiv(k, t.bk), 1)
	if b.opt.SplitK > 0 {
		return min(b.opt.SplitK, steps)
	}
	blocks := t.tiles(m, n)
	if blocks >= b.sms {
		return 1
	}
	s := min(ceilDiv(2*b.sms, blocks), max(steps/16, 1), 64)
	return max(s, 1)
}

// grid1D is the geometry of an element-wise kernel over n elements.
func (b *Backend) grid1D(n int) (grid, block Dim3) {
	blocks := min(ceilDiv(n, b.opt.Block), b.opt.MaxGrid)
	return Dim3{max(blocks, 1), 1, 1}, Dim3{b.opt.Block, 1, 1}
}

// pickChunks chooses how many blocks share each of groups reductions of
// count elements: enough to fill the device, at least 4 elements per thread.
func (b *Backend) pickChunks(groups, count int) int {
	if b.opt.Chunks > 0 {
		return b.opt.Chunks
	}
	want := ceilDiv(4*b.sms, max(groups, 1))
	byWork := ceilDiv(count, 4*b.opt.ReduceBlock)
	return max(1, min(want, byWork, 1024))
}

// reduceGrid is the block count of a one-dimensional reduction of n elements.
func (b *Backend) reduceGrid(n int) int {
	if b.opt.Chunks > 0 {
		return b.opt.Chunks
	}
	return max(1, min(ceilDiv(n, 4*b.opt.ReduceBlock), 4*b.sms, 1024))
}
