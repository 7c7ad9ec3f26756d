//go:build cudaemu

package emu

import (
	"math"
	"strings"
	"testing"

	"suture/kernels/cuda/launch"
	"suture/kernels/cuda/launch/launchtest"
)

// These tests break the kernels or their launches on purpose and check that
// the comparisons with the CPU reference (launchtest) catch it. A test suite
// that passes broken kernels proves nothing.

// alteringDriver is the emulator with a hook that may change a launch.
type alteringDriver struct {
	*Driver
	alter func(kernel string, grid *launch.Dim3, args *launch.Args) *launch.Args
}

func (d alteringDriver) Launch(kernel string, grid, block launch.Dim3, args *launch.Args) error {
	return d.Driver.Launch(kernel, grid, block, d.alter(kernel, &grid, args))
}

// rebuild copies args with slots i and j exchanged.
func rebuild(a *launch.Args, i, j int) *launch.Args {
	slots, kinds := append([]uint64(nil), a.Slots()...), append([]byte(nil), a.Kinds()...)
	slots[i], slots[j] = slots[j], slots[i]
	kinds[i], kinds[j] = kinds[j], kinds[i]
	var b launch.Args
	for k, s := range slots {
		switch kinds[k] {
		case 'p':
			b.Ptr(launch.Ptr(s))
		case 'i':
			b.Int(int(int32(uint32(s))))
		case 'f':
			b.Float(math.Float32frombits(uint32(s)))
		}
	}
	return &b
}

// failuresByOp groups launchtest failures by op name.
func failuresByOp(errs []error) map[string]int {
	m := map[string]int{}
	for _, e := range errs {
		op, _, _ := strings.Cut(e.Error(), " ")
		m[op]++
	}
	return m
}

var gemmOps = []string{"Gemm", "Conv2d", "Conv2dBackwardData", "Conv2dBackwardFilter",
	"ConvTranspose2d", "ConvTranspose2dBackwardData", "ConvTranspose2dBackwardFilter"}

// TestMissingTileSyncIsCaught runs the GEMM kernels compiled without the
// __syncthreads between filling the shared tiles and reading them.
func TestMissingTileSyncIsCaught(t *testing.T) {
	for _, tile := range []string{"s", "m", "l"} {
		b, err := NewBackend(Options{Fault: FaultNoTileSync}, launch.Options{Tile: tile, SplitK: 1})
		if err != nil {
			t.Fatal(err)
		}
		byOp := failuresByOp(launchtest.Check(b, launchtest.Options{Only: gemmOps}))
		b.Close()
		for _, op := range gemmOps {
			if byOp[op] == 0 {
				t.Errorf("tile %s: no %s case failed without the tile barrier", tile, op)
			}
		}
		t.Logf("tile %s: failures by op without the tile barrier: %v", tile, byOp)
	}
}

// TestWrongGridIsCaught launches one block too few along each tiled grid
// dimension, as a floor division in place of a ceiling would. Element-wise
// kernels loop over the grid (grid-stride), so any grid covers them; the
// GEMM tiles and the per-group reductions are not covered and must fail.
func TestWrongGridIsCaught(t *testing.T) {
	d := alteringDriver{Driver: NewDriver(Options{}), alter: func(kernel string, grid *launch.Dim3, a *launch.Args) *launch.Args {
		if grid.X > 1 {
			grid.X--
		} else if grid.Y > 1 {
			grid.Y--
		}
		return a
	}}
	b, err := launch.New("cudaemu-wrong-grid", d, launch.Options{Tile: "s", Chunks: 1, NoCache: asanBuild})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ops := append([]string{"InstanceNorm", "BatchNormTrain", "BiasGrad", "DiceSums"}, gemmOps...)
	byOp := failuresByOp(launchtest.Check(b, launchtest.Options{Only: ops}))
	for _, op := range ops {
		if byOp[op] == 0 {
			t.Errorf("no %s case failed with a grid one block short", op)
		}
	}
	t.Logf("failures by op with a grid one block short: %v", byOp)
}

// TestSwappedArgumentsAreCaught exchanges two same-sized tensor parameters
// of a kernel (in bounds, so the result is merely wrong).
func TestSwappedArgumentsAreCaught(t *testing.T) {
	swaps := map[string][2]int{
		"axpy_f32":            {0, 1}, // y and x
		"leaky_relu_backward": {1, 2}, // dy and y
		"sgd_nesterov":        {1, 2}, // velocity and gradient
		"mse_backward":        {2, 3}, // a and b
	}
	d := alteringDriver{Driver: NewDriver(Options{}), alter: func(kernel string, _ *launch.Dim3, a *launch.Args) *launch.Args {
		if s, ok := swaps[kernel]; ok {
			return rebuild(a, s[0], s[1])
		}
		return a
	}}
	b, err := launch.New("cudaemu-swapped", d, launch.Options{NoCache: asanBuild})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ops := []string{"Axpy", "LeakyReLUBackward", "SGDNesterov", "MSEBackward"}
	byOp := failuresByOp(launchtest.Check(b, launchtest.Options{Only: ops}))
	for _, op := range ops {
		if byOp[op] == 0 {
			t.Errorf("no %s case failed with two arguments swapped", op)
		}
	}
	t.Logf("failures by op with swapped arguments: %v", byOp)
}

// TestSignatureMismatchIsRefused swaps a float and an int parameter: the
// emulator checks every launch against the kernel's C signature.
func TestSignatureMismatchIsRefused(t *testing.T) {
	d := NewDriver(Options{})
	var a launch.Args
	a.Ptr(0).Ptr(0).Int(10).Float(0.5) // leaky_relu_forward(y, x, float slope, int n)
	err := d.Launch("leaky_relu_forward", dim(1, 1, 1), dim(32, 1, 1), &a)
	if err == nil || !strings.Contains(err.Error(), "parameter 2") {
		t.Fatalf("launch with a float and an int swapped: err = %v, want a parameter-kind error", err)
	}
	var short launch.Args
	short.Ptr(0).Ptr(0).Float(0.5)
	err = d.Launch("leaky_relu_forward", dim(1, 1, 1), dim(32, 1, 1), &short)
	if err == nil || !strings.Contains(err.Error(), "takes 4 parameters") {
		t.Fatalf("launch with a parameter missing: err = %v, want a count error", err)
	}
}

// TestPlantedLeakyFaultIsCaught runs the build with leaky_relu_backward
// broken on purpose (the GPU check script's planted fault): its cases fail,
// and no other op's do.
func TestPlantedLeakyFaultIsCaught(t *testing.T) {
	f, err := ParseFault("leaky_relu_backward")
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBackend(Options{Fault: f}, launch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	byOp := failuresByOp(launchtest.Check(b, launchtest.Options{Only: []string{"LeakyReLU", "Add", "Axpy"}}))
	if byOp["LeakyReLUBackward"] == 0 || len(byOp) != 1 {
		t.Errorf("failures by op with leaky_relu_backward broken: %v, want LeakyReLUBackward only", byOp)
	}
	if _, err := ParseFault("no_such_fault"); err == nil {
		t.Error("ParseFault accepted an unknown name")
	}
}
