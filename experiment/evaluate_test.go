package experiment

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"suture/experiment/metrics"
	"suture/io/imageset"
	"suture/kernels/cpu"
	"suture/segment"
	"suture/stitch"
	"suture/unet"
)

// Evaluate scores any kind of checkpoint on the part of the data its run
// recorded (or the fold given), exactly as EvalUNet and EvalStitched do,
// names the network it scored, and gives typed errors for a network
// choice that does not apply.
func TestEvaluateEveryKind(t *testing.T) {
	distillFixture(t)
	b := cpu.New(1)
	test := DataPart{Data: distA, Split: "test", Fold: -1, SplitSeed: -1}
	part, err := LoadFold(nil, []string{distA}, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	la, err := unet.Load(distFix.a, b)
	if err != nil {
		t.Fatal(err)
	}
	want, err := EvalUNet(la.Model, part.Test, 8)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Evaluate(b, EvalSpec{Model: distFix.a, Part: test, Batch: 8})
	if err != nil || fmt.Sprint(ev.Scores) != fmt.Sprint(want) || ev.Net != "" || ev.Model != distFix.a || ev.Split != "test" {
		t.Fatalf("U-Net: %+v, %v; want the scores of EvalUNet on the test part (%d samples)", ev, err, len(want))
	}
	// The validation part of the run's fold (0), then of fold 1.
	p1, err := LoadFold(nil, []string{distA}, 0, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		fold int
		val  []unet.Input
	}{{-1, part.Val}, {1, p1.Val}} {
		ev, err := Evaluate(b, EvalSpec{Model: distFix.a, Part: DataPart{Data: distA, Split: "val", Fold: c.fold, SplitSeed: -1}, Batch: 8})
		if err != nil || len(ev.Scores) != len(c.val) || ev.Scores[0].Name != c.val[0].Name || ev.Scores[len(c.val)-1].Name != c.val[len(c.val)-1].Name {
			t.Errorf("validation part of fold %d: %v, %v", c.fold, ev, err)
		}
	}
	st, err := stitch.Load(distFix.st, b, unet.LoadBase)
	if err != nil {
		t.Fatal(err)
	}
	ens, _ := stitch.ParseNet("ensemble", st.M.Pairs())
	wantEns, err := EvalStitched(st, ens, part.Test, 8)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ net, want string }{{"", "ensemble"}, {"a", "a"}, {"b", "b"}, {distFix.ensemble, distFix.ensemble},
		{"switches:a0=stitched,out=b", "switches:a0=stitched,out=b"}} {
		ev, err := Evaluate(b, EvalSpec{Model: distFix.st, Net: c.net, Part: test, Batch: 8})
		if err != nil || ev.Net != c.want || len(ev.Scores) != len(want) {
			t.Errorf("stitched, net %q: %+v, %v; want net %q and %d scores", c.net, ev, err, c.want, len(want))
		} else if c.want == "ensemble" && fmt.Sprint(ev.Scores) != fmt.Sprint(wantEns) {
			t.Errorf("the ensemble's scores differ from EvalStitched's")
		}
	}
	// An extracted network is scored as the stitched model's network.
	se, _ := stitch.ParseNet(distFix.ensemble, st.M.Pairs())
	extracted := filepath.Join(t.TempDir(), "se.ckpt")
	if err := st.SaveExtracted(extracted, se); err != nil {
		t.Fatal(err)
	}
	evx, err := Evaluate(b, EvalSpec{Model: extracted, Part: test, Batch: 8})
	evs, _ := Evaluate(b, EvalSpec{Model: distFix.st, Net: distFix.ensemble, Part: test, Batch: 8})
	if err != nil || evx.Net != se.String() || fmt.Sprint(evx.Scores) != fmt.Sprint(evs.Scores) {
		t.Errorf("extracted %s: %+v, %v; want the stitched model's scores", se, evx, err)
	}
	var one *segment.OneNetworkError
	if _, err := Evaluate(b, EvalSpec{Model: distFix.a, Net: "b", Part: test, Batch: 8}); !errors.As(err, &one) || one.Kind != unet.Kind {
		t.Errorf("a network of a U-Net: %v, want a OneNetworkError", err)
	}
	var ne *stitch.NetError
	if _, err := Evaluate(b, EvalSpec{Model: distFix.st, Net: "switches:a99=s", Part: test, Batch: 8}); !errors.As(err, &ne) || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("an out-of-range switch: %v, want a NetError", err)
	}
	missing := filepath.Join(t.TempDir(), "missing.ckpt")
	if _, err := Evaluate(b, EvalSpec{Model: missing, Part: test, Batch: 8}); err == nil || !strings.Contains(err.Error(), "missing.ckpt") {
		t.Errorf("a missing checkpoint: %v", err)
	}
}

// The summary object: the means are null where undefined for every sample.
func TestEvalSummaryJSON(t *testing.T) {
	ev := &Evaluation{Scores: []metrics.Score{{Name: "x", Dice: math.NaN(), HD95: math.NaN()}, {Name: "y", Dice: math.NaN(), HD95: math.NaN()}}, Data: "d"}
	b, err := json.Marshal(ev.Summary())
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"n":2,"dice_mean":null,"hd95_mean":null,"dice_nan":2,"hd95_nan":2,"data":"d"}`; string(b) != want {
		t.Errorf("summary %s, want %s", b, want)
	}
	ev = &Evaluation{Scores: []metrics.Score{{Name: "x", Dice: 0.5, HD95: 2}, {Name: "y", Dice: 1, HD95: math.NaN()}}, Model: "m", Net: "a", Split: "test"}
	b, _ = json.Marshal(ev.Summary())
	if want := `{"n":2,"dice_mean":0.75,"hd95_mean":2,"dice_nan":0,"hd95_nan":1,"model":"m","net":"a","split":"test"}`; string(b) != want {
		t.Errorf("summary %s, want %s", b, want)
	}
}

// ScoreMasks pairs masks by stem: masks against themselves are perfect;
// a mask without a partner, masks of different sizes and an empty folder
// are one error each, naming the file or folder.
func TestScoreMasks(t *testing.T) {
	dir := t.TempDir()
	ds, err := imageset.Synth("a", 6, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := imageset.WriteFolderPair(dir, ds.Samples); err != nil {
		t.Fatal(err)
	}
	masks := filepath.Join(dir, "masks")
	ev, err := ScoreMasks(masks, masks)
	if err != nil {
		t.Fatal(err)
	}
	s := metrics.Summarize(ev.Scores)
	if s.N != 6 || s.DiceMean != 1 || s.HD95Mean != 0 || ev.Data != masks || ev.Scores[0].Name > ev.Scores[1].Name {
		t.Errorf("masks against themselves: %+v, %+v; want 6 perfect scores in stem order", s, ev)
	}
	pred := filepath.Join(dir, "pred")
	os.Mkdir(pred, 0o755)
	if _, err := ScoreMasks(pred, masks); err == nil || !strings.Contains(err.Error(), "no mask images") {
		t.Errorf("an empty folder: %v", err)
	}
	names := ds.Names()
	for _, n := range names[1:] {
		if err := imageset.WriteMask(filepath.Join(pred, n+".png"), make([]uint8, 16*16), 16, 16); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ScoreMasks(pred, masks); err == nil || !strings.Contains(err.Error(), "no prediction for reference mask "+filepath.Join(masks, names[0]+".png")) {
		t.Errorf("a reference without a prediction: %v", err)
	}
	if _, err := ScoreMasks(masks, pred); err == nil || !strings.Contains(err.Error(), "no reference mask for prediction") {
		t.Errorf("a prediction without a reference: %v", err)
	}
	if err := imageset.WriteMask(filepath.Join(pred, names[0]+".png"), make([]uint8, 8*16), 8, 16); err != nil {
		t.Fatal(err)
	}
	if _, err := ScoreMasks(pred, masks); err == nil || !strings.Contains(err.Error(), "its reference") {
		t.Errorf("masks of different sizes: %v", err)
	}
}

// TestCompareMatchesSciPy runs CompareFiles on the CSVs of testdata/compare
// (made by make.py there: 3 folds of 40 samples, rows of the alternatives
// shuffled and their columns reordered, undefined HD95 values, ties and
// zero differences) and checks every figure of its JSON against the values
// SciPy 1.10.1 gave for them, printed by
//
//	cd experiment/testdata/compare && /usr/bin/python3 make.py
//
// (scipy.stats.wilcoxon(alt, ref, zero_method="wilcox", correction=False,
// method="approx"), Holm by hand; NaN where every difference is zero).
func TestCompareMatchesSciPy(t *testing.T) {
	want := []struct {
		metric, alt            string
		n, dropped             int
		mean, median, p, pHolm float64
	}{
		{"dice", "up", 120, 0, 0.016866666666666665, 0.01599999999999996, 6.552379859488174e-10, 1.9657139578464523e-09},
		{"dice", "tie", 120, 0, -0.0008333333333333383, 0.0, 0.06745784521342148, 0.13491569042684295},
		{"dice", "mixed", 120, 0, -0.0007750000000000026, 0.0, 0.659485754626636, 0.659485754626636},
		{"hd95", "up", 117, 3, -0.9782905982905984, -1.0200000000000014, 2.7639574973915733e-13, 5.527914994783147e-13},
		{"hd95", "tie", 117, 3, 0.0, 0.0, math.NaN(), math.NaN()},
		{"hd95", "mixed", 114, 6, 0.19324561403508766, 0.22499999999999964, 0.32514600133862703, 0.32514600133862703},
	}
	dir := filepath.Join("testdata", "compare")
	labels := []string{"up", "tie", "mixed"}
	var files []string
	for _, a := range labels {
		files = append(files, filepath.Join(dir, a+".csv"))
	}
	type row struct {
		Alt        string
		N, Dropped int
		MeanDiff   *float64 `json:"mean_diff"`
		MedianDiff *float64 `json:"median_diff"`
		P          *float64
		PHolm      *float64 `json:"p_holm"`
	}
	got := map[string]map[string]row{}
	for _, metric := range []string{"dice", "hd95"} {
		res, err := CompareFiles(filepath.Join(dir, "ref.csv"), labels, files, metric)
		if err != nil {
			t.Fatal(err)
		}
		got[metric] = map[string]row{}
		for _, c := range res {
			line, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			var keys map[string]any
			json.Unmarshal(line, &keys)
			if len(keys) != 7 || !strings.Contains(string(line), `"mean_diff"`) || !strings.Contains(string(line), `"p_holm"`) {
				t.Errorf("%s: want exactly alt n dropped mean_diff median_diff p p_holm", line)
			}
			var r row
			json.Unmarshal(line, &r)
			got[metric][r.Alt] = r
		}
	}
	close := func(g *float64, w float64) bool {
		if math.IsNaN(w) {
			return g == nil
		}
		return g != nil && math.Abs(*g-w) <= 1e-9*math.Abs(w)+1e-15
	}
	for _, w := range want {
		g, ok := got[w.metric][w.alt]
		if !ok {
			t.Errorf("%s %s: missing", w.metric, w.alt)
			continue
		}
		if g.N != w.n || g.Dropped != w.dropped || !close(g.MeanDiff, w.mean) || !close(g.MedianDiff, w.median) ||
			!close(g.P, w.p) || !close(g.PHolm, w.pHolm) {
			t.Errorf("%s %s: got %+v, want %+v", w.metric, w.alt, g, w)
		}
	}
}

// CompareFiles' bad input: names that do not pair, a missing column,
// scores out of range, an unknown metric; one error each, naming the file.
func TestCompareFilesBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ref := write("ref.csv", "name,dice,hd95\nx,0.5,3\ny,0.6,4\n")
	for _, c := range []struct{ alt, metric, want string }{
		{write("other.csv", "name,dice,hd95\nx,0.5,3\nz,0.6,4\n"), "dice", `"z"`},
		{write("nocol.csv", "name,dice\nx,0.5\n"), "dice", `no "hd95" column`},
		{ref, "iou", "iou"},
		{write("big.csv", "name,dice,hd95\nx,1.5,3\ny,0.6,4\n"), "dice", "big.csv line 2: dice 1.5 is outside [0, 1]"},
		{write("neg.csv", "name,dice,hd95\nx,-0.1,3\ny,0.6,4\n"), "dice", "dice -0.1 is outside [0, 1]"},
		{write("neghd.csv", "name,dice,hd95\nx,0.1,-3\ny,0.6,4\n"), "hd95", "hd95 -3 is negative"},
		{filepath.Join(dir, "none.csv"), "dice", "none.csv"},
	} {
		if _, err := CompareFiles(ref, []string{"o"}, []string{c.alt}, c.metric); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s (%s): %v, want an error saying %s", filepath.Base(c.alt), c.metric, err, c.want)
		}
	}
}
