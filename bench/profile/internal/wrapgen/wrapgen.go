// Package wrapgen writes bench/profile's backend.go: a method of
// *profile.Profiler for every method of the kernels.Backend interface, read
// from the kernels package's source. Outside recorded steps a wrapper
// calls the wrapped backend after one branch; inside, it times the call
// between the Profiler's begin and end, with the cost that the method of
// the same name of the Profiler's op table computes (bench/profile's
// costs.go). Name is not an op: the Profiler's own Name passes it through.
//
// `go generate ./bench/profile` runs it (gen_wrappers.go); a test of
// bench/profile regenerates the file in memory and fails when it differs.
package wrapgen

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// KernelsPath is the import path of the package that declares Backend.
const KernelsPath = "suture/kernels"

// handWritten are the Backend methods the Profiler declares itself.
var handWritten = map[string]bool{"Name": true}

// reserved are the names a wrapper uses itself: the receiver and its
// locals. A parameter of the interface with one of them is renamed.
var reserved = map[string]bool{"p": true, "call": true, "res": true, "err": true}

// param is one parameter of a method.
type param struct {
	name, typ string
	variadic  bool
	last      bool // the last name of its field: "a, b T" declares a and b
}

// method is one method of the interface.
type method struct {
	name    string
	params  []param
	results []string // types
}

// Generate reads the Backend interface from the Go files of dir (the
// kernels package) and returns the formatted source of backend.go.
func Generate(dir string) ([]byte, error) {
	file, iface, err := findBackend(dir)
	if err != nil {
		return nil, err
	}
	imports := map[string]string{"kernels": KernelsPath}
	for _, im := range file.Imports {
		path, _ := strconv.Unquote(im.Path.Value)
		name := path[strings.LastIndexByte(path, '/')+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		imports[name] = path
	}
	used := map[string]bool{KernelsPath: true}
	var ms []method
	for _, f := range iface.Methods.List {
		m, err := readMethod(f, imports, used)
		if err != nil {
			return nil, fmt.Errorf("kernels.Backend: %w", err)
		}
		if !handWritten[m.name] {
			ms = append(ms, m)
		}
	}
	return render(ms, used)
}

// findBackend parses the non-test Go files of dir and returns the one
// declaring the interface Backend, and the interface.
func findBackend(dir string) (*ast.File, *ast.InterfaceType, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, nil, err
	}
	fset := token.NewFileSet()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, nil, err
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, nil, err
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, s := range g.Specs {
				ts := s.(*ast.TypeSpec)
				if it, ok := ts.Type.(*ast.InterfaceType); ok && ts.Name.Name == "Backend" {
					return f, it, nil
				}
			}
		}
	}
	return nil, nil, fmt.Errorf("no interface Backend in the Go files of %s", dir)
}

// readMethod reads one method of the interface; used collects the import
// paths its types name.
func readMethod(f *ast.Field, imports map[string]string, used map[string]bool) (method, error) {
	ft, ok := f.Type.(*ast.FuncType)
	if !ok || len(f.Names) != 1 {
		return method{}, fmt.Errorf("an embedded interface or a field that is no method (%T): write its wrappers by hand", f.Type)
	}
	m := method{name: f.Names[0].Name}
	seen := map[string]bool{}
	for _, pf := range ft.Params.List {
		typ, err := typeString(pf.Type, imports, used)
		if err != nil {
			return m, fmt.Errorf("%s: %w", m.name, err)
		}
		if len(pf.Names) == 0 {
			return m, fmt.Errorf("%s: a parameter has no name", m.name)
		}
		for i, n := range pf.Names {
			name := rename(n.Name, typ)
			if seen[name] || reserved[name] {
				return m, fmt.Errorf("%s: parameter %s, renamed %s, collides with another name", m.name, n.Name, name)
			}
			seen[name] = true
			_, variadic := pf.Type.(*ast.Ellipsis)
			m.params = append(m.params, param{name: name, typ: typ, variadic: variadic, last: i == len(pf.Names)-1})
		}
	}
	if ft.Results != nil {
		for _, rf := range ft.Results.List {
			typ, err := typeString(rf.Type, imports, used)
			if err != nil {
				return m, fmt.Errorf("%s: %w", m.name, err)
			}
			for range max(len(rf.Names), 1) {
				m.results = append(m.results, typ)
			}
		}
	}
	return m, nil
}

// rename gives a parameter whose name the wrapper uses itself another:
// a kernels.ConvParams is cp, anything else gets an r appended (p: pr).
func rename(name, typ string) string {
	switch {
	case !reserved[name]:
		return name
	case typ == "kernels.ConvParams":
		return "cp"
	}
	return name + "r"
}

// predeclared are the types that are not the kernels package's.
var predeclared = map[string]bool{
	"bool": true, "byte": true, "error": true, "float32": true, "float64": true, "int": true,
	"int8": true, "int16": true, "int32": true, "int64": true, "rune": true, "string": true,
	"uint": true, "uint8": true, "uint16": true, "uint32": true, "uint64": true, "any": true,
}

// typeString writes a type of the kernels package's source as bench/profile
// writes it: the kernels package's own types qualified.
func typeString(e ast.Expr, imports map[string]string, used map[string]bool) (string, error) {
	switch t := e.(type) {
	case *ast.Ident:
		if predeclared[t.Name] {
			return t.Name, nil
		}
		return "kernels." + t.Name, nil
	case *ast.SelectorExpr:
		pkg, ok := t.X.(*ast.Ident)
		if !ok || imports[pkg.Name] == "" {
			return "", fmt.Errorf("type of an unknown package: %T", t.X)
		}
		used[imports[pkg.Name]] = true
		return pkg.Name + "." + t.Sel.Name, nil
	case *ast.StarExpr:
		s, err := typeString(t.X, imports, used)
		return "*" + s, err
	case *ast.ArrayType:
		if t.Len != nil {
			return "", fmt.Errorf("an array type: write its wrapper by hand")
		}
		s, err := typeString(t.Elt, imports, used)
		return "[]" + s, err
	case *ast.Ellipsis:
		s, err := typeString(t.Elt, imports, used)
		return "..." + s, err
	}
	return "", fmt.Errorf("a parameter or result of type %T: write its wrapper by hand", e)
}

// header is the start of backend.go.
const header = `// Code generated by gen_wrappers.go from the kernels.Backend interface; DO NOT EDIT.

package profile

`

// render writes backend.go.
func render(ms []method, used map[string]bool) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(header)
	var paths []string
	for p := range used {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	b.WriteString("import (\n")
	for _, p := range paths {
		fmt.Fprintf(&b, "\t%q\n", p)
	}
	b.WriteString(")\n\n")
	b.WriteString(`// The kernels.Backend methods of the Profiler but Name: outside recorded
// steps one branch and the wrapped call; inside, the call timed between
// begin and end, with the cost that the op table's method of the same name
// computes (costs.go).

var _ kernels.Backend = (*Profiler)(nil)
`)
	for _, m := range ms {
		writeMethod(&b, m)
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting the generated source: %w", err)
	}
	return src, nil
}

// writeMethod writes the wrapper of m.
func writeMethod(b *bytes.Buffer, m method) {
	var decl, args, names []string
	for _, p := range m.params {
		names = append(names, p.name)
		if p.last {
			decl = append(decl, strings.Join(names, ", ")+" "+p.typ)
			names = names[:0]
		}
		arg := p.name
		if p.variadic {
			arg += "..."
		}
		args = append(args, arg)
	}
	// The results: err for a last error, res for one other, else res0, res1, ...
	values := len(m.results)
	if values > 0 && m.results[values-1] == "error" {
		values--
	}
	var res []string
	for i := range m.results {
		switch {
		case i == values:
			res = append(res, "err")
		case values == 1:
			res = append(res, "res")
		default:
			res = append(res, fmt.Sprintf("res%d", i))
		}
	}
	results := strings.Join(m.results, ", ")
	if len(m.results) > 1 {
		results = "(" + results + ")"
	}
	call := fmt.Sprintf("%s(%s)", m.name, strings.Join(args, ", "))
	fmt.Fprintf(b, "\n// %s implements kernels.Backend.\nfunc (p *Profiler) %s(%s) %s {\n", m.name, m.name, strings.Join(decl, ", "), results)
	if len(res) == 0 {
		fmt.Fprintf(b, "\tif !p.recording {\n\t\tp.inner.%s\n\t\treturn\n\t}\n", call)
		fmt.Fprintf(b, "\tcall := p.begin(p.ops.%s)\n\tp.inner.%s\n\tp.end(call)\n}\n", call, call)
		return
	}
	fmt.Fprintf(b, "\tif !p.recording {\n\t\treturn p.inner.%s\n\t}\n", call)
	fmt.Fprintf(b, "\tcall := p.begin(p.ops.%s)\n\t%s := p.inner.%s\n\tp.end(call)\n\treturn %s\n}\n",
		call, strings.Join(res, ", "), call, strings.Join(res, ", "))
}
