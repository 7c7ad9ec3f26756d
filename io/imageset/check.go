package imageset

import (
	"fmt"
	"os"
)

// Check says whether dir is a dataset folder Open can read, looking only
// at its layout (the folders and index files), not at the images.
func Check(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("imageset: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("imageset: %s is not a folder", dir)
	}
	_, err = detectLayout(dir)
	return err
}
