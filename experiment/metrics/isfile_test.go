package metrics

import (
	"os"
	"path/filepath"
	"testing"
)

// TestIsScoresCSV: a CSV WriteCSV wrote is recognised, and one with a fold
// column after its columns; another CSV is not.
func TestIsScoresCSV(t *testing.T) {
	dir := t.TempDir()
	p, fold, other := filepath.Join(dir, "s.csv"), filepath.Join(dir, "f.csv"), filepath.Join(dir, "o.csv")
	if err := WriteCSV(p, []Score{{Name: "x", Dice: 0.5, HD95: 2}}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(fold, []byte("name,dice,hd95,fold\nx,1,0,0\n"), 0o644)
	os.WriteFile(other, []byte("name,dice\nx,1\n"), 0o644)
	if !IsScoresCSV(p) || !IsScoresCSV(fold) || IsScoresCSV(other) {
		t.Errorf("IsScoresCSV: %v %v %v, want true true false", IsScoresCSV(p), IsScoresCSV(fold), IsScoresCSV(other))
	}
}
