//go:build cudaemu && !cuda

package gpucheck

import (
	"os"
	"testing"

	"suture/kernels/cuda/launch"
	"suture/kernels/emu"
)

const backendName = "cudaemu"

func defaultProfile() string { return "emu" }

// faultEnv names a kernel to break on purpose (emu.ParseFault); read only
// here, in the check's test binary.
const faultEnv = "SUTURE_EMU_FAULT"

// newBackend returns the emulator, with the planted fault faultEnv names.
func newBackend(opt launch.Options) (*launch.Backend, error) {
	f, err := emu.ParseFault(os.Getenv(faultEnv))
	if err != nil {
		return nil, err
	}
	return emu.NewBackend(emu.Options{Fault: f}, opt)
}

func describe(b *launch.Backend) (lines []string, jitLog string) {
	return []string{"device: " + b.Driver().Name(), "module: the .cu sources compiled by g++ into the emulator (no PTX)"}, ""
}

func otherImages(*testing.T, *launch.Backend) []string { return nil }
