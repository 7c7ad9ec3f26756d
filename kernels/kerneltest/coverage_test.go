package kerneltest

import (
	"strings"
	"testing"

	"suture/kernels/cpu"
)

// TestCoverage runs every op test on the plain reference backend and checks
// that each compared results, tried bad arguments, and, for every backward
// op, compared against finite differences.
func TestCoverage(t *testing.T) {
	b := cpu.NewReference()
	var total counts
	for _, o := range opTests {
		e := &env{r: t, b: b, op: o.name}
		o.run(e)
		c := e.count
		t.Logf("%-30s cases %3d  compared %4d  finite-difference %3d  error cases %3d", o.name, c.cases, c.compared, c.fd, c.errs)
		if c.compared == 0 {
			t.Errorf("%s compared no results", o.name)
		}
		if c.errs == 0 {
			t.Errorf("%s tried no bad arguments", o.name)
		}
		if (strings.Contains(o.name, "Backward") || o.name == "BiasGrad") && c.fd == 0 {
			t.Errorf("%s has no finite-difference check", o.name)
		}
		total.cases += c.cases
		total.compared += c.compared
		total.fd += c.fd
		total.errs += c.errs
	}
	t.Logf("%d op tests: %d cases, %d comparisons, %d finite-difference comparisons, %d error cases",
		len(opTests), total.cases, total.compared, total.fd, total.errs)
}
