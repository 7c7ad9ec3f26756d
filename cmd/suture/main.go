// Command suture trains, stitches, evaluates and benchmarks segmentation
// networks. Run `suture help` for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// exitInterrupted is the exit status after Ctrl-C (128 + SIGINT).
const exitInterrupted = 130

type command struct {
	name, args, help string
	run              func(ctx context.Context, args []string, out io.Writer) error
}

func commands() []command {
	return []command{
		{"demo", "[--quick]", "the whole story on the embedded synthetic data", runDemo},
		{"train", "--data DIR --out RUNDIR", "train a U-Net (nnU-Net defaults)", runTrain},
		{"eval", "--model CKPT --data DIR", "Dice and HD95 of a U-Net or a stitched network", runEval},
		{"predict", "--model CKPT --in IMAGE|DIR --out MASK.png|DIR", "segment images (nnU-Net's sliding window)", runPredict},
		{"score", "--pred DIR --ref DIR", "Dice and HD95 of any predicted masks against reference masks", runScore},
		{"data", "synth --party a|b --n N --size S --out DIR", "write the synthetic data as a folder pair", runData},
		{"stitch", "--a CKPT --b CKPT --data DIR --out STITCHED.ckpt", "train stitches; also: stitch info|sweep|sample|rq1", runStitch},
		{"distill", "--teacher STITCHED.ckpt --net stitch-ensemble:K --data DIR --out STUDENT.ckpt", "train one U-Net on a stitch-ensemble's soft outputs", runDistill},
		{"experiment", "plan|estimate|run|status|report ...", "the paper's evaluation: a plan of jobs, estimated, run, resumed, reported", runExperiment},
		{"queue", "serve --listen HOST:PORT --store DIR", "a NATS server with JetStream for `experiment run --queue` and workers", runQueue},
		{"worker", "--queue URL --party a=DIR [--party b=DIR]", "run a queue's jobs on this site's data (its data never leaves)", runWorker},
		{"compare", "--ref CSV --alt NAME=CSV ...", "paired Wilcoxon tests of per-sample scores, Holm-adjusted", runCompare},
		{"bench", "[--case PREFIX] [--json] [--vs-torch]", "time the training path (and PyTorch's)", runBench},
		{"profile", "--case CASE [--steps N] [--json] [--trace T.json]", "per-op, per-vertex and per-phase profile of a training step", runProfile},
		{"import", "nnunet RESULTS_DIR --fold K --out MODEL.ckpt", "import an nnU-Net v2 model; also: import safetensors FILE", runImport},
		{"export", "safetensors --model CKPT --out M.safetensors", "export a U-Net; also: export network (a stitched model's network alone)", runExport},
		{"forward", "--model CKPT --in X.npy --out Y.npy", "the raw network on a normalised NCHW .npy (parity checks)", runForward},
	}
}

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }

// run runs the command line args until it ends, ctx ends or Ctrl-C, and
// returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errInterrupted):
			fmt.Fprintln(stderr, "suture:", err)
			return exitInterrupted
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "suture %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "suture %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "suture: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: suture <command> [flags]   (suture <command> -h for its flags)\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %-50s %s\n", c.name, c.args, c.help)
	}
}

var (
	errUsage       = errors.New("usage")
	errInterrupted = errors.New("interrupted")
)

// usageErr marks an error as a command-line mistake (exit status 2).
func usageErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
}

// newFlags makes a flag set that reports errors instead of exiting. It
// prints nothing itself: a mistake is reported once, by run, and -h prints
// the flags to out (parse).
func newFlags(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("suture "+name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {}
	return fs
}

// parse parses flags, rejects stray arguments and names the first of the
// required string flags left empty; -h prints the flags.
func parse(fs *flag.FlagSet, args []string, required ...string) error {
	if err := parseOnce(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	return requireFlags(fs, required)
}

// parseOnce parses args up to the first one that is not a flag; -h prints
// the flags.
func parseOnce(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(out, "Usage of %s:\n", fs.Name())
		fs.PrintDefaults()
		return err
	} else if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// parsePositional parses flags that may come before, between or after n
// positional arguments (what names them), and returns the positionals;
// errors, -h and required flags as in parse.
func parsePositional(fs *flag.FlagSet, args []string, n int, what string, required ...string) ([]string, error) {
	var pos []string
	for {
		if err := parseOnce(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) != n {
		return nil, usageErr("want %s (got %d arguments besides flags)", what, len(pos))
	}
	return pos, requireFlags(fs, required)
}

// requireFlags names the first of the string flags given that is empty.
func requireFlags(fs *flag.FlagSet, names []string) error {
	for _, name := range names {
		if fs.Lookup(name).Value.String() == "" {
			return usageErr("--%s is required", name)
		}
	}
	return nil
}

// require names the first missing required string flag, in the order
// given: require("data", *data, "out", *out).
func require(nameValues ...string) error {
	for i := 0; i+1 < len(nameValues); i += 2 {
		if nameValues[i+1] == "" {
			return usageErr("--%s is required", nameValues[i])
		}
	}
	return nil
}
