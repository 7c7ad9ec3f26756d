package experiment_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"suture/experiment"
	"suture/kernels"
	"suture/kernels/cpu"
)

// A data spec names a folder or the embedded synthetic data
// ("synth:PARTY[:N[:SIZE[:SEED]]]"); Split cuts it into the paper's six
// parts: per fold four for training, one for validation, and the held-out
// test part.
func ExampleSplit() {
	ds, err := experiment.LoadData("synth:a:60:16", 0) // 60 images of 16 px
	if err != nil {
		log.Fatal(err)
	}
	for fold := range 2 {
		p, err := experiment.Split(ds, 1, fold) // split seed 1
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("fold %d: train %d, val %d (first %s), test %d (first %s)\n",
			fold, len(p.Train), len(p.Val), p.Val[0].Name, len(p.Test), p.Test[0].Name)
	}
	// Output:
	// fold 0: train 40, val 10 (first synth-a-00007), test 10 (first synth-a-00004)
	// fold 1: train 40, val 10 (first synth-a-00001), test 10 (first synth-a-00004)
}

// Run a trimmed quick plan (one fold, four approaches, tiny networks on
// 16-pixel synthetic images) into a results folder and write its report.
// RunPlan resumes where a killed run stopped; `suture experiment run` and
// `suture experiment report` do the same from the command line.
func ExampleRunPlan() {
	p := experiment.QuickPlan("example", "synth:a", "synth:b")
	p.Folds = []int{0}
	p.Approaches = []string{experiment.ApA, experiment.ApB, experiment.ApEns, experiment.ApStitchA}

	dir, err := os.MkdirTemp("", "experiment-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	results, report := filepath.Join(dir, "results"), filepath.Join(dir, "report")
	oneThread := func() (kernels.Backend, error) { return cpu.New(1), nil }
	err = experiment.RunPlan(context.Background(), p, results, experiment.RunOptions{Workers: 1, Backend: oneThread})
	if err != nil {
		log.Fatal(err)
	}
	_, jobs, err := experiment.Status(results)
	if err != nil {
		log.Fatal(err)
	}
	done := 0
	for _, j := range jobs {
		if j.State == "done" {
			done++
		}
	}
	fmt.Printf("%d of %d jobs done\n", done, len(jobs))

	res, err := experiment.Report(results, report)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range res.Files {
		fmt.Println(filepath.Base(f))
	}
	md, err := os.Open(filepath.Join(report, "report.md"))
	if err != nil {
		log.Fatal(err)
	}
	defer md.Close()
	sc := bufio.NewScanner(md)
	sc.Scan()
	fmt.Println(sc.Text())
	// Output:
	// 13 of 13 jobs done
	// report.md
	// fig6-dice.png
	// fig6-hd95.png
	// fig9-a-dice.png
	// fig9-a-hd95.png
	// fig9-b-dice.png
	// fig9-b-hd95.png
	// fig7-a-dice.png
	// fig7-a-hd95.png
	// timings.md
	// # Evaluation report: plan "example"
}
