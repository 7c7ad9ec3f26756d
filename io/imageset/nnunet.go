package imageset

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"suture/tensor"
)

// nnunetJSON is the part of nnU-Net's dataset.json that a 2-D image dataset
// needs.
type nnunetJSON struct {
	ChannelNames map[string]string          `json:"channel_names"`
	Labels       map[string]json.RawMessage `json:"labels"`
	NumTraining  *int                       `json:"numTraining"`
	FileEnding   string                     `json:"file_ending"`
}

// nnunetCase is one training case: its channel files in channel order and its
// label file.
type nnunetCase struct {
	id        string
	channels  []string
	labelPath string
}

// openNNUNet reads DIR/dataset.json, DIR/imagesTr and DIR/labelsTr. Labels
// must be the plain integers 0..K-1 (no region or ignore labels); the mask
// holds them as class indices.
func openNNUNet(dir string, size int) (*Dataset, error) {
	jsonPath := filepath.Join(dir, "dataset.json")
	meta, classes, err := readNNUNetJSON(jsonPath)
	if err != nil {
		return nil, err
	}
	cases, err := listNNUNetCases(dir, meta.FileEnding)
	if err != nil {
		return nil, err
	}
	if meta.NumTraining != nil && *meta.NumTraining != len(cases) {
		return nil, fmt.Errorf("imageset: %s says numTraining %d, but imagesTr holds %d cases", jsonPath, *meta.NumTraining, len(cases))
	}
	wantC := len(meta.ChannelNames)
	paths := make([]string, len(cases))
	for i, c := range cases {
		paths[i] = c.channels[0]
	}
	samples, err := loadAll(paths, size, "", func(i int) (Sample, error) {
		return loadNNUNetCase(cases[i], wantC, classes)
	})
	if err != nil {
		return nil, err
	}
	return &Dataset{Samples: samples, Classes: classes, Layout: LayoutNNUNet, Dir: dir}, nil
}

// readNNUNetJSON parses and checks dataset.json; classes is the label count.
func readNNUNetJSON(path string) (meta nnunetJSON, classes int, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return meta, 0, fmt.Errorf("imageset: %w", err)
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return meta, 0, fmt.Errorf("imageset: %s: %w", path, err)
	}
	if len(meta.ChannelNames) == 0 {
		return meta, 0, fmt.Errorf("imageset: %s has no channel_names", path)
	}
	for c := range len(meta.ChannelNames) {
		if _, ok := meta.ChannelNames[strconv.Itoa(c)]; !ok {
			return meta, 0, fmt.Errorf("imageset: %s: channel_names lacks channel \"%d\" (keys must be 0..%d)", path, c, len(meta.ChannelNames)-1)
		}
	}
	if !IsImageExt(meta.FileEnding) {
		return meta, 0, fmt.Errorf("imageset: %s: file_ending %q is not a supported image type (%s)", path, meta.FileEnding, strings.Join(imageExts, ", "))
	}
	if len(meta.Labels) == 0 {
		return meta, 0, fmt.Errorf("imageset: %s has no labels", path)
	}
	names := make([]string, 0, len(meta.Labels))
	for name := range meta.Labels {
		names = append(names, name)
	}
	slices.Sort(names) // so that the error reported does not depend on map order
	values := make([]int, 0, len(meta.Labels))
	for _, name := range names {
		v := meta.Labels[name]
		var k int
		if err := json.Unmarshal(v, &k); err != nil {
			return meta, 0, fmt.Errorf("imageset: %s: label %q is %s; only integer labels are supported (no regions)", path, name, v)
		}
		if name == "ignore" {
			return meta, 0, fmt.Errorf("imageset: %s: the \"ignore\" label is not supported", path)
		}
		values = append(values, k)
	}
	slices.Sort(values)
	for i, v := range values {
		if v != i {
			return meta, 0, fmt.Errorf("imageset: %s: label values %v are not the consecutive integers 0..%d", path, values, len(values)-1)
		}
	}
	if len(values) < 2 {
		return meta, 0, fmt.Errorf("imageset: %s declares only the background label", path)
	}
	return meta, len(values), nil
}

// listNNUNetCases groups imagesTr/<case>_<dddd><ending> files by case (cases
// sorted by id, channels by number) and pairs each case with
// labelsTr/<case><ending>.
func listNNUNetCases(dir, ending string) ([]nnunetCase, error) {
	imgDir, lblDir := filepath.Join(dir, "imagesTr"), filepath.Join(dir, "labelsTr")
	entries, err := os.ReadDir(imgDir)
	if err != nil {
		return nil, fmt.Errorf("imageset: %w", err)
	}
	byID := make(map[string]map[int]string)
	var ids []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ending) {
			continue
		}
		base := strings.TrimSuffix(name, ending)
		us := strings.LastIndexByte(base, '_')
		ch, err := strconv.Atoi(base[us+1:])
		if us < 0 || len(base)-us-1 != 4 || err != nil {
			return nil, fmt.Errorf("imageset: %s: name is not <case>_<4-digit channel>%s", filepath.Join(imgDir, name), ending)
		}
		id := base[:us]
		if byID[id] == nil {
			byID[id] = make(map[int]string)
			ids = append(ids, id)
		}
		byID[id][ch] = filepath.Join(imgDir, name)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("imageset: no images (*_0000%s) in %s", ending, imgDir)
	}
	slices.Sort(ids)
	cases := make([]nnunetCase, len(ids))
	for i, id := range ids {
		chans := byID[id]
		c := nnunetCase{id: id, labelPath: filepath.Join(lblDir, id+ending)}
		for k := range len(chans) {
			p, ok := chans[k]
			if !ok {
				return nil, fmt.Errorf("imageset: case %q in %s has %d channel files but no %s_%04d%s", id, imgDir, len(chans), id, k, ending)
			}
			c.channels = append(c.channels, p)
		}
		if _, err := os.Stat(c.labelPath); err != nil {
			return nil, fmt.Errorf("imageset: image %s has no label: %w", c.channels[0], err)
		}
		cases[i] = c
	}
	labels, err := os.ReadDir(lblDir)
	if err != nil {
		return nil, fmt.Errorf("imageset: %w", err)
	}
	for _, e := range labels {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ending) {
			continue
		}
		if _, ok := byID[strings.TrimSuffix(name, ending)]; !ok {
			return nil, fmt.Errorf("imageset: label %s has no image %s_0000%s in %s", filepath.Join(lblDir, name), strings.TrimSuffix(name, ending), ending, imgDir)
		}
	}
	return cases, nil
}

// loadNNUNetCase decodes a case's channel files (each grey or RGB) into one
// (C, H, W) image and its label file into a (1, H, W) mask.
func loadNNUNetCase(c nnunetCase, wantC, classes int) (Sample, error) {
	var planes []float32
	h, w, gotC := 0, 0, 0
	for k, p := range c.channels {
		img, _, err := decodeFile(p)
		if err != nil {
			return Sample{}, err
		}
		t := imageTensor(img)
		if k == 0 {
			h, w = t.Shape[1], t.Shape[2]
		} else if t.Shape[1] != h || t.Shape[2] != w {
			return Sample{}, fmt.Errorf("imageset: %s is %dx%d, but %s is %dx%d", p, t.Shape[2], t.Shape[1], c.channels[0], w, h)
		}
		planes = append(planes, t.Data...)
		gotC += t.Shape[0]
	}
	if gotC != wantC {
		return Sample{}, fmt.Errorf("imageset: case %q (%s...) has %d channels, dataset.json declares %d", c.id, c.channels[0], gotC, wantC)
	}
	image, err := tensor.FromData(planes, gotC, h, w)
	if err != nil {
		return Sample{}, fmt.Errorf("imageset: case %q: %w", c.id, err)
	}
	lbl, _, err := decodeFile(c.labelPath)
	if err != nil {
		return Sample{}, err
	}
	if b := lbl.Bounds(); b.Dx() != w || b.Dy() != h {
		return Sample{}, fmt.Errorf("imageset: label %s is %dx%d but its image %s is %dx%d", c.labelPath, b.Dx(), b.Dy(), c.channels[0], w, h)
	}
	levels, maxLevel := maskLevels(lbl)
	cls, err := maskClasses(levels, maxLevel, ruleLabels, classes, w, c.labelPath)
	if err != nil {
		return Sample{}, err
	}
	mask, err := tensor.FromData(cls, 1, h, w)
	if err != nil {
		return Sample{}, fmt.Errorf("imageset: label %s: %w", c.labelPath, err)
	}
	return Sample{Name: c.id, Image: image, Mask: mask}, nil
}
