package imageset

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// imageFile is one image file found in a folder.
type imageFile struct {
	stem string // file name without extension
	path string
	ext  string // lower case, with the dot
}

// imageExts are the file types the loaders read.
var imageExts = []string{".png", ".jpg", ".jpeg", ".tif", ".tiff"}

// IsImageExt reports whether a file extension (with the dot, any case) is
// an image type the loaders read: png, jpg, jpeg, tif, tiff.
func IsImageExt(ext string) bool { return slices.Contains(imageExts, strings.ToLower(ext)) }

// splitStem returns a file name's stem and lower-case extension when the
// extension is an image type, else ok = false.
func splitStem(name string) (stem, ext string, ok bool) {
	ext = filepath.Ext(name)
	if !IsImageExt(ext) {
		return "", "", false
	}
	return strings.TrimSuffix(name, ext), strings.ToLower(ext), true
}

// listImages returns the image files of dir sorted by stem. Hidden files,
// folders and other file types are skipped; two files with one stem are an
// error.
func listImages(dir string) ([]imageFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("imageset: %w", err)
	}
	var files []imageFile
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || e.IsDir() {
			continue
		}
		stem, ext, ok := splitStem(name)
		if !ok {
			continue
		}
		files = append(files, imageFile{stem: stem, path: filepath.Join(dir, name), ext: ext})
	}
	slices.SortFunc(files, func(a, b imageFile) int { return strings.Compare(a.stem, b.stem) })
	for i := 1; i < len(files); i++ {
		if files[i].stem == files[i-1].stem {
			return nil, fmt.Errorf("imageset: %s and %s share the name %q", files[i-1].path, files[i].path, files[i].stem)
		}
	}
	return files, nil
}

// ImagesByStem maps the stems (names without extension) of the image files
// of dir to their paths, as the loaders find them: hidden files, folders and
// other file types are skipped; two files with one stem are an error.
func ImagesByStem(dir string) (map[string]string, error) {
	files, err := listImages(dir)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(files))
	for _, f := range files {
		out[f.stem] = f.path
	}
	return out, nil
}

func allJPEG(files []imageFile) bool {
	if len(files) == 0 {
		return false
	}
	for _, f := range files {
		if f.ext != ".jpg" && f.ext != ".jpeg" {
			return false
		}
	}
	return true
}
