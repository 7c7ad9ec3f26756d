//go:build ignore

// gen_wrappers writes backend.go, the Profiler's kernels.Backend methods,
// from the interface in ../../kernels (package internal/wrapgen): run
// `go generate ./bench/profile` after changing kernels.Backend.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"suture/bench/profile/internal/wrapgen"
	"suture/internal/atomicfile"
)

func main() {
	src, err := wrapgen.Generate(filepath.Join("..", "..", "kernels"))
	if err == nil {
		err = atomicfile.Write("backend.go", func(w io.Writer) error { _, err := w.Write(src); return err })
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen_wrappers:", err)
		os.Exit(1)
	}
}
