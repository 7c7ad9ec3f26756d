package stitch

import (
	"path/filepath"
	"testing"

	"suture/kernels/cpu"
)

// TestIsExtracted: a network SaveExtracted wrote is recognised; the
// stitched checkpoint it came from is not.
func TestIsExtracted(t *testing.T) {
	b := cpu.NewReference()
	s, err := Join(b, newChainNet(t, b, 4, 6, 1), newChainNet(t, b, 3, 5, 2), 3, 8, 8, "all", DefaultMatchOptions(), 5)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	net, joined := filepath.Join(dir, "net.ckpt"), filepath.Join(dir, "st.ckpt")
	set, _ := StitchEnsemble(s.M.Pairs(), 0)
	if err := s.SaveExtracted(net, set); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(joined, nil); err != nil {
		t.Fatal(err)
	}
	if !IsExtracted(net) || IsExtracted(joined) || IsExtracted(filepath.Join(dir, "none")) {
		t.Errorf("IsExtracted: %v %v, want true false", IsExtracted(net), IsExtracted(joined))
	}
}
