package stitch

import (
	"fmt"
	"strconv"
	"strings"
)

// CheckPoints reports whether points names a set of stitch candidates:
// "all" (every candidate vertex), "stage" (the stage outputs; the network
// type decides which they are) or "every:K" (every K-th matched pair of
// "all", counted back from the last, so that the pair nearest the output
// is always kept: the densest evenly spaced subset with 1/K of the pairs).
func CheckPoints(points string) error {
	_, _, err := parsePoints(points)
	return err
}

// parsePoints splits points into the candidate filter to ask the networks
// for and the spacing K of the matched pairs kept (1: all of them).
func parsePoints(points string) (filter string, every int, err error) {
	switch points {
	case "", "all", "stage":
		return points, 1, nil
	}
	k, ok := strings.CutPrefix(points, "every:")
	if !ok {
		return "", 0, fmt.Errorf("stitch points %q, want all, stage or every:K", points)
	}
	n, err := strconv.Atoi(k)
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("stitch points %q: K must be a whole number >= 1", points)
	}
	return "all", n, nil
}

// thinPairs keeps every k-th pair counted back from the last.
func thinPairs(pairs []Pair, k int) []Pair {
	if k <= 1 {
		return pairs
	}
	var out []Pair
	for i, p := range pairs {
		if (len(pairs)-1-i)%k == 0 {
			out = append(out, p)
		}
	}
	return out
}
