# Suture: the two commands a new user needs are `make demo` and `make test`.
GO      ?= go
PKGS    := ./...
BIN     := bin/suture

.PHONY: all build demo test lint bench fmt clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/suture

# The main job on the embedded synthetic data.
demo: build
	./$(BIN) demo

test:
	$(GO) test -count=1 -timeout 40m $(PKGS)

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fmt:
	gofmt -w .

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2x ./kernels/cpu/

clean:
	rm -rf bin
