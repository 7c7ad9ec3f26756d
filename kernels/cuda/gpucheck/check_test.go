//go:build cuda || cudaemu

package gpucheck

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"suture/kernels/cuda/launch"
	"suture/kernels/cuda/launch/launchtest"
	"suture/kernels/kerneltest"
)

var (
	profileFlag = flag.String("profile", "", "sizes: full (every geometry, U-Net-sized cases, benchmark-sized steps) or emu "+
		"(small cases at one geometry, small steps); default full with -tags cuda, emu with -tags cudaemu")
	outFlag = flag.String("out", "", "folder for the check's files (the JIT's info log)")
)

// profile is what a check run covers.
type profile struct {
	name       string
	geometries []string // launchtest geometries of the small cases
	large      bool     // the U-Net-sized cases too, at the default geometry
	steps      []stepCheck
}

func currentProfile(t *testing.T) profile {
	t.Helper()
	name := *profileFlag
	if name == "" {
		name = defaultProfile()
	}
	switch name {
	case "full":
		var geos []string
		for _, g := range launchtest.Geometries() {
			geos = append(geos, g.Name)
		}
		return profile{name: name, geometries: geos, large: true, steps: fullSteps}
	case "emu":
		return profile{name: name, geometries: []string{"default"}, steps: smallSteps}
	}
	t.Fatalf("-profile %q: want full or emu", name)
	return profile{}
}

// verdict logs the step's one-line summary for gpu-check.sh: "verdict: ok
// ..." when the test has not failed, else "verdict: FAIL ...".
func verdict(t *testing.T, ok, fail string) {
	t.Helper()
	if t.Failed() {
		t.Logf("verdict: FAIL: %s", fail)
	} else {
		t.Logf("verdict: ok: %s", ok)
	}
}

// TestDevice starts the backend, describes the device and how the kernels'
// module loaded. A backend that does not start fails here, with the reason
// (no GPU, the JIT's error log).
func TestDevice(t *testing.T) {
	b, err := newBackend(launch.Options{})
	if err != nil {
		t.Logf("verdict: FAIL: %s did not start: %v", backendName, err)
		t.FailNow()
	}
	defer b.Close()
	lines, jitLog := describe(b)
	lines = append(lines, otherImages(t, b)...)
	for _, l := range lines {
		t.Log(l)
	}
	if jitLog != "" && *outFlag != "" {
		p := filepath.Join(*outFlag, "jit-info.log")
		if err := os.WriteFile(p, []byte(jitLog+"\n"), 0o644); err != nil {
			t.Error(err)
		}
		t.Logf("the JIT's info log (registers and spills per kernel): %s", p)
	}
	verdict(t, lines[0], "the module check above failed")
}

// failures collects failed cases by op and the kernels they launched.
type failures struct {
	cases   int
	ops     map[string]bool
	kernels map[string]bool
}

func (f *failures) add(op string, kernels []string) {
	if f.ops == nil {
		f.ops, f.kernels = map[string]bool{}, map[string]bool{}
	}
	f.cases++
	f.ops[op] = true
	for _, k := range kernels {
		f.kernels[k] = true
	}
}

func keys(m map[string]bool) string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

func (f *failures) String() string {
	s := "ops " + keys(f.ops)
	if len(f.kernels) > 0 {
		s += " (kernels " + keys(f.kernels) + ")"
	}
	return s
}

// TestKernels runs every op against the CPU reference at the profile's
// geometries, then every reduction twice for bitwise agreement.
func TestKernels(t *testing.T) {
	p := currentProfile(t)
	var f failures
	total := 0
	run := func(label string, geo launch.Options, opt launchtest.Options) {
		tr := &launchtest.Trace{}
		geo.OnLaunch, geo.SyncEachLaunch = tr.Record, true // pin a failure to its kernel
		opt.Trace, opt.Workers = tr, runtime.GOMAXPROCS(0)
		b, err := newBackend(geo)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		defer b.Close()
		errs := launchtest.Check(b, opt)
		n := launchtest.CaseCount(opt)
		total += n
		for _, err := range errs {
			t.Errorf("%s: %v", label, err)
			if ce, ok := err.(*launchtest.CaseError); ok {
				f.add(ce.Op, ce.Kernels)
			} else {
				f.add("?", nil)
			}
		}
		t.Logf("%s: %d cases, %d failed", label, n, len(errs))
	}
	for _, g := range launchtest.Geometries() {
		if !slices.Contains(p.geometries, g.Name) {
			continue
		}
		run("geometry "+g.Name, g.Options, launchtest.Options{})
		if g.Name == "default" && p.large {
			run("geometry default, U-Net-sized cases", g.Options, launchtest.Options{Large: true})
		}
	}
	b, err := newBackend(launch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	det := launchtest.CheckDeterminism(b, launchtest.Options{Large: p.large})
	for _, err := range det {
		t.Errorf("determinism: %v", err)
		op, _, _ := strings.Cut(err.Error(), " ")
		f.add(op+" (not deterministic)", nil)
	}
	geos := fmt.Sprintf("%d launch geometries", len(p.geometries))
	if len(p.geometries) == 1 {
		geos = "the " + p.geometries[0] + " launch geometry"
	}
	verdict(t, fmt.Sprintf("%d cases at %s, reductions deterministic", total, geos),
		fmt.Sprintf("%d of %d cases failed: %s", f.cases, total, f.String()))
}

// TestConformance runs the conformance suite op by op on the backend.
func TestConformance(t *testing.T) {
	tr := &launchtest.Trace{}
	b, err := newBackend(launch.Options{OnLaunch: tr.Record, SyncEachLaunch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var f failures
	for _, op := range kerneltest.Ops() {
		tr.Take()
		ok := t.Run(op, func(t *testing.T) {
			if err := kerneltest.RunOp(t, b, op); err != nil {
				t.Fatal(err)
			}
		})
		if !ok {
			f.add(op, tr.Take())
		}
	}
	verdict(t, fmt.Sprintf("%d ops", len(kerneltest.Ops())), fmt.Sprintf("%d of %d ops failed: %s", f.cases, len(kerneltest.Ops()), f.String()))
}
