# kcmpgraph — see README.md. Linux only.
GO        ?= go
BIN       ?= bin/kcmpgraph
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK ?= $(shell command -v staticcheck 2>/dev/null || echo $$($(GO) env GOPATH)/bin/staticcheck)
FUZZTIME  ?= 30s
OUT       ?= sharing.svg

.PHONY: all build run test lint vet fmt-check staticcheck fuzz bench clean

all: build

# One static binary (no cgo): it runs in any container or minimal host it
# is copied to, and starts 2 MB smaller (no libc, no relocated data). User
# names come from /etc/passwd (Go's own reader), not from NSS: a uid known
# only to LDAP or sssd prints as its number. SVG rendering is built in.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kcmpgraph

# Scan this host and write the sharing diagram.
run: build
	$(BIN) graph -o $(OUT)
	@echo "kcmpgraph: wrote $(abspath $(OUT)) (open it in a browser)"

# All tests: vet, formatting, staticcheck, then every test with the race detector.
test: lint
	$(GO) test -race -count=1 -timeout 20m ./...

lint: vet fmt-check staticcheck

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

staticcheck:
	@test -x "$(STATICCHECK)" || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(STATICCHECK) ./...

# Run every fuzz target for FUZZTIME each; new crashers land in testdata/fuzz.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

PROCS ?= 1000
FDS   ?= 100
RUNS  ?= 5

# A live forest of PROCS x FDS scanned by kcmpgraph, lsof, lsfd, a C floor
# and an ideal exact C scan, interleaved RUNS times; results are appended to
# BENCHMARKS.md.
# Then the Go benchmarks of the hot paths.
bench: build
	@command -v lsof >/dev/null && command -v lsfd >/dev/null || { apt-get update -qq && apt-get install -y -qq lsof util-linux; }
	$(GO) run ./internal/bench -procs $(PROCS) -fds $(FDS) -runs $(RUNS) -kcmpgraph $(BIN) -o BENCHMARKS.md
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin $(OUT)
