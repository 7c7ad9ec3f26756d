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
.PHONY: ptx ptx-check gpu-bin test-emu test-emu-asan

# Regenerate kernels/cuda/kernels.ptx from the .cu sources (needs nvcc);
# commit the result: building needs no nvcc.
ptx:
	kernels/cuda/ptx.sh build

# Check that kernels.ptx was generated from the current sources (no nvcc).
ptx-check:
	kernels/cuda/ptx.sh check

# Test and benchmark binary of the cuda backend for a GPU machine without Go,
# with the PyTorch comparison script beside it (carry bin/gpu there).
gpu-bin:
	mkdir -p bin/gpu
	$(GO) test -c -tags cuda -o bin/gpu/cuda.test ./kernels/cuda
	cp kernels/cuda/torch_gpu_bench.py bin/gpu/

# The CUDA kernels on the CPU emulator, the launch code's own tests, and the
# profiler's device times (events around each launch) on the emulator.
test-emu:
	$(GO) test -count=1 -timeout 20m -tags cudaemu ./kernels/emu/ ./kernels/cuda/... ./bench/profile/

# The same under AddressSanitizer; DWARF is kept so reports name the .cu line.
test-emu-asan:
	$(GO) test -count=1 -timeout 20m -asan -ldflags='-s=false -w=false -compressdwarf=false' -tags cudaemu ./kernels/emu/
