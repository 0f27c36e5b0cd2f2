# kcmpgraph — see README.md. Linux only.
GO        ?= go
BIN       ?= bin/kcmpgraph
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK ?= $(shell command -v staticcheck 2>/dev/null || echo $$($(GO) env GOPATH)/bin/staticcheck)
FUZZTIME  ?= 30s
OUT       ?= sharing.svg

.PHONY: all build run test lint vet fmt-check staticcheck fuzz bench bench-serve vendor clean

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

# The pan/zoom library the web view embeds (graphout/webview/assets/vendor): the
# pinned npm release, fetched with npm pack into a temporary directory;
# the tarball's integrity and the file's checksum must match VERSION.
PANZOOM_VERSION   := 3.6.2
PANZOOM_INTEGRITY := sha512-JwnvRWfVKw/Xzfe6jriFyfey/lWJLq4bUh2jwoR5ChWQuQoOH8FEh1l/bEp46iHHKHEJWIyFJETbazraxNWECg==
PANZOOM_SHA256    := 9c8fc41b3359e699990766dd7a943595d234a80c880a90dfc14b920a273b99d8
PANZOOM_DIR       := graphout/webview/assets/vendor/svg-pan-zoom
vendor:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	(cd "$$tmp" && npm pack --silent svg-pan-zoom@$(PANZOOM_VERSION) >/dev/null); \
	got="sha512-$$(openssl dgst -sha512 -binary $$tmp/svg-pan-zoom-$(PANZOOM_VERSION).tgz | base64 -w0)"; \
	test "$$got" = "$(PANZOOM_INTEGRITY)" || { echo "svg-pan-zoom tarball: $$got, want $(PANZOOM_INTEGRITY)"; exit 1; }; \
	tar -xzf $$tmp/svg-pan-zoom-$(PANZOOM_VERSION).tgz -C "$$tmp"; \
	echo "$(PANZOOM_SHA256)  $$tmp/package/dist/svg-pan-zoom.min.js" | sha256sum -c --quiet; \
	cp $$tmp/package/dist/svg-pan-zoom.min.js $$tmp/package/LICENSE $(PANZOOM_DIR)/; \
	echo "vendored svg-pan-zoom $(PANZOOM_VERSION) in $(PANZOOM_DIR)"

SCANS ?= 200

# kcmpgraph serve on a live PROCS x FDS forest: SCANS scans back to back
# (serve's hidden --bench.back-to-back), CPU per scan and per scrape, the
# average CPU at a 60 s interval and within the default --cpu-budget (2%),
# and RSS over the run; appended to BENCHMARKS.md.
bench-serve: build
	$(GO) run ./internal/bench -procs $(PROCS) -fds $(FDS) -serve $(SCANS) -kcmpgraph $(BIN) -o BENCHMARKS.md

clean:
	rm -rf bin $(OUT)
