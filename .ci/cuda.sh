#!/usr/bin/env bash
# CUDA checks on a machine without a GPU (called by .ci/run):
#   1. the CUDA toolkit (cuda.h, libcuda, nvcc) from Debian's non-free
#      component, installed only when missing;
#   2. the committed PTX matches its .cu sources and the sm_90 cubin that PTX
#      (make ptx-check, no nvcc); ptxas compiles the PTX for sm_80 and sm_90;
#   3. the cuda-tagged build and vet (gorgonia.org/cu needs cuda.h/libcuda);
#   4. the GPU kit (make gpu-kit, at most 64 MiB): without a GPU its
#      gpu-check.sh must end in RESULT: FAIL naming the missing GPU (instead
#      of gorgonia.org/cu ending the process, or a check that passes by
#      skipping everything);
#   5. the kernels on the CPU emulator, and again under AddressSanitizer;
#   6. gpu-check.sh on the emulator kit: RESULT: PASS, and RESULT: FAIL
#      naming the kernel broken on purpose (make gpu-check-emu).
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

step "PTX matches its sources, ptxas compiles it for sm_80 and sm_90"
make --no-print-directory ptx-check
make --no-print-directory ptxas-check

step "go build -tags cuda ./... and go vet -tags cuda ./kernels/cuda/..."
go build -tags cuda ./...
go vet -tags cuda ./kernels/cuda/...

step "the GPU kit on a machine without a GPU"
go test -count=1 -tags cuda -run '^(TestNoGPUErrorIsClear|TestChooseImages)$' -v ./kernels/cuda/ | grep -E 'without a GPU|GPU present|^(ok|FAIL|---)'
make --no-print-directory gpu-kit
set +e
OUT=$(mktemp -d) bin/gpu/gpu-check.sh --budget 120 >bin/gpu-check-nogpu.log 2>&1
rc=$?
set -e
last=$(tail -1 bin/gpu-check-nogpu.log)
echo "$last"
if [ $rc -ne 1 ] || [ "${last#RESULT: FAIL: device: }" = "$last" ] || [ "${last#*no usable NVIDIA GPU}" = "$last" ]; then
	cat bin/gpu-check-nogpu.log
	echo "cuda.sh: gpu-check.sh without a GPU: exit $rc; want exit 1 and RESULT: FAIL naming the missing GPU" >&2
	exit 1
fi

step "kernels on the CPU emulator"
make --no-print-directory test-emu

step "kernels on the CPU emulator under AddressSanitizer"
make --no-print-directory test-emu-asan

step "gpu-check.sh on the emulator kit (make gpu-check-emu)"
make --no-print-directory gpu-check-emu

step "done"
