// Package flagnames holds one test, TestLibrariesNameNoFlags, that keeps
// command-line flags out of the libraries: only cmd/ parses flags, so only
// cmd/ names them. The package has no product code.
package flagnames

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestLibrariesNameNoFlags: no library (anything outside cmd/) names a
// command-line flag in a string: libraries say what is wrong, and the
// command adds the flag's name. bench/run.go is exempt: it builds the
// command line of the PyTorch script it runs.
func TestLibrariesNameNoFlags(t *testing.T) {
	flagRE := regexp.MustCompile(`(^|[^-\w])--[a-z]`)
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "cmd" || rel == "testdata" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || rel == filepath.Join("bench", "run.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && flagRE.MatchString(s) {
					t.Errorf("%s: a library string names a flag: %s", fset.Position(lit.Pos()), lit.Value)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
