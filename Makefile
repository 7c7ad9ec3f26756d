# Suture: the two commands a new user needs are `make demo` and `make test`.
GO      ?= go
PKGS    := ./...
BIN     := bin/suture

.PHONY: all build demo demo-cluster test lint bench fmt clean fuzz

all: build

build:
	$(GO) build -o $(BIN) ./cmd/suture

# The main job on the embedded synthetic data.
demo: build
	./$(BIN) demo

# The --quick experiment through a NATS JetStream queue: `suture queue
# serve` and one worker per party on this machine (cluster/demo.sh).
demo-cluster: build
	BIN=$(BIN) cluster/demo.sh

test:
	$(GO) test -count=1 -timeout 40m $(PKGS)

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fmt:
	gofmt -w .

# A bounded run of every fuzz target of the readers of untrusted files
# (PyTorch pickles and archives, .npy, safetensors, Suture checkpoints).
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzUnpickle$$' -fuzztime $(FUZZTIME) ./io/pth/
	$(GO) test -run '^$$' -fuzz '^FuzzArchive$$' -fuzztime $(FUZZTIME) ./io/pth/
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) ./io/npy/
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) ./io/safetensors/
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./io/ckpt/

# Kernel benchmarks (go test -bench: the benchmark U-Net's conv layers,
# forward and backward, GFLOP/s) and the end-to-end cases of `suture bench`.
# `./bin/suture bench --vs-torch` adds PyTorch's figures from the same run.
bench: build
	$(GO) test -run '^$$' -bench 'CPU/(gemm|conv2d)/|Sgemm/asm/1024|Conv3x3/|Conv1x1/' -benchtime 3x ./kernels/cpu/
	./$(BIN) bench

clean:
	rm -rf bin

# ---- CUDA kernels (docs/gpu.md) ----
.PHONY: ptx ptx-check ptxas-check gpu-kit gpu-kit-emu gpu-check-emu test-emu test-emu-asan

# Regenerate kernels/cuda/kernels.ptx and kernels_sm90.cubin from the .cu
# sources (needs nvcc); commit the results: building needs no nvcc.
ptx:
	kernels/cuda/ptx.sh build

# Check that kernels.ptx was generated from the current sources and the
# cubin from that PTX (no nvcc).
ptx-check:
	kernels/cuda/ptx.sh check

# Compile kernels.ptx with ptxas for sm_80 and sm_90, as a driver's JIT would
# (needs ptxas).
ptxas-check:
	kernels/cuda/ptx.sh ptxas

# The GPU kit, for a GPU machine without Go (carry bin/gpu there and run
# bin/gpu/gpu-check.sh; docs/gpu.md): the check's test binary, a cuda-tagged
# suture, the PyTorch GPU script and gpu-check.sh, at most 64 MiB.
GPU_KIT_MAX_BYTES := 67108864
define build-kit
	rm -rf $(1) && mkdir -p $(1)
	$(GO) test -c -tags $(2) -ldflags='-s -w' -o $(1)/gpucheck.test ./kernels/cuda/gpucheck
	$(GO) build -tags $(2) -ldflags='-s -w' -o $(1)/suture ./cmd/suture
	cp kernels/cuda/torch_gpu_bench.py kernels/cuda/gpucheck/gpu-check.sh $(1)/
	printf 'backend=%s\nprofile=%s\ncommit=%s\n' $(3) $(4) \
		"$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$$(git status --porcelain 2>/dev/null | grep -q . && echo -dirty)" >$(1)/kit.env
	@size=$$(du -sb $(1) | cut -f1); echo "$(1): $$size bytes"; \
		if [ $$size -gt $(GPU_KIT_MAX_BYTES) ]; then echo "$(1) is over 64 MiB" >&2; exit 1; fi
endef

gpu-kit:
	$(call build-kit,bin/gpu,cuda,cuda,full)

# The same kit on the CPU emulator (backend cudaemu, small sizes).
gpu-kit-emu:
	$(call build-kit,bin/gpu-emu,cudaemu,cudaemu,emu)

# gpu-check.sh on the emulator kit: it must pass, and fail naming the kernel
# when one is broken on purpose (kernels/cuda/gpucheck/script_test.go).
gpu-check-emu: gpu-kit-emu
	SUTURE_GPU_KIT=$(CURDIR)/bin/gpu-emu $(GO) test -count=1 -timeout 20m -tags cudaemu -run '^TestCheckScript' -v ./kernels/cuda/gpucheck/

# The CUDA kernels on the CPU emulator, the launch code's own tests, and the
# profiler's device times (events around each launch) on the emulator.
test-emu:
	$(GO) test -count=1 -timeout 20m -tags cudaemu ./kernels/emu/ ./kernels/cuda/... ./bench/profile/

# The same under AddressSanitizer (the emulator's tests and the training
# steps of the GPU check); DWARF is kept so reports name the .cu line.
ASAN_FLAGS := -count=1 -timeout 20m -asan -ldflags='-s=false -w=false -compressdwarf=false' -tags cudaemu
test-emu-asan:
	$(GO) test $(ASAN_FLAGS) ./kernels/emu/
	$(GO) test $(ASAN_FLAGS) -run '^TestSteps$$' ./kernels/cuda/gpucheck/
