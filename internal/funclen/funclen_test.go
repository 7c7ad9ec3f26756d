// Package funclen holds one test, TestFuncLen, that keeps the module's
// functions short: it parses every non-test, non-generated .go file of the
// module (all build tags alike, since go/parser ignores them) and fails
// listing each function or method longer than MaxLines lines, unless it is
// on the allow-list below. The package has no product code.
package funclen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// MaxLines is the longest a function may be, counted from the line of its
// func keyword (its doc comment not included) to the line of its closing
// brace, both included.
const MaxLines = 120

// allowed lists the functions still longer than MaxLines, by
// "path/from/module/root.go:Name" (methods as "Recv.Name"), each with the
// length it had when it was listed. The list may only shrink: an entry must
// still name an over-long function (split ones are to be removed), and the
// function may not grow past the length recorded here. Empty: every
// function is within MaxLines.
var allowed = map[string]int{}

// fn is one function found too long.
type fn struct {
	key   string // path:Name
	lines int
}

// moduleRoot walks up from the test's directory to the directory of go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// funcName is a declaration's name, methods as "Recv.Name" with the
// receiver's type stripped of pointer and type parameters.
func funcName(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return d.Name.Name
	}
	typ := d.Recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	switch x := typ.(type) {
	case *ast.IndexExpr:
		typ = x.X
	case *ast.IndexListExpr:
		typ = x.X
	}
	if id, ok := typ.(*ast.Ident); ok {
		return id.Name + "." + d.Name.Name
	}
	return d.Name.Name
}

// longFuncs parses the module's non-test, non-generated Go files (skipping
// testdata, hidden and underscore directories, as the go tool does) and
// returns every function declaration longer than MaxLines, sorted by key.
func longFuncs(t *testing.T, root string) []fn {
	t.Helper()
	var out []fn
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "vendor" ||
				strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if path != root {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if ast.IsGenerated(f) {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		for _, decl := range f.Decls {
			d, ok := decl.(*ast.FuncDecl)
			if !ok || d.Body == nil {
				continue
			}
			n := fset.Position(d.End()).Line - fset.Position(d.Pos()).Line + 1
			if n > MaxLines {
				out = append(out, fn{rel + ":" + funcName(d), n})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// TestFuncLen fails on a function longer than MaxLines that is not on the
// allow-list or has grown past its listed length, and on a stale entry of
// the list. With -v it logs every over-long function.
func TestFuncLen(t *testing.T) {
	long := longFuncs(t, moduleRoot(t))
	seen := map[string]bool{}
	var report strings.Builder
	for _, f := range long {
		fmt.Fprintf(&report, "%5d  %s\n", f.lines, f.key)
		if seen[f.key] {
			t.Errorf("%s: two functions of this name in one file (methods of generic types?); key them apart", f.key)
		}
		seen[f.key] = true
		max, ok := allowed[f.key]
		switch {
		case !ok:
			t.Errorf("%s is %d lines, over %d: split it at its natural seams", f.key, f.lines, MaxLines)
		case f.lines > max:
			t.Errorf("%s grew to %d lines, past the %d it is allowed while it waits to be split", f.key, f.lines, max)
		}
	}
	for key := range allowed {
		if !seen[key] {
			t.Errorf("allow-list entry %s names no function over %d lines: remove it", key, MaxLines)
		}
	}
	t.Logf("functions over %d lines:\n%s", MaxLines, report.String())
}
