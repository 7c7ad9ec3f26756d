package imageset

import (
	"fmt"
	"os"
	"path/filepath"

	"suture/tensor"
)

// Sample is one record of a dataset: an image, its mask and its group, as
// read (a network takes unet.Input, which has no group).
type Sample struct {
	// Name is the file stem (or nnU-Net case id) that identifies the sample.
	Name string
	// Group is the sample's group, e.g. the video sequence id of a frame, or ""
	// when the dataset has none. Splits keep a group in one part.
	Group string
	// Image: (C, H, W), values 0..255 as float32; C = 3 (RGB) or 1 (grey), or
	// the channel count of an nnU-Net dataset.
	Image *tensor.Tensor
	// Mask: (1, H, W) class indices as float32 (0 background, 1 foreground
	// for binary masks).
	Mask *tensor.Tensor
}

// Dataset is a list of samples that share one image shape.
type Dataset struct {
	Samples []Sample
	// Classes is the number of mask classes (2 for binary masks).
	Classes int
	// Layout is where the samples came from.
	Layout Layout
	// Dir is the folder the dataset was read from ("" for generated data).
	Dir string
}

// Len is the number of samples.
func (d *Dataset) Len() int { return len(d.Samples) }

// Groups returns each sample's group, in sample order (for splits.Split).
func (d *Dataset) Groups() []string {
	g := make([]string, len(d.Samples))
	for i, s := range d.Samples {
		g[i] = s.Group
	}
	return g
}

// Names returns each sample's name, in sample order.
func (d *Dataset) Names() []string {
	n := make([]string, len(d.Samples))
	for i, s := range d.Samples {
		n[i] = s.Name
	}
	return n
}

// Layout names an on-disk dataset layout.
type Layout int

const (
	// LayoutAuto asks Open to detect the layout.
	LayoutAuto Layout = iota
	// LayoutFolderPair is DIR/images + DIR/masks (+ optional DIR/index.csv).
	LayoutFolderPair
	// LayoutNNUNet is nnU-Net's raw dataset layout.
	LayoutNNUNet
	// LayoutKvasir is the original Kvasir-SEG release: images/*.jpg, masks/*.jpg.
	// Detection takes any images/ + masks/ pair whose files are all JPEG for
	// it; it reads like a folder pair except that Options.Size resizes.
	LayoutKvasir
	// LayoutCVC is the original CVC-ClinicDB release: Original/*.tif,
	// "Ground Truth"/*.tif.
	LayoutCVC
	// LayoutSynth marks data made by Synth.
	LayoutSynth
)

func (l Layout) String() string {
	switch l {
	case LayoutAuto:
		return "auto"
	case LayoutFolderPair:
		return "folder-pair"
	case LayoutNNUNet:
		return "nnunet"
	case LayoutKvasir:
		return "kvasir-seg"
	case LayoutCVC:
		return "cvc-clinicdb"
	case LayoutSynth:
		return "synth"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

// Options tune Open.
type Options struct {
	// Layout forces a layout; LayoutAuto (the zero value) detects it.
	Layout Layout
	// Size, when > 0, is the side of the square images wanted. In the
	// folder-pair and nnU-Net layouts every image must already be Size x Size;
	// the original Kvasir-SEG and CVC-ClinicDB frames are resized to it (aspect
	// not kept): images by area averaging, masks by thresholding at full
	// resolution, area averaging, and thresholding the averages at 0.5. With
	// Size 0, all images must have the size of the first one.
	Size int
}

// Open reads the dataset in dir, detecting its layout unless opts.Layout
// names one.
func Open(dir string, opts Options) (*Dataset, error) {
	if opts.Size < 0 {
		return nil, fmt.Errorf("imageset: %s: negative size %d requested", dir, opts.Size)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("imageset: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("imageset: %s is not a folder", dir)
	}
	layout := opts.Layout
	if layout == LayoutAuto {
		if layout, err = detectLayout(dir); err != nil {
			return nil, err
		}
	}
	switch layout {
	case LayoutFolderPair:
		return openPairs(dir, pairLayout{images: "images", masks: "masks", layout: LayoutFolderPair}, opts.Size)
	case LayoutKvasir:
		return openPairs(dir, pairLayout{images: "images", masks: "masks", layout: LayoutKvasir, original: true}, opts.Size)
	case LayoutCVC:
		return openPairs(dir, pairLayout{images: "Original", masks: "Ground Truth", layout: LayoutCVC, original: true}, opts.Size)
	case LayoutNNUNet:
		return openNNUNet(dir, opts.Size)
	}
	return nil, fmt.Errorf("imageset: %s: cannot open layout %v", dir, layout)
}

// detectLayout looks at the folder names (and, to tell Kvasir-SEG from a
// generic folder pair, the file types).
func detectLayout(dir string) (Layout, error) {
	isDir := func(name string) bool {
		st, err := os.Stat(filepath.Join(dir, name))
		return err == nil && st.IsDir()
	}
	isFile := func(name string) bool {
		st, err := os.Stat(filepath.Join(dir, name))
		return err == nil && st.Mode().IsRegular()
	}
	switch {
	case isFile("dataset.json") && isDir("imagesTr"):
		return LayoutNNUNet, nil
	case isDir("Original") && isDir("Ground Truth"):
		return LayoutCVC, nil
	case isDir("images") && isDir("masks"):
		// All-JPEG folders are the Kvasir-SEG release; it reads like a folder
		// pair except that it may be resized on load.
		img, err1 := listImages(filepath.Join(dir, "images"))
		msk, err2 := listImages(filepath.Join(dir, "masks"))
		if err1 == nil && err2 == nil && allJPEG(img) && allJPEG(msk) {
			return LayoutKvasir, nil
		}
		return LayoutFolderPair, nil
	}
	return LayoutAuto, fmt.Errorf("imageset: %s: unknown layout (want images/ + masks/, dataset.json + imagesTr/ + labelsTr/, or Original/ + \"Ground Truth\"/)", dir)
}
