package main

import (
	"flag"

	"suture/kernels"
)

// The flag groups that several job commands share.

// forceFlag adds --force to a command that refuses to replace a file that
// is not its own kind of output (output.go).
func forceFlag(fs interface {
	Bool(name string, value bool, usage string) *bool
}) *bool {
	return fs.Bool("force", false, forceUsage)
}

const forceUsage = "replace an existing output that is not this command's own kind of file"

// runFlags are the flags a training command (train, stitch, distill) has
// for its data and its output: the dataset and its size, the fold and the
// seed of the six-part split, --resume or --force, and --precision.
type runFlags struct {
	data, precision *string
	size, fold      *int
	splitSeed       *uint64
	resume, force   *bool
}

// addRunFlags adds the runFlags to fs with the usages that differ between
// the commands.
func addRunFlags(fs *flag.FlagSet, dataUsage, foldUsage, sizeUsage, resumeUsage, forceHelp string) *runFlags {
	return &runFlags{
		data:      fs.String("data", "", dataUsage),
		size:      fs.Int("size", 0, sizeUsage),
		fold:      fs.Int("fold", 0, foldUsage),
		splitSeed: fs.Uint64("split-seed", 0, "seed of the six-part split"),
		resume:    fs.Bool("resume", false, resumeUsage),
		force:     fs.Bool("force", false, forceHelp),
		precision: fs.String("precision", "fp32", precisionUsage),
	}
}

// check refuses --resume with --force and returns --precision.
func (r *runFlags) check() (kernels.Precision, error) {
	if *r.resume && *r.force {
		return "", usageErr("--resume and --force exclude each other")
	}
	p, err := kernels.ParsePrecision(*r.precision)
	if err != nil {
		return "", usageErr("--precision: %v", err)
	}
	return p, nil
}

// runSetting is a flag's value and the resumed run's value of its setting.
type runSetting struct {
	flag       string
	given, run any
}

// sameAsRun checks that each flag given on the command line repeats the
// resumed run's setting.
func sameAsRun(fs *flag.FlagSet, what string, settings []runSetting) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, s := range settings {
		if given[s.flag] && s.given != s.run {
			return usageErr("--%s %v contradicts the run in %s (%v); a resumed run keeps every setting of its checkpoint, so leave --%s out",
				s.flag, s.given, what, s.run, s.flag)
		}
	}
	return nil
}
