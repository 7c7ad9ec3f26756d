package experiment

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"suture/internal/atomicfile"
	"suture/internal/sniff"
	"suture/stitch"
	"suture/unet"
)

// Sweep is the score of every stitch-ensemble position, with the base
// networks and their plain ensemble on the same samples.
type Sweep struct {
	Scores   []stitch.Score
	A, B     stitch.Score
	Ensemble stitch.Score
	Best     int // position with the best mean rank (Dice and HD95)
	Names    [][2]string
}

// RunSweep evaluates A, B, a&b and every stitch-ensemble on samples.
func RunSweep(s *Stitched, samples []unet.Input, batch int) (*Sweep, error) {
	eval := StitchedEvaluator(s, samples, batch)
	sw := &Sweep{}
	var err error
	n := s.M.Pairs()
	if sw.A, err = eval(stitch.NetA(n)); err != nil {
		return nil, err
	}
	if sw.B, err = eval(stitch.NetB(n)); err != nil {
		return nil, err
	}
	if sw.Ensemble, err = eval(stitch.Ensemble(n)); err != nil {
		return nil, err
	}
	if sw.Scores, err = s.M.Sweep(eval); err != nil {
		return nil, err
	}
	if sw.Best, err = stitch.Select(stitch.BestOfFold, [][]stitch.Score{sw.Scores}, 0, 0); err != nil {
		return nil, err
	}
	for _, p := range s.Meta.Pairs {
		sw.Names = append(sw.Names, [2]string{p.AName, p.BName})
	}
	return sw, nil
}

// SweepFiles is the sweep job: RunSweep, then its CSV at csvPath and its
// plot at pngPath.
func SweepFiles(s *Stitched, samples []unet.Input, batch int, csvPath, pngPath string) (*Sweep, error) {
	sw, err := RunSweep(s, samples, batch)
	if err != nil {
		return nil, err
	}
	if err := sw.WriteCSV(csvPath); err != nil {
		return nil, err
	}
	if err := sw.Plot(pngPath); err != nil {
		return nil, err
	}
	return sw, nil
}

// SampleFiles is the sample job: per networks of every number of stitched
// switches drawn with seed (stitch.Model.Sample), scored on samples; their
// CSV at csvPath and plot at pngPath. It returns them and their mean Dice
// with at least half of the switches stitched (SummarizeSample).
func SampleFiles(s *Stitched, samples []unet.Input, per int, seed uint64, batch int, csvPath, pngPath string) ([]stitch.SampledNetwork, float64, error) {
	res, err := s.M.Sample(per, seed, StitchedEvaluator(s, samples, batch))
	if err != nil {
		return nil, 0, err
	}
	if err := WriteSampleCSV(csvPath, res); err != nil {
		return nil, 0, err
	}
	if err := PlotSample(pngPath, res, s.Meta.Train.Mode.String()); err != nil {
		return nil, 0, err
	}
	return res, SummarizeSample(res, 2*s.M.Pairs()), nil
}

func writeText(path string, b *bytes.Buffer) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(b.Bytes())
		return err
	})
}

// num formats a score in Go's shortest round-trip form ("NaN" for NaN), so
// a CSV read back gives the same values.
func num(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// The header lines of the sweep and sample CSVs.
const (
	sweepHeader  = "network,index,a_vertex,b_vertex,dice,hd95"
	sampleHeader = "stitched_switches,active_stitches,output,dice,hd95,setting"
)

// IsSweepCSV reports whether the file at path is a sweep CSV
// (Sweep.WriteCSV), by its header line.
func IsSweepCSV(path string) bool { return sniff.CSVHeader(path, sweepHeader) }

// IsSampleCSV reports whether the file at path is a sample CSV
// (WriteSampleCSV), by its header line.
func IsSampleCSV(path string) bool { return sniff.CSVHeader(path, sampleHeader) }

// ReadSweepCSV reads a sweep written by WriteCSV.
func ReadSweepCSV(path string) (*Sweep, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != sweepHeader {
		return nil, fmt.Errorf("%s: not a sweep CSV (header %v)", path, rows[:min(len(rows), 1)])
	}
	sw := &Sweep{}
	for i, r := range rows[1:] {
		var sc stitch.Score
		if sc.Dice, err = strconv.ParseFloat(r[4], 64); err == nil {
			sc.HD95, err = strconv.ParseFloat(r[5], 64)
		}
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, i+2, err)
		}
		switch r[0] {
		case "a":
			sw.A = sc
		case "b":
			sw.B = sc
		case "a&b":
			sw.Ensemble = sc
		case "stitch-ensemble":
			if k, err := strconv.Atoi(r[1]); err != nil || k != len(sw.Scores) {
				return nil, fmt.Errorf("%s line %d: position %q out of order", path, i+2, r[1])
			}
			sw.Scores = append(sw.Scores, sc)
			sw.Names = append(sw.Names, [2]string{r[2], r[3]})
		default:
			return nil, fmt.Errorf("%s line %d: unknown network %q", path, i+2, r[0])
		}
	}
	if len(sw.Scores) == 0 {
		return nil, fmt.Errorf("%s: no stitch-ensemble rows", path)
	}
	sw.Best, err = stitch.Select(stitch.BestOfFold, [][]stitch.Score{sw.Scores}, 0, 0)
	return sw, err
}

// WriteCSV writes one row per stitch position (index, vertices, Dice, HD95)
// and the reference networks as rows "a", "b" and "a&b".
func (sw *Sweep) WriteCSV(path string) error {
	var b bytes.Buffer
	b.WriteString(sweepHeader + "\n")
	for _, r := range []struct {
		name string
		s    stitch.Score
	}{{"a", sw.A}, {"b", sw.B}, {"a&b", sw.Ensemble}} {
		fmt.Fprintf(&b, "%s,,,,%s,%s\n", r.name, num(r.s.Dice), num(r.s.HD95))
	}
	for k, s := range sw.Scores {
		fmt.Fprintf(&b, "stitch-ensemble,%d,%s,%s,%s,%s\n", k, sw.Names[k][0], sw.Names[k][1], num(s.Dice), num(s.HD95))
	}
	return writeText(path, &b)
}

// WriteSampleCSV writes the RQ1 sample: one row per network.
func WriteSampleCSV(path string, res []stitch.SampledNetwork) error {
	var b bytes.Buffer
	b.WriteString(sampleHeader + "\n")
	for _, r := range res {
		out := "a"
		if r.Setting.Out == stitch.OutB {
			out = "b"
		}
		fmt.Fprintf(&b, "%d,%d,%s,%s,%s,%q\n", r.Stitched, r.Active, out, num(r.Score.Dice), num(r.Score.HD95), r.Setting.String())
	}
	return writeText(path, &b)
}

// SummarizeSample is RQ1's figure: the mean Dice over the sampled networks
// with at least half of the switches stitched.
func SummarizeSample(res []stitch.SampledNetwork, switches int) float64 {
	var s float64
	n := 0
	for _, r := range res {
		if 2*r.Stitched >= switches && !math.IsNaN(r.Score.Dice) {
			s += r.Score.Dice
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

func writeTextFrom(path string, wt io.WriterTo) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := wt.WriteTo(w)
		return err
	})
}
