package imageset

import (
	"fmt"
	"path/filepath"
	"strings"

	"suture/tensor"
)

// pairLayout describes a layout of two sibling folders, images and masks,
// matched by file stem.
type pairLayout struct {
	images, masks string // folder names under the dataset folder
	layout        Layout
	// original marks an original release (Kvasir-SEG, CVC-ClinicDB): its
	// frames may be resized to the requested size, and its masks are
	// thresholded at half range whatever their format (both releases have
	// masks with intermediate values).
	original bool
}

// pairJob is one image with its mask file, before loading.
type pairJob struct {
	name, group      string
	imgPath, mskPath string
}

// openPairs reads an images/masks folder pair.
func openPairs(dir string, pl pairLayout, size int) (*Dataset, error) {
	imgDir, mskDir := filepath.Join(dir, pl.images), filepath.Join(dir, pl.masks)
	imgs, err := listImages(imgDir)
	if err != nil {
		return nil, err
	}
	if len(imgs) == 0 {
		return nil, fmt.Errorf("imageset: no images (PNG, JPEG or TIFF) in %s", imgDir)
	}
	msks, err := listImages(mskDir)
	if err != nil {
		return nil, err
	}
	jobs, err := pairUp(imgs, msks, mskDir)
	if err != nil {
		return nil, err
	}
	if jobs, err = applyIndex(jobs, filepath.Join(dir, "index.csv"), imgDir); err != nil {
		return nil, err
	}
	paths := make([]string, len(jobs))
	for i, j := range jobs {
		paths[i] = j.imgPath
	}
	hint := ""
	if pl.original {
		hint = " (set Options.Size to resize the frames on load)"
	}
	samples, err := loadAll(paths, size, hint, func(i int) (Sample, error) {
		return loadPair(jobs[i], pl.original, size)
	})
	if err != nil {
		return nil, err
	}
	return &Dataset{Samples: samples, Classes: 2, Layout: pl.layout, Dir: dir}, nil
}

// pairUp matches images and masks by stem; both lists are sorted by stem.
func pairUp(imgs, msks []imageFile, mskDir string) ([]pairJob, error) {
	byStem := make(map[string]imageFile, len(msks))
	for _, m := range msks {
		byStem[m.stem] = m
	}
	jobs := make([]pairJob, 0, len(imgs))
	used := make(map[string]bool, len(imgs))
	for _, im := range imgs {
		m, ok := byStem[im.stem]
		if !ok {
			return nil, fmt.Errorf("imageset: image %s has no mask %s.{%s} in %s", im.path, im.stem, strings.Join(extNames(), ","), mskDir)
		}
		used[im.stem] = true
		jobs = append(jobs, pairJob{name: im.stem, imgPath: im.path, mskPath: m.path})
	}
	for _, m := range msks { // sorted, so the first stray mask is reported
		if !used[m.stem] {
			return nil, fmt.Errorf("imageset: mask %s has no image of the same name", m.path)
		}
	}
	return jobs, nil
}

func extNames() []string {
	n := make([]string, len(imageExts))
	for i, e := range imageExts {
		n[i] = strings.TrimPrefix(e, ".")
	}
	return n
}

// applyIndex orders the jobs as index.csv lists them and sets their groups;
// without an index.csv the jobs stay in stem order with no groups. Every
// image must be listed and every listed name must have an image.
func applyIndex(jobs []pairJob, indexPath, imgDir string) ([]pairJob, error) {
	rows, found, err := readIndex(indexPath)
	if err != nil || !found {
		return jobs, err
	}
	pos := make(map[string]int, len(jobs))
	for i, j := range jobs {
		pos[j.name] = i
	}
	listed := make([]bool, len(jobs))
	out := make([]pairJob, 0, len(rows))
	for _, r := range rows {
		i, ok := pos[r.name]
		if stem, _, isFile := splitStem(r.name); !ok && isFile {
			i, ok = pos[stem] // the index names files rather than stems
		}
		if !ok {
			return nil, fmt.Errorf("imageset: %s line %d lists %q, which has no image in %s", indexPath, r.line, r.name, imgDir)
		}
		listed[i] = true
		j := jobs[i]
		j.group = r.group
		out = append(out, j)
	}
	for i, j := range jobs {
		if !listed[i] {
			return nil, fmt.Errorf("imageset: image %s is not listed in %s", j.imgPath, indexPath)
		}
	}
	return out, nil
}

// loadPair decodes one image and its mask. Original releases are resized to
// size when size > 0.
func loadPair(j pairJob, original bool, size int) (Sample, error) {
	img, _, err := decodeFile(j.imgPath)
	if err != nil {
		return Sample{}, err
	}
	msk, mskFormat, err := decodeFile(j.mskPath)
	if err != nil {
		return Sample{}, err
	}
	ib, mb := img.Bounds(), msk.Bounds()
	if ib.Dx() != mb.Dx() || ib.Dy() != mb.Dy() {
		return Sample{}, fmt.Errorf("imageset: mask %s is %dx%d but its image %s is %dx%d", j.mskPath, mb.Dx(), mb.Dy(), j.imgPath, ib.Dx(), ib.Dy())
	}
	rule := ruleBinary
	if original || mskFormat == "jpeg" {
		rule = ruleThreshold
	}
	levels, maxLevel := maskLevels(msk)
	classes, err := maskClasses(levels, maxLevel, rule, 2, mb.Dx(), j.mskPath)
	if err != nil {
		return Sample{}, err
	}
	s := Sample{Name: j.name, Group: j.group, Image: imageTensor(img)}
	if s.Mask, err = tensor.FromData(classes, 1, mb.Dy(), mb.Dx()); err != nil {
		return Sample{}, fmt.Errorf("imageset: mask %s: %w", j.mskPath, err)
	}
	if original && size > 0 && (ib.Dx() != size || ib.Dy() != size) {
		if s.Image, err = resizeArea(s.Image, size, size); err != nil {
			return Sample{}, fmt.Errorf("imageset: image %s: %w", j.imgPath, err)
		}
		if s.Mask, err = resizeMask(s.Mask, size, size); err != nil {
			return Sample{}, fmt.Errorf("imageset: mask %s: %w", j.mskPath, err)
		}
	}
	return s, nil
}

// loadAll loads samples 0..len(paths)-1 with load, the first one alone and
// the rest in parallel, and checks that every image has the first one's
// shape and, when size > 0, is size x size; paths[i] names sample i's image
// in errors, and hint ends a size-mismatch message. A sample that fails the
// check is dropped at once, so a folder of mismatched large frames does not
// pile up in memory before the error.
func loadAll(paths []string, size int, hint string, load func(i int) (Sample, error)) ([]Sample, error) {
	samples := make([]Sample, len(paths))
	var err error
	if samples[0], err = load(0); err != nil {
		return nil, err
	}
	first := samples[0].Image.Shape
	check := func(i int, sh []int) error {
		h, w := sh[1], sh[2]
		if size > 0 && (h != size || w != size) {
			return fmt.Errorf("imageset: image %s is %dx%d, want %dx%d as requested", paths[i], w, h, size, size)
		}
		if h != first[1] || w != first[2] {
			return fmt.Errorf("imageset: image %s is %dx%d, but %s is %dx%d%s", paths[i], w, h, paths[0], first[2], first[1], hint)
		}
		if sh[0] != first[0] {
			return fmt.Errorf("imageset: image %s has %d channels, but %s has %d", paths[i], sh[0], paths[0], first[0])
		}
		return nil
	}
	if err := check(0, first); err != nil {
		return nil, err
	}
	err = forEachParallel(len(paths)-1, func(k int) error {
		i := k + 1
		s, err := load(i)
		if err == nil {
			err = check(i, s.Image.Shape)
		}
		if err == nil {
			samples[i] = s
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return samples, nil
}
