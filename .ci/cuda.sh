#!/usr/bin/env bash
# CUDA checks on a machine without a GPU (called by .ci/run):
#   1. the CUDA toolkit (cuda.h, libcuda, nvcc) from Debian's non-free
#      component, installed only when missing;
#   2. the committed PTX matches its .cu sources (make ptx-check, no nvcc);
#   3. the cuda-tagged build and vet (gorgonia.org/cu needs cuda.h/libcuda);
#   4. the cuda test binary runs here and reports the missing GPU clearly
#      (instead of gorgonia.org/cu ending the process);
#   5. the kernels on the CPU emulator, and again under AddressSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:-} -mod=mod"
start=$SECONDS
step() { echo "== cuda.sh: $* (at $((SECONDS - start)) s)"; }

step "CUDA toolkit"
if ! command -v nvcc >/dev/null || [ ! -f /usr/include/cuda.h ]; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	# nvcc 11.8 and cuda.h come from the contrib and non-free components.
	src=/etc/apt/sources.list.d/debian.sources
	dst=/etc/apt/sources.list.d/debian-nonfree.sources
	if [ -f "$src" ] && [ ! -f "$dst" ]; then
		sed 's/^Components:.*/Components: main contrib non-free/' "$src" | $sudo tee "$dst" >/dev/null
	fi
	$sudo apt-get update -qq
	# Recommends would add the profilers and cuda-gdb (gigabytes); the build
	# needs nvidia-cuda-dev (cuda.h, libcuda) and nvcc.
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nvidia-cuda-toolkit >/dev/null
fi
nvcc --version | tail -1

step "PTX matches its sources"
make --no-print-directory ptx-check

step "go build -tags cuda ./... and go vet -tags cuda ./kernels/cuda/..."
go build -tags cuda ./...
go vet -tags cuda ./kernels/cuda/...

step "cuda test binary on a machine without a GPU"
make --no-print-directory gpu-bin
if ./bin/gpu/cuda.test -test.run '^TestNoGPUErrorIsClear$' -test.v >bin/gpu/nogpu.log 2>&1; then
	grep -E 'without a GPU|GPU present' bin/gpu/nogpu.log
else
	cat bin/gpu/nogpu.log
	echo "cuda.sh: the cuda test binary failed without a GPU (see above)" >&2
	exit 1
fi

step "kernels on the CPU emulator"
make --no-print-directory test-emu

step "kernels on the CPU emulator under AddressSanitizer"
make --no-print-directory test-emu-asan

step "done"
