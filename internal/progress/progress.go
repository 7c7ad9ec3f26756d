// Package progress draws a one-line progress bar on a terminal and stays
// silent otherwise (pipes, files, CI logs), so logs are not flooded with
// carriage returns. It writes only to the writer it is given.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Bar is a progress bar on a writer; a nil *Bar draws nothing.
type Bar struct {
	w     io.Writer
	on    bool
	last  time.Time
	width int
}

// New returns a bar on w, drawn only when w is a terminal.
func New(w io.Writer) *Bar {
	return &Bar{w: w, on: isTerminal(w), width: 30}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Update redraws the bar at most 10 times a second.
func (p *Bar) Update(done, total int, label string) {
	if p == nil || !p.on || total <= 0 {
		return
	}
	if time.Since(p.last) < 100*time.Millisecond && done < total {
		return
	}
	p.last = time.Now()
	n := p.width * done / total
	fmt.Fprintf(p.w, "\r[%s%s] %s\x1b[K", strings.Repeat("#", n), strings.Repeat(".", p.width-n), label)
}

// Done clears the bar line.
func (p *Bar) Done() {
	if p != nil && p.on {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
