package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"suture/cluster"
)

// TestScripts runs the scripts of testdata/script, one a subtest, each in
// its own scratch folder $WORK ($FIXTURES is testdata/nnunet at the module
// root). A script runs the CLI in process, one command a line:
//
//	# a comment
//	[bf16] LINE       LINE only where the CPU runs BF16 ([!bf16]: only where not)
//	suture ARGS       wants exit status 0; !N suture ARGS wants N, ! suture ARGS
//	                  any but 0; a last argument & runs it in the background
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
//	serve [USER PASSWORD]  a NATS server with JetStream: $QUEUE its URL, $ADDR
//	                  its address, $STORE its store; $NOQUEUE a URL nobody answers
//
// and the checks in Go of scriptChecks. Arguments are split at spaces; one
// in 'single quotes' is taken as it is, one in "double quotes" as a Go
// string. $NAME is replaced by its value (in a pattern, matching it
// literally).
func TestScripts(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "script", "*.txt"))
	if len(files) == 0 {
		t.Fatal("no scripts in testdata/script")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScript(t, f, t.TempDir()) })
	}
}

var fixtureDir = filepath.Join("..", "..", "testdata", "nnunet")

// script is the state of a running script.
type script struct {
	t              *testing.T
	env            map[string]string
	neg            string // the line's "!" or "!N"
	stdout, stderr string
	bg             []*cliRun
}

// cliRun is one command line run in process.
type cliRun struct {
	args     []string
	want     string // "", "!" or "!N"
	out, err bytes.Buffer
	code     int
	cancel   func()
	done     chan struct{}
}

var errSkip = errors.New("skip")

// runScript runs the script file in the folder work.
func runScript(t *testing.T, file, work string) {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	fixtures, _ := filepath.Abs(fixtureDir)
	s := &script{t: t, env: map[string]string{"WORK": work, "FIXTURES": fixtures}}
	defer s.stop(nil) // a failed script's background commands
	for i, line := range strings.Split(string(b), "\n") {
		err := s.line(strings.TrimSpace(line))
		if errors.Is(err, errSkip) {
			t.Skipf("%s:%d: %s", file, i+1, line)
		} else if err != nil {
			t.Fatalf("%s:%d: %s\n%v\nstdout:\n%s\nstderr:\n%s", file, i+1, line, err, s.stdout, s.stderr)
		}
	}
}

var scriptVar = regexp.MustCompile(`\$(\w+)`)

func (s *script) line(line string) error {
	if line == "" || line[0] == '#' {
		return nil
	}
	if c, rest, ok := strings.Cut(strings.TrimPrefix(line, "["), "] "); ok && line[0] == '[' {
		if c != "bf16" && c != "!bf16" {
			return fmt.Errorf("unknown condition [%s]", c)
		} else if (c == "bf16") != probeHasBF16() {
			return nil
		}
		line = rest
	}
	words, err := splitWords(line)
	if err != nil || len(words) == 0 {
		return err
	}
	s.neg = ""
	if strings.HasPrefix(words[0], "!") {
		s.neg, words = words[0], words[1:]
	}
	cmd, ok := scriptCommands[words[0]]
	if !ok {
		cmd, ok = scriptChecks[words[0]]
	}
	if !ok || s.neg != "" && !strings.Contains(" suture stdout stderr exists ", " "+words[0]+" ") {
		return fmt.Errorf("unknown command %q (or it cannot be negated)", strings.Join(words, " "))
	}
	pattern := words[0] == "stdout" || words[0] == "stderr" || words[0] == "grep"
	for i, w := range words[1:] {
		words[i+1] = scriptVar.ReplaceAllStringFunc(w, func(v string) string {
			if val, ok := s.env[v[1:]]; ok && pattern && i == 0 {
				return regexp.QuoteMeta(val)
			} else if ok {
				return val
			}
			return v
		})
	}
	return cmd(s, words[1:])
}

// scriptCommands are the runner's own commands (see TestScripts).
var scriptCommands = map[string]func(s *script, args []string) error{
	"suture": (*script).suture,
	"stop":   (*script).stop,
	"stdout": func(s *script, a []string) error { return s.match("stdout", s.stdout, a) },
	"stderr": func(s *script, a []string) error { return s.match("stderr", s.stderr, a) },
	"grep": func(s *script, a []string) error {
		b, err := os.ReadFile(a[1])
		return firstErr(err, s.match(a[1], string(b), a[:1]))
	},
	"lines": func(s *script, a []string) error {
		text := s.stdout + s.stderr
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
	"exists": func(s *script, a []string) error {
		for _, p := range a {
			if _, err := os.Stat(p); (err == nil) == (s.neg != "") {
				return fmt.Errorf("%s: exists %v, want %v", p, err == nil, s.neg == "")
			}
		}
		return nil
	},
	"cmp": func(s *script, a []string) error {
		x, err1 := os.ReadFile(a[0])
		y, err2 := os.ReadFile(a[1])
		if err := firstErr(err1, err2); err != nil || !bytes.Equal(x, y) {
			return firstErr(err, fmt.Errorf("%s and %s differ", a[0], a[1]))
		}
		return nil
	},
	"cp": func(s *script, a []string) error {
		b, err := os.ReadFile(a[0])
		return firstErr(err, os.WriteFile(a[1], b, 0o644))
	},
	"mkdir": func(s *script, a []string) error {
		for _, d := range a {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		return nil
	},
	"write": func(s *script, a []string) error { return os.WriteFile(a[0], []byte(a[1]), 0o644) },
	"png": func(s *script, a []string) error {
		w, _ := strconv.Atoi(a[1])
		h, _ := strconv.Atoi(a[2])
		return os.WriteFile(a[0], testPNG(w, h), 0o644)
	},
	"replace": func(s *script, a []string) error {
		b, err := os.ReadFile(a[0])
		if err == nil && !strings.Contains(string(b), a[1]) {
			err = fmt.Errorf("%s does not hold %q", a[0], a[1])
		}
		return firstErr(err, os.WriteFile(a[0], []byte(strings.Replace(string(b), a[1], a[2], 1)), 0o644))
	},
	"skip":  func(s *script, a []string) error { return errSkip },
	"serve": (*script).serve,
}

// firstErr is the first error that is not nil.
func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (s *script) match(what, text string, a []string) error {
	re, err := regexp.Compile("(?m)" + a[0])
	if err != nil {
		return err
	}
	if re.MatchString(text) == (s.neg != "") {
		return fmt.Errorf("%s matches %q: %v, want %v", what, a[0], s.neg != "", s.neg == "")
	}
	return nil
}

// suture runs the CLI with args, in the background when the last is &.
func (s *script) suture(args []string) error {
	bg := len(args) > 0 && args[len(args)-1] == "&"
	if bg {
		args = args[:len(args)-1]
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &cliRun{args: args, want: s.neg, cancel: cancel, done: make(chan struct{})}
	go func() { c.code = run(ctx, args, &c.out, &c.err); close(c.done) }()
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
	s.stdout, s.stderr = c.out.String(), c.err.String()
	return c.check()
}

// check compares the exit status with the one wanted.
func (c *cliRun) check() error {
	if c.want == "" && c.code == 0 || c.want == "!" && c.code != 0 || c.want == "!"+strconv.Itoa(c.code) {
		return nil
	}
	want := cmp.Or(map[string]string{"": "0", "!": "not 0"}[c.want], strings.TrimPrefix(c.want, "!"))
	return fmt.Errorf("suture %s: exit status %d, want %s", strings.Join(c.args, " "), c.code, want)
}

// stop ends the background commands and waits for them.
func (s *script) stop([]string) error {
	var errs []error
	s.stdout, s.stderr = "", ""
	for _, c := range s.bg {
		c.cancel()
		<-c.done
		s.stdout, s.stderr = s.stdout+c.out.String(), s.stderr+c.err.String()
		errs = append(errs, c.check())
	}
	s.bg = nil
	return errors.Join(errs...)
}

func (s *script) serve(a []string) error {
	if _, ok := s.env["QUEUE"]; ok {
		return errors.New("one server a script")
	}
	store := filepath.Join(s.env["WORK"], "store")
	o := cluster.ServeOptions{Listen: "127.0.0.1:0", Store: store}
	if len(a) == 2 {
		o.User, o.Password = a[0], a[1]
	}
	srv, err := cluster.Serve(o)
	if err != nil {
		return err
	}
	s.t.Cleanup(srv.Shutdown)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	l.Close() // nothing listens there
	s.env["QUEUE"], s.env["ADDR"], s.env["STORE"], s.env["NOQUEUE"] = "nats://"+srv.Addr(), srv.Addr(), store, "nats://"+l.Addr().String()
	return nil
}

// splitWords splits a line at spaces; a word in 'single quotes' is taken as
// it is, one in "double quotes" read as a Go string.
func splitWords(s string) ([]string, error) {
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
