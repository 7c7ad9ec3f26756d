package kernels

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Factory makes a backend; it returns an error when the backend cannot run
// here (no device, no driver).
type Factory func() (Backend, error)

var (
	regMu    sync.Mutex
	registry = map[string]Factory{}
)

// Register makes a backend available under name; backends call it from init.
// Registering a name twice panics: it is a programming error.
func Register(name string, f Factory) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("kernels: backend " + name + " registered twice")
	}
	registry[name] = f
}

// Names lists the registered backends in sorted order.
func Names() []string {
	regMu.Lock()
	defer regMu.Unlock()
	var ns []string
	for n := range registry {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// Get makes the named backend.
func Get(name string) (Backend, error) {
	regMu.Lock()
	f, ok := registry[name]
	regMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("backend %q is not built into this binary (have: %s)", name, strings.Join(Names(), ", "))
	}
	return f()
}
