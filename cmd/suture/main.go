// Command suture trains, stitches, evaluates and benchmarks segmentation
// networks. Run `suture help` for the subcommands.
package main

import (
	"fmt"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage()
		return 0
	}
	switch args[0] {
	case "demo":
		fmt.Println("suture demo: the engine core is being built; the U-Net and stitching jobs are not in this build yet.")
		return 0
	default:
		fmt.Fprintf(os.Stderr, "suture: unknown command %q\n", args[0])
		usage()
		return 2
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: suture <command> [flags]

commands:
  demo     run the main job on the embedded synthetic data`)
}
