package experiment

import (
	"bytes"
	"strings"
	"testing"

	"suture/stitch"
)

// TestF4Rule: finding F4 on hand-made sweeps. With 7 positions the thirds
// are indices 0-1 and 5 (the last, 6, excepted); with 5 positions the last
// third without the last is empty and F4 is reported as not answered.
func TestF4Rule(t *testing.T) {
	sweep := func(dice ...float64) *Sweep {
		sw := &Sweep{}
		for _, d := range dice {
			sw.Scores = append(sw.Scores, stitch.Score{Dice: d})
		}
		return sw
	}
	p := &Plan{Approaches: []string{ApA, ApStitchA}}
	cases := []struct {
		name  string
		folds []*Sweep
		want  []string
	}{
		{"seven", []*Sweep{sweep(0.1, 0.3, 0.5, 0.5, 0.5, 0.8, 0.4), sweep(0.3, 0.3, 0.5, 0.5, 0.5, 0.6, 0.4)},
			// first third (0.1+0.3+0.3+0.3)/4 = 0.25, index 5 (0.8+0.6)/2 = 0.7; worst is index 0 (0.2), not 6 (0.4)
			[]string{"indices 0-1 0.2500, of 5-5 0.7000: later > first holds", "last is worst does not hold (the worst is index 0, 0.2000)"}},
		{"seven, last worst", []*Sweep{sweep(0.5, 0.5, 0.5, 0.5, 0.5, 0.4, 0.1)},
			[]string{"indices 0-1 0.5000, of 5-5 0.4000: later > first does not hold", "the last stitch (6) 0.1000: last is worst holds"}},
		{"five", []*Sweep{sweep(0.1, 0.2, 0.3, 0.4, 0.5)},
			[]string{"5 stitch positions, too few to compare thirds"}},
	}
	for _, c := range cases {
		d := &reportData{plan: p, sweeps: map[string][]*Sweep{ApStitchA: c.folds}}
		var b bytes.Buffer
		d.writeFindings(&b, nil)
		for _, w := range c.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: findings lack %q:\n%s", c.name, w, b.String())
			}
		}
	}
}
