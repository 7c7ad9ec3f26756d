package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"suture/kernels"
	"suture/kernels/cpu" // also registers the cpu backends
)

// notices receives one-line notices that must not mix with results on stdout.
var notices io.Writer = os.Stderr

// backendUsage is the help of every --backend flag.
var backendUsage = "compute backend: auto (the GPU if this binary has it and one is usable, else cpu), " +
	strings.Join(kernels.Names(), ", ") + " (cuda needs a -tags cuda build: make gpu-kit)"

// backendFlag adds --backend and returns a function that makes it.
// "auto" (the default) takes the GPU when this binary has the cuda backend
// and it starts, else the CPU, with a one-line notice on stderr when a GPU
// backend is built in but cannot start. A backend named explicitly that
// cannot start is an error: a script asking for the GPU must not get the CPU.
func backendFlag(fs interface {
	String(name, value, usage string) *string
}) func() (kernels.Backend, error) {
	name := fs.String("backend", "auto", backendUsage)
	return func() (kernels.Backend, error) {
		return pickBackend(*name, kernels.Get, kernels.Names(), notices)
	}
}

// jobsBackendFlag is backendFlag for commands that run several jobs at
// once (experiment run, worker): the same --backend with the same default,
// and a CPU backend, named or what auto comes to, gets threads threads
// (each job its share of the cores).
func jobsBackendFlag(fs interface {
	String(name, value, usage string) *string
}) func(threads int) func() (kernels.Backend, error) {
	name := fs.String("backend", "auto", backendUsage)
	return func(threads int) func() (kernels.Backend, error) {
		get := func(n string) (kernels.Backend, error) {
			if n == "cpu" {
				return cpu.New(threads), nil
			}
			return kernels.Get(n)
		}
		return func() (kernels.Backend, error) { return pickBackend(*name, get, kernels.Names(), notices) }
	}
}

// pickBackend makes the backend called name (kernels.Pick), saying on
// notes when auto found a GPU backend built in that cannot start.
func pickBackend(name string, get func(string) (kernels.Backend, error), names []string, notes io.Writer) (kernels.Backend, error) {
	b, gpuErr, err := kernels.Pick(name, get, names)
	if gpuErr != nil {
		fmt.Fprintf(notes, "suture: no usable GPU (%v); using cpu\n", gpuErr)
	}
	if err != nil && name != "auto" {
		return nil, fmt.Errorf("--backend %s: %w", name, err)
	}
	return b, err
}

// precisionUsage is the help of every --precision flag.
const precisionUsage = "arithmetic of the convolutions and GEMMs: fp32, or bf16 (bfloat16 operands, float32 sums; needs AVX512_BF16); weights, optimizer state, norms, losses and the 3x3 passes run by Winograd F(4x4, 3x3) stay float32"

// precisionFlag adds --precision and returns a function that applies it to
// a backend (bf16: a CPU with AVX512_BF16 and the cpu backend; see
// kernels.Precision).
func precisionFlag(fs interface {
	String(name, value, usage string) *string
}) func(kernels.Backend) (kernels.Precision, error) {
	name := fs.String("precision", "fp32", precisionUsage)
	return func(b kernels.Backend) (kernels.Precision, error) {
		p, err := kernels.ParsePrecision(*name)
		if err != nil {
			return "", usageErr("--precision: %v", err)
		}
		if err := kernels.SetPrecision(b, p); err != nil {
			return "", fmt.Errorf("--precision: %w", err)
		}
		return p, nil
	}
}

// flagGiven reports whether flag name was given on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
