package segment

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// BytesPerPixel is what predicting one pixel of an image file costs at
// most, for a model with k classes: the float32 image (3 channels), its
// crop, the nonzero mask and its fill, the weighted score sums (k planes)
// and the weight sums, the class map and the mask written, with the GC's
// headroom at the GOGC of 25 the command sets. The sliding window's tile
// and the network's activations for it come on top and do not grow with
// the image. (A 6000x4000 RGB image measures under 1 GB, about 42 bytes a
// pixel, bench/RESULTS.md section 7.)
func BytesPerPixel(k int) int64 { return 56 + 4*int64(max(k, 2)) }

// fallbackMemory is assumed when the machine's memory cannot be read.
const fallbackMemory = 4 << 30

// AvailableMemory is the memory this process may use: the smallest of the
// machine's memory (/proc/meminfo's MemTotal), the address-space limit
// (RLIMIT_AS) and the Go memory limit (GOMEMLIMIT), when set. Where none can
// be read it is 4 GiB.
func AvailableMemory() int64 {
	mem := int64(-1)
	take := func(v int64) {
		if v > 0 && (mem < 0 || v < mem) {
			mem = v
		}
	}
	take(memTotal())
	take(addressSpaceLimit())
	if l := debug.SetMemoryLimit(-1); l > 0 && l < 1<<62 {
		take(l)
	}
	if mem < 0 {
		return fallbackMemory
	}
	return mem
}

// DefaultMaxPixels is the largest image (width x height) predicted from a
// file when Options.MaxPixels is 0: half of AvailableMemory at
// BytesPerPixel for k classes.
func DefaultMaxPixels(k int) int64 {
	return AvailableMemory() / 2 / BytesPerPixel(k)
}

// memTotal reads MemTotal from /proc/meminfo (Linux); -1 elsewhere.
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return -1
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb <= 0 || kb > 1<<50 {
			return -1
		}
		return kb << 10
	}
	return -1
}
