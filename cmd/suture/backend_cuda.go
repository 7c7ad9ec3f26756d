//go:build cuda

package main

import _ "suture/kernels/cuda" // registers the cuda backend in -tags cuda builds
