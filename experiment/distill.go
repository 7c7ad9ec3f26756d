package experiment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"suture/autograd"
	"suture/io/ckpt"
	"suture/io/imageset"
	"suture/kernels"
	"suture/nn"
	"suture/stitch"
	"suture/tensor"
	"suture/unet"
)

// DistillSpec describes a distillation job (docs/distill.md): a plain U-Net
// (the student) is trained on a party's own training images against the
// soft outputs of a stitch-ensemble (the teacher), plus the labelled loss.
// Out receives the student after every epoch, with its training state, so
// that an interrupted job resumes exactly.
type DistillSpec struct {
	Out string
	// Teacher is a stitched checkpoint (suture stitch) or a stitch-ensemble
	// exported from one (suture export network); Net picks the
	// stitch-ensemble of a stitched checkpoint: "stitch-ensemble:K".
	Teacher, Net string
	// Data is the party's dataset; its training part of fold Fold is
	// distilled on, its validation part scored after every epoch when
	// Validate.
	Data      string
	Size      int
	Fold      int
	SplitSeed uint64
	// Unlabelled is a folder of further images of the party without masks
	// (PNG, JPEG, TIFF; masks there are not read): they get the teacher's
	// term only.
	Unlabelled string
	// Student is "" or "a": network A of the teacher, architecture and
	// weights ("b": network B, for party b's perspective); otherwise a JSON file, an nnU-Net plans.json (it has
	// "configurations") or Suture's own config, for a new network with
	// weights from Seed.
	Student string
	Seed    uint64 // new weights (a new student), batches and augmentation
	Opts    unet.TrainOptions
	// Temperature T of both softmaxes in the KL term (> 0); Alpha weighs
	// the labelled Dice + CE (>= 0; 0 for unlabelled images always).
	Temperature, Alpha float64
	Validate           bool
	// Resume continues the student in Out; Force overwrites Out. Without
	// either, an existing Out is an error.
	Resume, Force bool
	Loader        Loader // nil: LoadData
}

// DistillMeta is what a student checkpoint records about its teacher and
// its training, under the meta key "distill" beside the U-Net's own.
type DistillMeta struct {
	Teacher       string  `json:"teacher"`        // the path given
	TeacherSHA256 string  `json:"teacher_sha256"` // of the teacher checkpoint file
	Net           string  `json:"net"`            // stitch-ensemble:K
	Setting       string  `json:"setting"`        // its switch setting
	Student       string  `json:"student"`        // a, or the file the architecture came from
	Temperature   float64 `json:"temperature"`
	Alpha         float64 `json:"alpha"`
	// DeepSupervision says what trains the student's lower-resolution
	// heads: "labels" (the labelled loss only; the teacher's term is on the
	// full-resolution output).
	DeepSupervision string `json:"deep_supervision"`
	Data            string `json:"data"`
	Size            int    `json:"size"`
	Fold            int    `json:"fold"`
	SplitSeed       uint64 `json:"split_seed"`
	Labelled        int    `json:"labelled"` // training images with masks
	Unlabelled      string `json:"unlabelled,omitempty"`
	UnlabelledN     int    `json:"unlabelled_images,omitempty"`
}

// DistillMetaKey is the checkpoint meta key of DistillMeta.
const DistillMetaKey = "distill"

// DistillEvent reports a distillation's progress: Kind "start" (Info),
// "step" (Progress) or "epoch" (Epoch, Best: the validation Dice improved).
type DistillEvent struct {
	Kind     string
	Info     *DistillInfo
	Progress unet.Progress
	Epoch    unet.EpochLog
	Best     bool
}

// DistillInfo describes a distillation as it starts.
type DistillInfo struct {
	Meta                        DistillMeta
	Train, Unlabelled, Val      int // images
	Epochs, ResumedEpoch        int
	Resumed                     bool
	Features                    []int
	StudentParams, TeacherPairs int
	Backend                     string
}

// DistillResult is what a finished distillation left.
type DistillResult struct {
	Out   string
	Meta  DistillMeta
	State unet.State
	// Stopped is unet.ErrBudget when the time budget ended training early.
	Stopped error
}

// Teacher is a stitch-ensemble ready to give soft targets.
type Teacher struct {
	S       *Stitched
	Setting stitch.Setting
	Net     string
	SHA256  string
}

// LoadTeacher reads the teacher of a distillation: a stitched checkpoint
// and net "stitch-ensemble:K", or an exported stitch-ensemble (net "" or
// the same stitch-ensemble). Anything else is refused with the reason.
func LoadTeacher(path string, b kernels.Backend, net string) (*Teacher, error) {
	sum, err := fileSHA256(path)
	if err != nil {
		return nil, fmt.Errorf("teacher: %w", err)
	}
	c, err := ckpt.Read(path)
	if err != nil {
		return nil, fmt.Errorf("teacher: %w", err)
	}
	kind, err := c.Kind()
	if err != nil {
		return nil, fmt.Errorf("teacher %s: not a Suture model checkpoint: %w", path, err)
	}
	tc := &Teacher{SHA256: sum}
	switch kind {
	case stitch.Kind:
		if tc.S, err = stitch.FromCheckpoint(path, c, b, unet.LoadBase); err != nil {
			return nil, fmt.Errorf("teacher: %w", err)
		}
		k, err := ensembleIndex(net)
		if err != nil {
			return nil, err
		}
		if tc.Setting, err = stitch.StitchEnsemble(tc.S.M.Pairs(), k); err != nil {
			return nil, fmt.Errorf("teacher %s: %w", path, err)
		}
	case stitch.ExtractedKind:
		if tc.S, tc.Setting, err = stitch.FromExtracted(path, c, b, unet.LoadBase); err != nil {
			return nil, fmt.Errorf("teacher: %w", err)
		}
		k := -1
		for i := range tc.Setting.A {
			if se, err := stitch.StitchEnsemble(tc.S.M.Pairs(), i); err == nil && se.String() == tc.Setting.String() {
				k = i
			}
		}
		if k < 0 {
			return nil, fmt.Errorf("teacher %s: the exported network (%s) is not a stitch-ensemble", path, tc.Setting)
		}
		if net != "" {
			want, err := ensembleIndex(net)
			if err != nil {
				return nil, err
			}
			if want != k {
				return nil, fmt.Errorf("teacher %s is exported stitch-ensemble %d, not %d", path, k, want)
			}
		}
	default:
		return nil, fmt.Errorf("teacher %s is a %s checkpoint, not a stitched model; distil from a stitched checkpoint (suture stitch) and a stitch-ensemble", path, kind)
	}
	if tc.S.A.Config.NumClasses != tc.S.B.Config.NumClasses {
		return nil, fmt.Errorf("teacher %s: its networks have %d and %d classes", path, tc.S.A.Config.NumClasses, tc.S.B.Config.NumClasses)
	}
	tc.Net = "stitch-ensemble:" + fmt.Sprint(indexOf(tc.Setting))
	return tc, nil
}

// ensembleIndex reads "stitch-ensemble:K".
func ensembleIndex(net string) (int, error) {
	rest, ok := strings.CutPrefix(net, "stitch-ensemble:")
	if ok {
		if k, err := strconv.Atoi(rest); err == nil && k >= 0 {
			return k, nil
		}
	}
	return 0, fmt.Errorf("network %q names no stitch-ensemble; want stitch-ensemble:K (K a stitch index)", net)
}

// indexOf is the stitch index of a stitch-ensemble setting.
func indexOf(s stitch.Setting) int {
	for k, m := range s.A {
		if m == stitch.Average {
			return k
		}
	}
	return -1
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// LoadUnlabelled reads every image (png, jpg, jpeg, tif, tiff) in dir, in
// name order, as samples without masks.
func LoadUnlabelled(dir string) ([]unet.Input, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("unlabelled images: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && imageset.IsImageExt(filepath.Ext(e.Name())) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("unlabelled images: %s holds no images (png, jpg, tif)", dir)
	}
	out := make([]unet.Input, len(names))
	for i, n := range names {
		img, err := imageset.ReadImage(filepath.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("unlabelled images: %w", err)
		}
		out[i] = unet.Input{Name: n, Image: img}
	}
	return out, nil
}

// studentConfig returns the student's architecture and, for "a", the
// weights to start from.
func studentConfig(spec string, tc *Teacher) (*unet.Config, map[string]*tensor.Tensor, *unet.Inference, error) {
	a := tc.S.A
	if spec == "b" {
		a = tc.S.B
	}
	if spec == "" || spec == "a" || spec == "b" {
		cfg := *a.Config
		host, err := a.Params.Host()
		if err != nil {
			return nil, nil, nil, err
		}
		w := map[string]*tensor.Tensor{}
		for i, p := range a.Params.Params {
			w[p.Name] = host[i]
		}
		return &cfg, w, a.Inference, nil
	}
	data, err := os.ReadFile(spec)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("student: %w", err)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, nil, nil, fmt.Errorf("student %s: not JSON: %w", spec, err)
	}
	var cfg *unet.Config
	if _, ok := probe["configurations"]; ok {
		var plans *unet.NNUNetPlans
		if plans, err = unet.ParsePlans(data); err == nil {
			_, cfg, err = plans.Architecture(a.Config.InChannels, a.Config.NumClasses)
		}
	} else {
		cfg, err = unet.ParseConfig(data)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("student %s: %w", spec, err)
	}
	return cfg, nil, nil, nil
}

// Distill runs a distillation job. Cancelling ctx saves Out and returns an
// error wrapping ctx.Err().
func Distill(ctx context.Context, b kernels.Backend, spec DistillSpec, ev func(DistillEvent)) (*DistillResult, error) {
	emit := func(e DistillEvent) {
		if ev != nil {
			ev(e)
		}
	}
	if err := checkDistillSpec(spec); err != nil {
		return nil, err
	}
	lock, err := LockFile(spec.Out+".lock", spec.Out, "suture distill")
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	defer os.Remove(spec.Out + ".lock")
	if _, err := os.Stat(spec.Out); err == nil && !spec.Resume && !spec.Force {
		return nil, runExists{fmt.Sprintf("%s already exists", spec.Out)}
	} else if err != nil && spec.Resume {
		return nil, fmt.Errorf("resume: %w", err)
	}
	tc, err := LoadTeacher(spec.Teacher, b, spec.Net)
	if err != nil {
		return nil, err
	}
	part, err := LoadFold(spec.Loader, []string{spec.Data}, spec.Size, spec.SplitSeed, spec.Fold)
	if err != nil {
		return nil, err
	}
	train, unl, err := distillImages(spec, tc, part)
	if err != nil {
		return nil, err
	}
	nLab := len(part.Train)
	meta := DistillMeta{Teacher: spec.Teacher, TeacherSHA256: tc.SHA256, Net: tc.Net, Setting: tc.Setting.String(),
		Student: spec.Student, Temperature: spec.Temperature, Alpha: spec.Alpha, DeepSupervision: "labels",
		Data: spec.Data, Size: spec.Size, Fold: spec.Fold, SplitSeed: spec.SplitSeed, Labelled: nLab,
		Unlabelled: spec.Unlabelled, UnlabelledN: len(unl)}
	if meta.Student == "" {
		meta.Student = "a"
	}
	run := ckpt.RunInfo{Data: spec.Data, Fold: spec.Fold, SplitSeed: spec.SplitSeed, Seed: spec.Seed}
	opts := spec.Opts
	opts.Seed = spec.Seed
	var m *unet.Model
	var loaded *unet.Loaded
	info := &DistillInfo{Train: nLab, Unlabelled: len(unl), Val: len(part.Val), TeacherPairs: tc.S.M.Pairs(), Backend: b.Name()}
	if spec.Resume {
		if loaded, err = resumeStudent(b, spec, meta, run, &opts); err != nil {
			return nil, err
		}
		m = loaded.Model
		info.Resumed, info.ResumedEpoch = true, loaded.Meta.State.Epoch
	} else if m, err = newStudent(b, spec, tc); err != nil {
		return nil, err
	}
	tr, err := startTrainer(b, m, &opts, loaded)
	if err != nil {
		return nil, err
	}
	teacherTape := autograd.NewTape(b)
	teacherTape.Recording = false
	defer teacherTape.Arena().Drop()
	tr.Loss = distillLoss(tc, teacherTape, float32(spec.Temperature), float32(spec.Alpha), nLab)
	info.Meta, info.Epochs, info.Features, info.StudentParams = meta, opts.Epochs, m.Config.FeaturesPerStage, m.Params.Trainable
	emit(DistillEvent{Kind: "start", Info: info})
	return fitStudent(ctx, spec, part, train, m, tr, run, meta, emit)
}

// checkDistillSpec checks a distillation job's settings before anything is
// opened: not both resume and force, epochs, batch size, temperature,
// alpha, an output, and an output that is not the teacher's file.
func checkDistillSpec(spec DistillSpec) error {
	if spec.Resume && spec.Force {
		return fmt.Errorf("resume and force exclude each other")
	}
	if spec.Opts.Epochs < 1 || spec.Opts.BatchSize < 1 {
		return fmt.Errorf("epochs (%d) and batch size (%d) must be >= 1", spec.Opts.Epochs, spec.Opts.BatchSize)
	}
	if !(spec.Temperature > 0) || math.IsInf(spec.Temperature, 0) {
		return fmt.Errorf("temperature %g must be a positive number", spec.Temperature)
	}
	if !(spec.Alpha >= 0) || math.IsInf(spec.Alpha, 0) {
		return fmt.Errorf("alpha %g must be a number >= 0", spec.Alpha)
	}
	if spec.Out == "" {
		return fmt.Errorf("no output checkpoint given")
	}
	if oi, err := os.Stat(spec.Out); err == nil {
		if ti, err := os.Stat(spec.Teacher); err == nil && os.SameFile(oi, ti) {
			return fmt.Errorf("the student %s is the teacher's file: it would replace its own teacher", spec.Out)
		}
	}
	return nil
}

// distillImages returns the images the student trains on: part's training
// images, then the unlabelled ones (unl, also returned alone) with empty
// masks; all must have the size the teacher was stitched at.
func distillImages(spec DistillSpec, tc *Teacher, part *Partition) (train, unl []unet.Input, err error) {
	in := tc.S.Meta.Input
	sizeErr := func(what string, s unet.Input) error {
		sh := s.Image.Shape
		if len(sh) != 3 || sh[0] != in[0] || sh[1] != in[1] || sh[2] != in[2] {
			return fmt.Errorf("%s image %q is %v, the teacher was stitched at (%d, %d, %d): distil at the teacher's size (resize the data to %d px)",
				what, s.Name, tensor.ShapeOf(s.Image), in[0], in[1], in[2], in[1])
		}
		return nil
	}
	train = append([]unet.Input(nil), part.Train...)
	for _, s := range train {
		if err := sizeErr("training", s); err != nil {
			return nil, nil, err
		}
	}
	if spec.Unlabelled != "" {
		if unl, err = LoadUnlabelled(spec.Unlabelled); err != nil {
			return nil, nil, err
		}
		for _, s := range unl {
			if err := sizeErr("unlabelled", s); err != nil {
				return nil, nil, err
			}
			// An empty mask keeps the batcher's checks; the loss never
			// reads it (its rows get the teacher's term only).
			s.Mask = tensor.New(1, in[1], in[2])
			train = append(train, s)
		}
	}
	return train, unl, nil
}

// resumeStudent loads the student in spec.Out to resume it: it must have
// been distilled with meta (the teacher's path aside) and trained with
// run. opts takes its learning-rate schedule and must not contradict its
// precision.
func resumeStudent(b kernels.Backend, spec DistillSpec, meta DistillMeta, run ckpt.RunInfo, opts *unet.TrainOptions) (*unet.Loaded, error) {
	c, err := ckpt.Read(spec.Out)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	var was DistillMeta
	if err := c.GetMeta(DistillMetaKey, &was); err != nil {
		return nil, fmt.Errorf("resume: %s is not a distilled student: %w", spec.Out, err)
	}
	was.Teacher = meta.Teacher // the same file (by hash) may be named differently
	if was != meta {
		return nil, fmt.Errorf("resume: %s was distilled with %+v, this run asks for %+v", spec.Out, was, meta)
	}
	loaded, err := unet.FromCheckpoint(spec.Out, c, b)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	if loaded.Meta.Run != run {
		return nil, fmt.Errorf("resume: %s was trained with %+v, this run asks for %+v", spec.Out, loaded.Meta.Run, run)
	}
	opts.LR, opts.WarmupEpochs, opts.WarmupFrom = loaded.Meta.Train.LR, loaded.Meta.Train.WarmupEpochs, loaded.Meta.Train.WarmupFrom
	var conflict error
	opts.Precision = keepPrecision(&conflict, opts.Precision, loaded.Meta.Train.Precision)
	if conflict != nil {
		return nil, fmt.Errorf("resume %s: %w", spec.Out, conflict)
	}
	return loaded, nil
}

// newStudent builds the student spec.Student names (studentConfig): it
// must have the teacher's classes and take the teacher's input; it starts
// from the teacher's network's weights, or new weights from spec.Seed.
func newStudent(b kernels.Backend, spec DistillSpec, tc *Teacher) (*unet.Model, error) {
	in := tc.S.Meta.Input
	cfg, weights, inf, err := studentConfig(spec.Student, tc)
	if err != nil {
		return nil, err
	}
	if cfg.NumClasses != tc.S.A.Config.NumClasses {
		return nil, fmt.Errorf("student has %d output classes, the teacher %d", cfg.NumClasses, tc.S.A.Config.NumClasses)
	}
	if cfg.InChannels != in[0] {
		return nil, fmt.Errorf("student takes %d input channels, the teacher's images have %d", cfg.InChannels, in[0])
	}
	if err := cfg.CheckInput(in[0], in[1], in[2]); err != nil {
		return nil, fmt.Errorf("student: %w", err)
	}
	m, err := unet.NewModel(b, cfg, spec.Seed)
	if err != nil {
		return nil, fmt.Errorf("student: %w", err)
	}
	if weights != nil {
		if err := m.Params.Load(weights); err != nil {
			return nil, fmt.Errorf("student: %w", err)
		}
		if inf != nil {
			cp := *inf
			m.Inference = &cp
		}
	}
	return m, nil
}

// fitStudent trains the student m with tr on train (validating on part's
// validation images when spec.Validate), saving it with meta to spec.Out
// after every epoch and when ctx is cancelled (then returning an error
// that says where training stopped). A spent budget ends training without
// an error (DistillResult.Stopped).
func fitStudent(ctx context.Context, spec DistillSpec, part *Partition, train []unet.Input, m *unet.Model, tr *unet.Trainer, run ckpt.RunInfo, meta DistillMeta, emit func(DistillEvent)) (*DistillResult, error) {
	save := func() error {
		c, err := m.Checkpoint(tr, run)
		if err != nil {
			return err
		}
		if err := c.SetMeta(DistillMetaKey, meta); err != nil {
			return err
		}
		return ckpt.Write(spec.Out, c)
	}
	tr.Progress = func(p unet.Progress) { emit(DistillEvent{Kind: "step", Progress: p}) }
	tr.OnEpoch = func(tr *unet.Trainer, isBest bool) error {
		if err := save(); err != nil {
			return err
		}
		emit(DistillEvent{Kind: "epoch", Epoch: tr.State.Log[len(tr.State.Log)-1], Best: isBest})
		return nil
	}
	var val []unet.Input
	if spec.Validate {
		val = part.Val
	}
	err := tr.Fit(ctx, train, val)
	res := &DistillResult{Out: spec.Out, Meta: meta, State: tr.State}
	switch {
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		if serr := save(); serr != nil {
			return nil, fmt.Errorf("interrupted, and saving failed: %w", serr)
		}
		return nil, fmt.Errorf("%w at epoch %d, step %d; saved %s, where a resumed run continues", err, tr.State.Epoch+1, tr.State.Iter, spec.Out)
	case errors.Is(err, unet.ErrBudget):
		res.Stopped = err
	case err != nil:
		return nil, err
	}
	return res, nil
}

// distillLoss is the student's loss: T^2 KL(teacher || student) on the
// full-resolution output for every row, plus alpha times the
// deep-supervised Dice + CE on the labelled rows (sample index < nLab),
// weighted by their share of the batch. The teacher sees the very batch
// the student sees (normalised, cropped, augmented).
func distillLoss(tc *Teacher, tt *autograd.Tape, temp, alpha float32, nLab int) unet.LossFunc {
	return func(t *autograd.Tape, x *tensor.Tensor, outs []*autograd.Var, targets []*tensor.Tensor, rows []int) (*autograd.Var, error) {
		defer tt.Reset()
		q, err := tc.S.M.ForwardT(tt, tc.Setting, autograd.Leaf(x, false), temp)
		if err != nil {
			return nil, fmt.Errorf("teacher: %w", err)
		}
		kl, err := t.SoftTargetKL(outs[0], q.Value, temp)
		if err != nil {
			return nil, err
		}
		var lab []int
		for i, r := range rows {
			if r < nLab {
				lab = append(lab, i)
			}
		}
		if alpha == 0 || len(lab) == 0 {
			return kl, nil
		}
		w := nn.DeepSupervisionWeights(len(outs))
		if len(lab) < len(rows) {
			sub := make([]*autograd.Var, len(outs))
			subT := make([]*tensor.Tensor, len(targets))
			for i, o := range outs {
				if w[i] == 0 {
					sub[i], subT[i] = o, targets[i] // skipped by the loss
					continue
				}
				if sub[i], err = t.Rows(o, lab); err != nil {
					return nil, err
				}
				ts := targets[i].Shape
				if subT[i], err = t.Arena().Get(len(lab), ts[1], ts[2], ts[3]); err != nil {
					return nil, err
				}
				if err := t.CopyRows(subT[i], targets[i], lab); err != nil {
					return nil, err
				}
			}
			outs, targets = sub, subT
		}
		sup, err := nn.DeepSupervisedDiceCE(t, outs, targets, w)
		if err != nil {
			return nil, err
		}
		share := float32(len(lab)) / float32(len(rows))
		return t.WeightedSum([]*autograd.Var{kl, sup}, []float32{1, alpha * share})
	}
}

// ReadDistillMeta returns the distillation record of a student checkpoint.
func ReadDistillMeta(path string) (*DistillMeta, error) {
	c, err := ckpt.Read(path)
	if err != nil {
		return nil, err
	}
	var m DistillMeta
	if err := c.GetMeta(DistillMetaKey, &m); err != nil {
		return nil, fmt.Errorf("%s: not a distilled student: %w", path, err)
	}
	return &m, nil
}
