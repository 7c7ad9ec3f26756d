// Package script runs test scripts of a command-line program in process:
// one command a line, each checked, in a scratch folder of its own. It is
// test support (cmd/suture's TestScripts); no product code imports it.
//
//	# a comment
//	[COND] LINE       LINE only where Engine.Conds[COND] ([!COND]: only where not)
//	NAME ARGS         runs Engine.Main (NAME is Engine.Name) and wants exit
//	                  status 0; !N NAME ARGS wants N, ! NAME ARGS any but 0; a
//	                  last argument & runs it in the background
//	stop              ends the background commands (as Ctrl-C does), waits for
//	                  them and checks their exit status; their output is the last
//	stdout RE         the last output's stdout matches RE (multi-line mode);
//	                  ! stdout RE: it does not; stderr RE alike
//	lines N [FILE]    the last stdout and stderr together (or FILE) hold N lines
//	grep RE FILE      FILE matches RE
//	exists PATH...    each PATH exists (! exists: none does)
//	cmp A B           files A and B are equal
//	cp A B, mkdir DIR..., write FILE TEXT, png FILE W H (an RGB PNG),
//	replace FILE OLD NEW (the first OLD), skip WHY
//	gzip FILE         FILE is a gzip stream, as pprof writes profiles
//	trace FILE        FILE is a Chrome trace whose slices nest on every track
//
// and the commands of Engine.Cmds. Arguments are split at spaces; one in
// 'single quotes' is taken as it is, one in "double quotes" as a Go
// string. $NAME is replaced by its value (in a pattern, matching it
// literally); $WORK is the script's folder.
package script

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Engine is a program to run scripts of, and the script's extra commands.
type Engine struct {
	Name  string                                                                 // the program's command in a script
	Main  func(ctx context.Context, args []string, stdout, stderr io.Writer) int // runs it: its exit status
	Env   map[string]string                                                      // variables besides $WORK
	Conds map[string]bool                                                        // the [COND]s
	Cmds  map[string]Cmd                                                         // further commands
}

// Cmd is a script command: it gets the script's state and its arguments.
type Cmd func(s *State, args []string) error

// State is the state of a running script.
type State struct {
	T              *testing.T
	Env            map[string]string
	Neg            string // the line's "!" or "!N"
	Stdout, Stderr string // the last command's output
	e              *Engine
	bg             []*run
}

// run is one command line run in process.
type run struct {
	args     []string
	want     string // "", "!" or "!N"
	out, err bytes.Buffer
	code     int
	cancel   func()
	done     chan struct{}
}

var errSkip = errors.New("skip")

// RunDir runs each script dir/*.txt as a subtest in a folder of its own.
func RunDir(t *testing.T, dir string, e Engine) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	if len(files) == 0 {
		t.Fatalf("no scripts in %s", dir)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { Run(t, e, f, t.TempDir()) })
	}
}

// Run runs the script file in the folder work.
func Run(t *testing.T, e Engine, file, work string) {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := &State{T: t, Env: map[string]string{"WORK": work}, e: &e}
	for k, v := range e.Env {
		s.Env[k] = v
	}
	defer s.stop(nil) // a failed script's background commands
	for i, line := range strings.Split(string(b), "\n") {
		err := s.line(strings.TrimSpace(line))
		if errors.Is(err, errSkip) {
			t.Skipf("%s:%d: %s", file, i+1, line)
		} else if err != nil {
			t.Fatalf("%s:%d: %s\n%v\nstdout:\n%s\nstderr:\n%s", file, i+1, line, err, s.Stdout, s.Stderr)
		}
	}
}

var scriptVar = regexp.MustCompile(`\$(\w+)`)

func (s *State) line(line string) error {
	if line == "" || line[0] == '#' {
		return nil
	}
	if c, rest, ok := strings.Cut(strings.TrimPrefix(line, "["), "] "); ok && line[0] == '[' {
		on, known := s.e.Conds[strings.TrimPrefix(c, "!")]
		if !known {
			return fmt.Errorf("unknown condition [%s]", c)
		} else if on == strings.HasPrefix(c, "!") {
			return nil
		}
		line = rest
	}
	words, err := SplitWords(line)
	if err != nil || len(words) == 0 {
		return err
	}
	s.Neg = ""
	if strings.HasPrefix(words[0], "!") {
		s.Neg, words = words[0], words[1:]
	}
	cmd, ok := commands[words[0]]
	if words[0] == s.e.Name {
		cmd, ok = (*State).main, true
	} else if !ok {
		cmd, ok = s.e.Cmds[words[0]]
	}
	if !ok || s.Neg != "" && !slices.Contains([]string{s.e.Name, "stdout", "stderr", "exists"}, words[0]) {
		return fmt.Errorf("unknown command %q (or it cannot be negated)", strings.Join(words, " "))
	}
	pattern := words[0] == "stdout" || words[0] == "stderr" || words[0] == "grep"
	for i, w := range words[1:] {
		words[i+1] = scriptVar.ReplaceAllStringFunc(w, func(v string) string {
			if val, ok := s.Env[v[1:]]; ok && pattern && i == 0 {
				return regexp.QuoteMeta(val)
			} else if ok {
				return val
			}
			return v
		})
	}
	return cmd(s, words[1:])
}

// commands are the runner's own commands (see the package comment).
var commands = map[string]Cmd{
	"stop":   (*State).stop,
	"stdout": func(s *State, a []string) error { return s.match("stdout", s.Stdout, a) },
	"stderr": func(s *State, a []string) error { return s.match("stderr", s.Stderr, a) },
	"grep": func(s *State, a []string) error {
		b, err := os.ReadFile(a[1])
		return FirstErr(err, s.match(a[1], string(b), a[:1]))
	},
	"lines": func(s *State, a []string) error {
		text := s.Stdout + s.Stderr
		if len(a) > 1 {
			b, err := os.ReadFile(a[1])
			text = string(b)
			if err != nil {
				return err
			}
		}
		if n := strings.Count(text, "\n"); strconv.Itoa(n) != a[0] {
			return fmt.Errorf("%d lines, want %s", n, a[0])
		}
		return nil
	},
	"exists": func(s *State, a []string) error {
		for _, p := range a {
			if _, err := os.Stat(p); (err == nil) == (s.Neg != "") {
				return fmt.Errorf("%s: exists %v, want %v", p, err == nil, s.Neg == "")
			}
		}
		return nil
	},
	"cmp": func(s *State, a []string) error {
		x, err1 := os.ReadFile(a[0])
		y, err2 := os.ReadFile(a[1])
		if err := FirstErr(err1, err2); err != nil || !bytes.Equal(x, y) {
			return FirstErr(err, fmt.Errorf("%s and %s differ", a[0], a[1]))
		}
		return nil
	},
	"cp": func(s *State, a []string) error {
		b, err := os.ReadFile(a[0])
		return FirstErr(err, os.WriteFile(a[1], b, 0o644))
	},
	"mkdir": func(s *State, a []string) error {
		for _, d := range a {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		return nil
	},
	"write": func(s *State, a []string) error { return os.WriteFile(a[0], []byte(a[1]), 0o644) },
	"png": func(s *State, a []string) error {
		w, _ := strconv.Atoi(a[1])
		h, _ := strconv.Atoi(a[2])
		return os.WriteFile(a[0], testPNG(w, h), 0o644)
	},
	"replace": func(s *State, a []string) error {
		b, err := os.ReadFile(a[0])
		if err == nil && !strings.Contains(string(b), a[1]) {
			err = fmt.Errorf("%s does not hold %q", a[0], a[1])
		}
		return FirstErr(err, os.WriteFile(a[0], []byte(strings.Replace(string(b), a[1], a[2], 1)), 0o644))
	},
	"skip":  func(s *State, a []string) error { return errSkip },
	"gzip":  func(s *State, a []string) error { return CheckGzip(a[0]) },
	"trace": func(s *State, a []string) error { return CheckTrace(a[0]) },
}

// FirstErr is the first error that is not nil.
func FirstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (s *State) match(what, text string, a []string) error {
	re, err := regexp.Compile("(?m)" + a[0])
	if err != nil {
		return err
	}
	if re.MatchString(text) == (s.Neg != "") {
		return fmt.Errorf("%s matches %q: %v, want %v", what, a[0], s.Neg != "", s.Neg == "")
	}
	return nil
}

// main runs the program with args, in the background when the last is &.
func (s *State) main(args []string) error {
	bg := len(args) > 0 && args[len(args)-1] == "&"
	if bg {
		args = args[:len(args)-1]
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &run{args: args, want: s.Neg, cancel: cancel, done: make(chan struct{})}
	go func() { c.code = s.e.Main(ctx, args, &c.out, &c.err); close(c.done) }()
	if bg {
		s.bg = append(s.bg, c)
		return nil
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Minute): // a server wrongly started, say
		cancel()
		<-c.done
		return errors.New("still running after 10 minutes")
	}
	cancel()
	s.Stdout, s.Stderr = c.out.String(), c.err.String()
	return c.check(s.e.Name)
}

// check compares the exit status with the one wanted.
func (c *run) check(name string) error {
	if c.want == "" && c.code == 0 || c.want == "!" && c.code != 0 || c.want == "!"+strconv.Itoa(c.code) {
		return nil
	}
	want := cmp.Or(map[string]string{"": "0", "!": "not 0"}[c.want], strings.TrimPrefix(c.want, "!"))
	return fmt.Errorf("%s %s: exit status %d, want %s", name, strings.Join(c.args, " "), c.code, want)
}

// stop ends the background commands and waits for them.
func (s *State) stop([]string) error {
	var errs []error
	s.Stdout, s.Stderr = "", ""
	for _, c := range s.bg {
		c.cancel()
		<-c.done
		s.Stdout, s.Stderr = s.Stdout+c.out.String(), s.Stderr+c.err.String()
		errs = append(errs, c.check(s.e.Name))
	}
	s.bg = nil
	return errors.Join(errs...)
}

// SplitWords splits a line at spaces; a word in 'single quotes' is taken
// as it is, one in "double quotes" read as a Go string.
func SplitWords(s string) ([]string, error) {
	var words []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		w, rest, _ := strings.Cut(s, " ")
		switch s[0] {
		case '"':
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", s, err)
			}
			w, _ = strconv.Unquote(q)
			rest = s[len(q):]
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("%s: no closing quote", s)
			}
			w, rest = s[1:end+1], s[end+2:]
		}
		words, s = append(words, w), rest
	}
	return words, nil
}

// testPNG is an RGB PNG of w x h.
func testPNG(w, h int) []byte {
	im := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range im.Pix {
		im.Pix[i] = uint8(i * 7)
	}
	var b bytes.Buffer
	png.Encode(&b, im)
	return b.Bytes()
}

// CheckGzip checks that path holds a gzip stream, as pprof writes them.
func CheckGzip(path string) error {
	b, err := os.ReadFile(path)
	if err == nil && (len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b) {
		err = fmt.Errorf("%s: %d bytes, not a gzip-compressed profile", path, len(b))
	}
	return err
}

// CheckTrace parses the Chrome trace at path: on every track, slices
// start in order and nest.
func CheckTrace(path string) error {
	var f struct {
		TraceEvents []struct {
			Name    string
			Ph      string
			TS, Dur float64
			TID     int
		}
	}
	data, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(data, &f) != nil {
		return fmt.Errorf("trace %s: %v, or not JSON", path, err)
	}
	ends, last := map[int][]float64{}, map[int]float64{}
	n := 0
	for _, e := range f.TraceEvents {
		if e.Ph != "X" {
			continue
		}
		n++
		if l, ok := last[e.TID]; ok && e.TS < l {
			return fmt.Errorf("trace track %d: %q starts before the slice before it", e.TID, e.Name)
		}
		last[e.TID] = e.TS
		st := ends[e.TID]
		for len(st) > 0 && e.TS >= st[len(st)-1]-1e-6 {
			st = st[:len(st)-1]
		}
		if len(st) > 0 && e.TS+e.Dur > st[len(st)-1]+1e-6 {
			return fmt.Errorf("trace track %d: %q ends after the slice it starts in", e.TID, e.Name)
		}
		ends[e.TID] = append(st, e.TS+e.Dur)
	}
	if n == 0 {
		return errors.New("trace has no slices")
	}
	return nil
}
