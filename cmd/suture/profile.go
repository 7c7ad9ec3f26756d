package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
)

// profileFlag adds --cpuprofile to fs. The returned start begins the CPU
// profile when the flag was given and returns the function that ends it and
// closes the file (a no-op otherwise).
func profileFlag(fs *flag.FlagSet, what string) (start func() (stop func(), err error)) {
	path := fs.String("cpuprofile", "", "write a CPU profile of "+what+" to this file (go tool pprof)")
	return func() (func(), error) {
		if *path == "" {
			return func() {}, nil
		}
		f, err := os.Create(*path)
		if err != nil {
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		return func() {
			pprof.StopCPUProfile()
			f.Close()
		}, nil
	}
}
