package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress draws a one-line bar on a terminal and stays silent otherwise
// (pipes, files, CI logs), so logs are not flooded with carriage returns.
type progress struct {
	w     io.Writer
	on    bool
	last  time.Time
	width int
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, on: isTerminal(w), width: 30}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// update redraws the bar at most 10 times a second.
func (p *progress) update(done, total int, label string) {
	if !p.on || total <= 0 {
		return
	}
	if time.Since(p.last) < 100*time.Millisecond && done < total {
		return
	}
	p.last = time.Now()
	n := p.width * done / total
	fmt.Fprintf(p.w, "\r[%s%s] %s\x1b[K", strings.Repeat("#", n), strings.Repeat(".", p.width-n), label)
}

// done clears the bar line.
func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
