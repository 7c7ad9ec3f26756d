package experiment

import (
	"context"
	"path/filepath"
	"testing"

	"suture/kernels/cpu"
	"suture/unet"
)

func tinyOpts(epochs int) unet.TrainOptions {
	o := unet.DefaultTrainOptions()
	o.Epochs, o.ItersPerEpoch, o.BatchSize = epochs, 2, 4
	return o
}

func sameWeights(t *testing.T, pa, pb string) {
	t.Helper()
	a, err := unet.Load(pa, cpu.New(1))
	if err != nil {
		t.Fatal(err)
	}
	b, err := unet.Load(pb, cpu.New(1))
	if err != nil {
		t.Fatal(err)
	}
	ha, _ := a.Model.Params.Host()
	hb, _ := b.Model.Params.Host()
	for i, p := range a.Model.Params.Params {
		for j, v := range ha[i].Data {
			if v != hb[i].Data[j] {
				t.Fatalf("%s[%d]: %v against %v (not bitwise equal)", p.Name, j, v, hb[i].Data[j])
			}
		}
	}
}

// TestFedAvgSameDataMatchesPlainTraining: both parties hold the same data
// and use the seed of a plain training run for their batches; then every
// round both compute the same weights, their average (weights 1/2 each,
// summed in float64) is exactly those weights, and federated averaging
// equals plain training bit for bit (docs/evaluation.md).
func TestFedAvgSameDataMatchesPlainTraining(t *testing.T) {
	dir := t.TempDir()
	data := "synth:a:36:16"
	b := cpu.New(1)
	plain, err := Train(context.Background(), b, TrainSpec{Dir: filepath.Join(dir, "plain"), Data: []string{data}, Seed: 5,
		Opts: tinyOpts(3), Features: []int{4, 8}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fed, err := FedAvg(context.Background(), b, FedSpec{Dir: filepath.Join(dir, "fed"), Data: [2]string{data, data}, Seed: 5,
		Seeds: [2]uint64{5, 5}, Opts: tinyOpts(3), Features: []int{4, 8}, Weighting: "samples"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameWeights(t, plain.Last, fed.Last)

	// With different party data the average is a real mix: not party a's
	// plain training.
	mixed, err := FedAvg(context.Background(), b, FedSpec{Dir: filepath.Join(dir, "mixed"), Data: [2]string{data, "synth:b:36:16"},
		Seed: 5, Seeds: [2]uint64{5, 5}, Opts: tinyOpts(3), Features: []int{4, 8}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	la, _ := unet.Load(plain.Last, b)
	lm, _ := unet.Load(mixed.Last, b)
	fa, _ := la.Model.Fingerprint()
	fm, _ := lm.Model.Fingerprint()
	if fa == fm {
		t.Error("federated averaging over different data gave party a's plain training")
	}
}

// TestFedAvgResumes: a run interrupted after a round and resumed ends with
// the weights of an uninterrupted run.
func TestFedAvgResumes(t *testing.T) {
	dir := t.TempDir()
	spec := FedSpec{Data: [2]string{"synth:a:36:16", "synth:b:36:16"}, Seed: 3, Seeds: [2]uint64{4, 5}, Opts: tinyOpts(3), Features: []int{4, 8}}
	full := spec
	full.Dir = filepath.Join(dir, "full")
	if _, err := FedAvg(context.Background(), cpu.New(1), full, nil); err != nil {
		t.Fatal(err)
	}
	part := spec
	part.Dir = filepath.Join(dir, "part")
	ctx, cancel := context.WithCancel(context.Background())
	rounds := 0
	_, err := FedAvg(ctx, cpu.New(1), part, func(e TrainEvent) {
		if e.Kind == "epoch" {
			if rounds++; rounds == 2 {
				cancel()
			}
		}
	})
	if err == nil {
		t.Fatal("the interrupted run reported success")
	}
	if _, err := FedAvg(context.Background(), cpu.New(1), part, nil); err == nil {
		t.Fatal("a second run into the folder was not refused")
	}
	part.Resume = true
	res, err := FedAvg(context.Background(), cpu.New(1), part, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.State.Epoch != 3 {
		t.Fatalf("resumed run ended at round %d", res.State.Epoch)
	}
	sameWeights(t, filepath.Join(full.Dir, "last.ckpt"), res.Last)
}
