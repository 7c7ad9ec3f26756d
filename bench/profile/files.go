package profile

import (
	"bytes"
	"strings"

	"suture/internal/sniff"
)

// IsCPUProfile reports whether the file at path starts as a pprof CPU
// profile does (gzip), reading its first bytes only.
func IsCPUProfile(path string) bool {
	return bytes.Equal(sniff.Head(path, 2), []byte{0x1f, 0x8b})
}

// IsGoTrace reports whether the file at path is a runtime/trace ("go 1.N
// trace" header), reading its first bytes only.
func IsGoTrace(path string) bool {
	h := string(sniff.Head(path, 16))
	return strings.HasPrefix(h, "go 1.") && strings.Contains(h, " trace")
}

// IsChromeTrace reports whether the file at path starts as the Chrome
// traces this package writes do ({"displayTimeUnit":), reading its first
// bytes only.
func IsChromeTrace(path string) bool {
	return string(sniff.Head(path, 18)) == `{"displayTimeUnit"`
}
