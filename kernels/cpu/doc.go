// Package cpu is Suture's always-built, pure-Go backend.
//
// Every op has a plain reference (files ref_*.go): straight loops, no
// goroutines, no unsafe, written to be read. The registered backend "cpu-ref"
// runs only those. The backend "cpu" runs the fast path where one exists
// (packed SGEMM, GEMM-based convolutions, work split over the cores) and the
// reference elsewhere; tests cross-check the two on random data.
//
// As everywhere in Suture: forward ops overwrite outputs, backward ops
// accumulate (+=) into gradients.
package cpu
