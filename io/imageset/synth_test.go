package imageset

import (
	"math"
	"slices"
	"testing"
)

func TestSynthDeterministic(t *testing.T) {
	a1, err := Synth("a", 12, 32, 7)
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := Synth("a", 12, 32, 7)
	prefix, _ := Synth("a", 5, 32, 7)
	other, _ := Synth("a", 12, 32, 8)
	b, _ := Synth("b", 12, 32, 7)
	same := func(x, y Sample) bool {
		return x.Name == y.Name && slices.Equal(x.Image.Data, y.Image.Data) && slices.Equal(x.Mask.Data, y.Mask.Data)
	}
	for i := range a1.Samples {
		if !same(a1.Samples[i], a2.Samples[i]) {
			t.Fatalf("sample %d differs between two runs with one seed", i)
		}
		if i < 5 && !same(a1.Samples[i], prefix.Samples[i]) {
			t.Fatalf("sample %d depends on n", i)
		}
		if slices.Equal(a1.Samples[i].Image.Data, other.Samples[i].Image.Data) {
			t.Fatalf("sample %d is the same for seeds 7 and 8", i)
		}
		if slices.Equal(a1.Samples[i].Image.Data, b.Samples[i].Image.Data) {
			t.Fatalf("sample %d is the same for parties a and b", i)
		}
	}
}

// synthStats summarises a party's images.
type synthStats struct {
	meanRGB      [3]float64 // over all pixels
	withinStd    float64    // mean over images and channels of the pixel std
	neighbourAbs float64    // mean |x[i] - x[i+1]| along rows: sharpness
	meanFrac     float64
}

func statsOf(t *testing.T, ds *Dataset) synthStats {
	t.Helper()
	var st synthStats
	for _, s := range ds.Samples {
		c, h, w := s.Image.Shape[0], s.Image.Shape[1], s.Image.Shape[2]
		if c != 3 || !slices.Equal(s.Mask.Shape, []int{1, h, w}) {
			t.Fatalf("%s: shapes %v %v", s.Name, s.Image.Shape, s.Mask.Shape)
		}
		for _, v := range s.Image.Data {
			if v < 0 || v > 255 || v != float32(math.Round(float64(v))) {
				t.Fatalf("%s: value %v is not a whole level 0..255", s.Name, v)
			}
		}
		fg := 0.0
		for _, v := range s.Mask.Data {
			if v != 0 && v != 1 {
				t.Fatalf("%s: mask value %v", s.Name, v)
			}
			fg += float64(v)
		}
		frac := fg / float64(h*w)
		if frac < 0.05 || frac > 0.30 {
			t.Errorf("%s: foreground fraction %.3f outside 0.05..0.30", s.Name, frac)
		}
		st.meanFrac += frac
		for ch := range 3 {
			pl := s.Image.Data[ch*h*w : (ch+1)*h*w]
			m, ss := 0.0, 0.0
			for _, v := range pl {
				m += float64(v)
			}
			m /= float64(h * w)
			for _, v := range pl {
				ss += (float64(v) - m) * (float64(v) - m)
			}
			st.meanRGB[ch] += m
			st.withinStd += math.Sqrt(ss / float64(h*w))
			for y := range h {
				for x := 0; x+1 < w; x++ {
					st.neighbourAbs += math.Abs(float64(pl[y*w+x] - pl[y*w+x+1]))
				}
			}
		}
	}
	n := float64(ds.Len())
	for ch := range 3 {
		st.meanRGB[ch] /= n
	}
	st.withinStd /= 3 * n
	h, w := ds.Samples[0].Image.Shape[1], ds.Samples[0].Image.Shape[2]
	st.neighbourAbs /= 3 * n * float64(h*(w-1))
	st.meanFrac /= n
	return st
}

// TestSynthProperties: value ranges, foreground fractions, and party b's
// domain shift (palette, contrast, blur, object size) against party a.
func TestSynthProperties(t *testing.T) {
	for _, size := range []int{16, 32, 64} {
		a, err := Synth("a", 150, size, 1)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Synth("b", 150, size, 1)
		if err != nil {
			t.Fatal(err)
		}
		sa, sb := statsOf(t, a), statsOf(t, b)
		t.Logf("size %d: a %+v", size, sa)
		t.Logf("size %d: b %+v", size, sb)
		if !(sa.meanRGB[0] > sa.meanRGB[2]+30 && sb.meanRGB[2] > sb.meanRGB[0]+30) {
			t.Errorf("size %d: palettes not shifted: a %v, b %v", size, sa.meanRGB, sb.meanRGB)
		}
		if sb.withinStd > 0.8*sa.withinStd {
			t.Errorf("size %d: b contrast %.1f not clearly below a's %.1f", size, sb.withinStd, sa.withinStd)
		}
		if sb.neighbourAbs > 0.8*sa.neighbourAbs {
			t.Errorf("size %d: b not blurrier: neighbour difference %.2f vs a's %.2f", size, sb.neighbourAbs, sa.neighbourAbs)
		}
		if sb.meanFrac > 0.7*sa.meanFrac {
			t.Errorf("size %d: b objects not smaller: mean fraction %.3f vs a's %.3f", size, sb.meanFrac, sa.meanFrac)
		}
	}
}

// bestDice is the best Dice any rule "channel c above (or below) a threshold"
// reaches: over all pixels of the dataset (one global threshold), or chosen
// per image (the mean of the per-image best).
func bestDice(ds *Dataset) (global, perImage float64) {
	type hist [3][2][256]float64 // channel, class, level
	diceOf := func(h *hist) float64 {
		best := 0.0
		for c := range 3 {
			totFG, totBG := 0.0, 0.0
			for l := range 256 {
				totFG += h[c][1][l]
				totBG += h[c][0][l]
			}
			fgBelow, bgBelow := 0.0, 0.0
			for th := range 256 { // "below" = level < th
				for _, above := range []bool{true, false} {
					tp, fp := fgBelow, bgBelow
					if above {
						tp, fp = totFG-fgBelow, totBG-bgBelow
					}
					fn := totFG - tp
					if d := 2 * tp / (2*tp + fp + fn); d > best {
						best = d
					}
				}
				fgBelow += h[c][1][th]
				bgBelow += h[c][0][th]
			}
		}
		return best
	}
	var all hist
	for _, s := range ds.Samples {
		var one hist
		hw := s.Image.Shape[1] * s.Image.Shape[2]
		for c := range 3 {
			for p := range hw {
				l, cls := int(s.Image.Data[c*hw+p]), int(s.Mask.Data[p])
				one[c][cls][l]++
				all[c][cls][l]++
			}
		}
		perImage += diceOf(&one)
	}
	return diceOf(&all), perImage / float64(ds.Len())
}

// TestSynthNotTrivial: no global colour threshold segments the objects well
// (colours overlap between images), while a threshold fitted to each image
// does much better, so the task needs local context, which a U-Net has.
func TestSynthNotTrivial(t *testing.T) {
	for _, party := range []string{"a", "b"} {
		ds, err := Synth(party, 200, 64, 2)
		if err != nil {
			t.Fatal(err)
		}
		global, perImage := bestDice(ds)
		t.Logf("party %s: best global one-channel threshold Dice %.3f, per-image %.3f", party, global, perImage)
		if global > 0.8 {
			t.Errorf("party %s: one global colour threshold reaches Dice %.3f: too easy", party, global)
		}
		if perImage < global+0.05 {
			t.Errorf("party %s: per-image thresholds (Dice %.3f) barely beat a global one (%.3f)", party, perImage, global)
		}
	}
}

func TestSynthBadInput(t *testing.T) {
	for _, c := range []struct {
		party   string
		n, size int
		want    string
	}{
		{"c", 1, 32, `party "c"`},
		{"", 1, 32, `party ""`},
		{"a", 0, 32, "0 samples"},
		{"b", -2, 32, "-2 samples"},
		{"a", 1, 8, "size 8"},
		{"a", 1, 5000, "size 5000"},
		// Inside the count and size limits, but 16 TiB in memory: refused
		// before anything is allocated.
		{"a", 1 << 20, 1024, "1048576 samples of 1024x1024 px take 16384.0 GiB in memory, more than the 1 GiB limit (at most 64 samples of this size)"},
	} {
		_, err := Synth(c.party, c.n, c.size, 1)
		wantErr(t, err, c.want)
	}
}
