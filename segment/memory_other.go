//go:build !linux

package segment

// addressSpaceLimit is not read outside Linux.
func addressSpaceLimit() int64 { return -1 }
