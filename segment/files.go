package segment

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"suture/io/imageset"
)

var (
	// ErrNotOurs marks an output path that holds a file Suture did not
	// write as a mask (an input image, a reference mask, anything else):
	// CheckOutputs refuses to replace it unless forced.
	ErrNotOurs = errors.New("exists and is not a mask written by Suture")
	// ErrTooLarge marks an image whose declared size exceeds the pixel
	// limit (Options.MaxPixels).
	ErrTooLarge = errors.New("image over the pixel limit")
)

// FileJob is one image file to segment and the mask file to write.
type FileJob struct{ In, Out string }

// FolderJobs lists the images (png, jpg, jpeg, tif, tiff) in folder in,
// sorted, each with its mask out/STEM.png. It refuses an output folder that
// is the input folder or inside it (the masks would land among, or on, the
// images), and two images whose masks would have the same name (x.png and
// x.jpg), naming every such pair. It writes nothing.
func FolderJobs(in, out string) ([]FileJob, error) {
	entries, err := os.ReadDir(in)
	if err != nil {
		return nil, err
	}
	if inside, err := within(out, in); err != nil {
		return nil, err
	} else if inside {
		return nil, fmt.Errorf("output folder %s is the input folder %s or inside it: the masks would be written among the images", out, in)
	}
	var jobs []FileJob
	byMask := map[string]string{}
	var clashes []string
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if e.IsDir() || !imageset.IsImageExt(ext) {
			continue
		}
		mask := strings.TrimSuffix(name, ext) + ".png"
		if prev, dup := byMask[mask]; dup {
			clashes = append(clashes, fmt.Sprintf("%s and %s", prev, name))
			continue
		}
		byMask[mask] = name
		jobs = append(jobs, FileJob{In: filepath.Join(in, name), Out: filepath.Join(out, mask)})
	}
	if len(clashes) > 0 {
		return nil, fmt.Errorf("%s: images whose masks would have the same name: %s", in, strings.Join(clashes, "; "))
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("%s: no images (png, jpg, jpeg, tif, tiff)", in)
	}
	slices.SortFunc(jobs, func(a, b FileJob) int { return strings.Compare(a.In, b.In) })
	return jobs, nil
}

// within reports whether path is dir or lies inside it, following symbolic
// links of the parts that exist.
func within(path, dir string) (bool, error) {
	d, err := resolve(dir)
	if err != nil {
		return false, err
	}
	p, err := resolve(path)
	if err != nil {
		return false, err
	}
	rel, err := filepath.Rel(d, p)
	if err != nil {
		return false, nil // different volumes
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))), nil
}

// resolve makes path absolute and resolves symbolic links in its longest
// existing prefix.
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	var rest []string
	for p := abs; ; p = filepath.Dir(p) {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{r}, rest...)...), nil
		}
		if filepath.Dir(p) == p {
			return abs, nil
		}
		rest = append([]string{filepath.Base(p)}, rest...)
	}
}

// CheckOutputs refuses, before anything is written, a job whose mask would
// replace its own input image, a mask path that is a folder, and unless
// force a mask path that holds a file Suture did not write as a mask
// (ErrNotOurs; the error names up to three and counts the rest). A mask
// Suture wrote is replaced: predicting again updates it.
func CheckOutputs(jobs []FileJob, force bool) error {
	var notOurs []string
	for _, j := range jobs {
		st, err := os.Stat(j.Out)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if in, err := os.Stat(j.In); err == nil && os.SameFile(in, st) {
			return fmt.Errorf("mask %s would replace its own input image", j.Out)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("mask %s exists and is not a regular file", j.Out)
		}
		if force {
			continue
		}
		ours, err := imageset.WrittenBySuture(j.Out)
		if err != nil {
			return err
		}
		if !ours {
			notOurs = append(notOurs, j.Out)
		}
	}
	switch n := len(notOurs); {
	case n == 0:
		return nil
	case n <= 3:
		return fmt.Errorf("%s %w", strings.Join(notOurs, ", "), ErrNotOurs)
	default:
		return fmt.Errorf("%s and %d more files %w", strings.Join(notOurs[:3], ", "), n-3, ErrNotOurs)
	}
}

// maxPixels is the pixel limit in force.
func (m *Model) maxPixels() int64 {
	if m.Options.MaxPixels > 0 {
		return m.Options.MaxPixels
	}
	return DefaultMaxPixels(m.NumClasses)
}

// SegmentFile segments the image file in (PNG, JPEG or TIFF) and writes its
// mask to out atomically: 0 and 255 for a two-class model, the class indices
// for more, marked as written by Suture. The image's declared size is
// checked against the pixel limit (Options.MaxPixels) before its pixels are
// decoded, so memory stays within about BytesPerPixel per pixel of the
// limit (ErrTooLarge). It does not check out (see CheckOutputs).
func (m *Model) SegmentFile(in, out string) error {
	w, h, _, err := imageset.ImageSize(in)
	if err != nil {
		return err
	}
	if limit := m.maxPixels(); int64(w)*int64(h) > limit {
		return fmt.Errorf("%s: %dx%d is %d pixels, more than the limit of %d: %w", in, w, h, int64(w)*int64(h), limit, ErrTooLarge)
	}
	img, err := imageset.ReadImage(in)
	if err != nil {
		return err
	}
	classes, err := m.Classes(img)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if m.NumClasses == 2 {
		return imageset.WriteMask(out, classes, h, w)
	}
	return imageset.WriteLabels(out, classes, h, w)
}

// FilesError is SegmentFiles' report of the images that failed.
type FilesError struct {
	Total  int     // images tried
	Failed []error // one per failed image, naming it
}

func (e *FilesError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d images failed:", len(e.Failed), e.Total)
	for _, err := range e.Failed {
		b.WriteString("\n  ")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is see every image's error (ErrTooLarge, say).
func (e *FilesError) Unwrap() []error { return e.Failed }

// SegmentFiles runs SegmentFile on every job in order. An image that fails
// does not stop the rest: the failures come back together as a *FilesError
// after the last job. progress, when set, is called before each job. When
// ctx is cancelled it stops before the next job and returns ctx's error,
// joined with the failures so far. written counts the masks written.
func (m *Model) SegmentFiles(ctx context.Context, jobs []FileJob, progress func(done, total int, job FileJob)) (written int, err error) {
	var failed []error
	for i, j := range jobs {
		if err := ctx.Err(); err != nil {
			if len(failed) > 0 {
				return written, errors.Join(err, &FilesError{Total: i, Failed: failed})
			}
			return written, err
		}
		if progress != nil {
			progress(i, len(jobs), j)
		}
		if err := m.SegmentFile(j.In, j.Out); err != nil {
			if !strings.Contains(err.Error(), j.In) {
				err = fmt.Errorf("%s: %w", j.In, err)
			}
			failed = append(failed, err)
			continue
		}
		written++
	}
	if len(failed) > 0 {
		return written, &FilesError{Total: len(jobs), Failed: failed}
	}
	return written, nil
}
