// Package sniff tells a file's kind from its first bytes, for the packages
// that recognise their own files (a command replaces an existing file only
// when it is its own kind of output). It reads no more than it needs.
package sniff

import (
	"bufio"
	"io"
	"os"
	"strings"
)

// Head returns up to n first bytes of the file at path (none when it
// cannot be read).
func Head(path string, n int) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	b := make([]byte, n)
	m, _ := io.ReadFull(f, b)
	return b[:m]
}

// CSVHeader reports whether the first line of the file at path (at most
// 4 KiB) is header, or header followed by more columns.
func CSVHeader(path, header string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	line, _ := bufio.NewReaderSize(io.LimitReader(f, 4096), 4096).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	return line == header || strings.HasPrefix(line, header+",")
}
