package stitch

import (
	"fmt"
	"strconv"
	"strings"
)

// Mode is what a switch passes on.
type Mode uint8

const (
	Own      Mode = iota // the network's own feature
	Stitched             // the other network's feature through the stitch
	Average              // the mean of the two (stitch-ensembles)
)

// Output is what the output switch returns.
type Output uint8

const (
	OutA    Output = iota // A's prediction
	OutB                  // B's prediction
	OutMean               // the mean of A's and B's softmax (the ensemble)
)

// Setting fixes every switch: A[k] and B[k] for the switches after the k-th
// matched vertex of A and of B, and the output switch.
type Setting struct {
	A, B []Mode
	Out  Output
}

// NewSetting returns the setting with every switch Own and output out.
func NewSetting(pairs int, out Output) Setting {
	return Setting{A: make([]Mode, pairs), B: make([]Mode, pairs), Out: out}
}

// NetA is network A alone; NetB network B alone; Ensemble their mean.
func NetA(pairs int) Setting     { return NewSetting(pairs, OutA) }
func NetB(pairs int) Setting     { return NewSetting(pairs, OutB) }
func Ensemble(pairs int) Setting { return NewSetting(pairs, OutMean) }

// StitchEnsemble is the stitch-ensemble for pair k: the output averages A
// and B, A's switch k averages A's own feature with S_ba(B's), and B's
// switch k averages B's own with S_ab(A's).
func StitchEnsemble(pairs, k int) (Setting, error) {
	if k < 0 || k >= pairs {
		return Setting{}, fmt.Errorf("stitch-ensemble %d: the model has %d stitches (0..%d)", k, pairs, pairs-1)
	}
	s := Ensemble(pairs)
	s.A[k], s.B[k] = Average, Average
	return s, nil
}

// Stitched counts switches not set to Own.
func (s Setting) StitchedCount() int {
	n := 0
	for _, m := range append(append([]Mode(nil), s.A...), s.B...) {
		if m != Own {
			n++
		}
	}
	return n
}

var modeNames = map[Mode]string{Own: "own", Stitched: "stitched", Average: "average"}
var outNames = map[Output]string{OutA: "a", OutB: "b", OutMean: "mean"}

// String is the spec form ParseSetting reads: "out=mean,a3=stitched,b0=average".
func (s Setting) String() string {
	parts := []string{"out=" + outNames[s.Out]}
	for side, modes := range [][]Mode{s.A, s.B} {
		for k, m := range modes {
			if m != Own {
				parts = append(parts, fmt.Sprintf("%c%d=%s", "ab"[side], k, modeNames[m]))
			}
		}
	}
	return strings.Join(parts, ",")
}

// ParseSetting reads a switch spec for a model with the given number of
// pairs: comma-separated entries "out=a|b|mean" and "aK=MODE" or "bK=MODE"
// with MODE own, stitched or average (s, avg also accepted). Unnamed
// switches are own; the output defaults to mean.
func ParseSetting(spec string, pairs int) (Setting, error) {
	s := Ensemble(pairs)
	if strings.TrimSpace(spec) == "" {
		return s, nil
	}
	for _, e := range strings.Split(spec, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(e), "=")
		if !ok {
			return Setting{}, fmt.Errorf("switch spec %q: entry %q is not key=value", spec, e)
		}
		if key == "out" {
			switch val {
			case "a":
				s.Out = OutA
			case "b":
				s.Out = OutB
			case "mean", "ensemble":
				s.Out = OutMean
			default:
				return Setting{}, fmt.Errorf("switch spec %q: output %q, want a, b or mean", spec, val)
			}
			continue
		}
		if len(key) < 2 || (key[0] != 'a' && key[0] != 'b') {
			return Setting{}, fmt.Errorf("switch spec %q: switch %q, want aK or bK", spec, key)
		}
		k, err := strconv.Atoi(key[1:])
		if err != nil {
			return Setting{}, fmt.Errorf("switch spec %q: switch %q has no index", spec, key)
		}
		if k < 0 || k >= pairs {
			return Setting{}, fmt.Errorf("switch spec %q: switch %s is out of range: the model has %d stitches (0..%d)", spec, key, pairs, pairs-1)
		}
		var m Mode
		switch val {
		case "own", "o":
			m = Own
		case "stitched", "s":
			m = Stitched
		case "average", "avg", "m":
			m = Average
		default:
			return Setting{}, fmt.Errorf("switch spec %q: mode %q, want own, stitched or average", spec, val)
		}
		if key[0] == 'a' {
			s.A[k] = m
		} else {
			s.B[k] = m
		}
	}
	return s, nil
}

// NetError is an error in a network choice given to ParseNet; a command
// line adds the name of its flag.
type NetError struct {
	Net string
	Err error
}

func (e *NetError) Error() string { return fmt.Sprintf("network %q: %v", e.Net, e.Err) }
func (e *NetError) Unwrap() error { return e.Err }

// ParseNet reads a network choice for a stitched model with the given
// number of pairs: a, b, ensemble (or a&b), stitch-ensemble:K or
// switches:SPEC (see ParseSetting). Its errors are *NetError.
func ParseNet(net string, pairs int) (Setting, error) {
	s, err := parseNet(net, pairs)
	if err != nil {
		return Setting{}, &NetError{Net: net, Err: err}
	}
	return s, nil
}

func parseNet(net string, pairs int) (Setting, error) {
	switch {
	case net == "a":
		return NetA(pairs), nil
	case net == "b":
		return NetB(pairs), nil
	case net == "ensemble" || net == "a&b":
		return Ensemble(pairs), nil
	case strings.HasPrefix(net, "stitch-ensemble:"):
		k, err := strconv.Atoi(strings.TrimPrefix(net, "stitch-ensemble:"))
		if err != nil {
			return Setting{}, fmt.Errorf("the stitch index must be an integer")
		}
		return StitchEnsemble(pairs, k)
	case strings.HasPrefix(net, "switches:"):
		return ParseSetting(strings.TrimPrefix(net, "switches:"), pairs)
	}
	return Setting{}, fmt.Errorf("want a, b, ensemble, stitch-ensemble:K or switches:SPEC")
}
