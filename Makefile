# Timbre — two commands on a fresh Debian bookworm machine, as root:
#   make run    set up what is missing (scripts/setup), build, migrate, serve
#   make test   set up what is missing, go vet, go test
# Both are idempotent; `make help` lists every target.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
# Prerequisites run in the order written (setup before build before serve).
.NOTPARALLEL:

# Go is usually installed in /usr/local/go; keep working when it is not on PATH.
export PATH := $(PATH):/usr/local/go/bin
GO ?= go

export TIMBRE_DATABASE_URL ?= postgres://timbre:timbre@127.0.0.1:5432/timbre?sslmode=disable
export TIMBRE_TEST_DATABASE_URL ?= $(TIMBRE_DATABASE_URL)
export TIMBRE_DATA_DIR ?= $(CURDIR)/.data

BIN := bin/timbre
# `timbre version` prints this.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Packages built and tested in parallel: the machines have 2 cores.
TEST_PARALLEL ?= 2
TEST_TIMEOUT ?= 30m
TEST_FLAGS ?=
BENCH_FLAGS ?= -benchmem
# Directories under bench/ that hold a main package; `make bench` runs each.
BENCH_PROGRAMS = $(sort $(patsubst %/,%,$(dir $(shell grep -l -s -x 'package main' bench/*.go bench/*/*.go))))

.PHONY: help setup build run migrate serve test vet fmt bench clean

help: ## list the targets
	@echo "Timbre make targets (TIMBRE_DATABASE_URL=$(TIMBRE_DATABASE_URL)):"
	@grep -E '^[a-z]+:.*## ' $(firstword $(MAKEFILE_LIST)) | \
		awk 'BEGIN { FS = ":.*## " } { printf "  make %-8s %s\n", $$1, $$2 }'

setup: ## install and start what is missing (PostgreSQL, pgvector, database, word vectors); needs root
	@echo "make setup: scripts/setup"
	@scripts/setup
	@scripts/setup-embeddings
	@scripts/setup-node-clients
	@scripts/setup-voices
	@scripts/setup-vad

# The voices run on sherpa-onnx's shared libraries. They are copied to bin/lib
# and the binary looks there first ($ORIGIN/lib), so bin/ can move to another
# machine with no Go module cache.
SHERPA_LIB = $(shell $(GO) list -m -f '{{.Dir}}' github.com/k2-fsa/sherpa-onnx-go-linux 2>/dev/null)/lib/x86_64-unknown-linux-gnu

build: ## build bin/timbre (and bin/lib, the speech engine's shared libraries)
	@echo "make build: $(GO) build -o $(BIN) ./cmd/timbre (version $(VERSION))"
	@$(GO) build -ldflags '$(LDFLAGS) -extldflags "-Wl,-rpath,$$ORIGIN/lib"' -o $(BIN) ./cmd/timbre
	@mkdir -p bin/lib && cp -u $(SHERPA_LIB)/libsherpa-onnx-c-api.so $(SHERPA_LIB)/libonnxruntime.so bin/lib/

run: setup build ## set up, build, migrate, then serve (prints the URL it listens on)
	@echo "make run: $(BIN) migrate"
	@$(BIN) migrate
	@echo "make run: exec $(BIN) serve (data in $(TIMBRE_DATA_DIR))"
	@exec $(BIN) serve

migrate: build ## apply database migrations (no setup)
	@echo "make migrate: $(BIN) migrate"
	@$(BIN) migrate

serve: build ## serve without setup or migrations
	@echo "make serve: exec $(BIN) serve"
	@exec $(BIN) serve

GO_TEST = $(strip $(GO) test -p $(TEST_PARALLEL) -count=1 -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) ./...)

test: setup vet ## set up, go vet, then run every test against the local database
	@echo "make test: $(GO_TEST)"
	@$(GO_TEST)

vet: ## go vet ./...
	@echo "make vet: $(GO) vet ./..."
	@$(GO) vet ./...

fmt: ## gofmt every Go file in the repository
	@echo "make fmt: gofmt -w (all .go files)"
	@find . -name '*.go' -not -path './.git/*' -not -path './.data/*' -not -path '*/node_modules/*' -print0 | \
		xargs -0 -r gofmt -w

bench: ## run the Go benchmarks, then every program under bench/
	@echo "make bench: $(GO) test -run='^$$' -bench=. $(BENCH_FLAGS) ./..."
	@$(GO) test -run='^$$' -bench=. $(BENCH_FLAGS) ./...
	@for prog in $(BENCH_PROGRAMS); do \
		echo "make bench: $(GO) run ./$$prog"; \
		$(GO) run ./$$prog; \
	done

clean: ## remove build outputs (bin/, test binaries, coverage); keeps .data/
	@echo "make clean: rm -rf bin/ *.test coverage files; go clean -testcache"
	@rm -rf bin/ ./*.test coverage.out coverage.html cover.out
	@$(GO) clean -testcache
