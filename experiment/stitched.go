package experiment

import (
	"fmt"
	"io"

	"suture/stitch"
	"suture/unet"
)

// Stitched is a stitched model of two U-Nets (stitch.Joined; load it with
// stitch.Load(path, b, unet.LoadBase)).
type Stitched = stitch.Joined[*unet.Model]

// WriteStitchedInfo writes what stitched model s (read from path) holds:
// its networks, its training, and a table of its matched pairs.
func WriteStitchedInfo(w io.Writer, path string, s *Stitched) {
	fmt.Fprintf(w, "%s: %d matched pairs; A %v, B %v; trained %d epochs (%s)\n", path, len(s.Meta.Pairs),
		s.A.Config.FeaturesPerStage, s.B.Config.FeaturesPerStage, s.Meta.State.Epoch, s.Meta.Train.Mode)
	fmt.Fprintf(w, "%5s  %-14s %-14s %-14s %-14s %8s %8s\n", "index", "A vertex", "B vertex", "A (C,H,W)", "B (C,H,W)", "A prog", "B prog")
	for _, p := range s.Meta.Pairs {
		fmt.Fprintf(w, "%5d  %-14s %-14s %-14s %-14s %8.3f %8.3f\n", p.Index, p.AName, p.BName,
			fmt.Sprint(p.AShape), fmt.Sprint(p.BShape), p.AProgress, p.BProgress)
	}
}
