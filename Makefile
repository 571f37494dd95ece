# The commands everyone runs. CI runs .ci/run, which calls the same targets.
# `work` is every package of every module in go.work: the library and
# binaries, examples/, e2e/ and internal/statuspage/browsertest/ (`./...`
# stops at a nested module's go.mod).
GO ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test lint bench bench-http bench-healthprobe bench-slowbody fuzz build e2e fidelity

## test: every test, with the race detector (what the README and CI run)
test:
	$(GO) test -race -count=1 work

## lint: gofmt, go vet, staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet work
	$(GO) run $(STATICCHECK) work

## bench: the Go benchmarks quoted in BENCHMARKS.md
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=5 ./health/...

## bench-http: /readyz against a fixed-bytes handler over loopback with wrk
bench-http:
	scripts/bench-http.sh

## bench-healthprobe: healthprobe's start-to-exit time against curl, and its size
bench-healthprobe:
	scripts/bench-healthprobe.sh

## bench-slowbody: 20,000 slow-body connections against the daemon while a client pings (BENCHMARKS.md)
bench-slowbody:
	scripts/bench-slowbody.sh

## fuzz: each fuzz target for a short while (FUZZTIME, default 30s each); a crasher
## written to testdata/fuzz fails it
FUZZTIME ?= 30s
fuzz:
	@failed=""; for pkg in $$($(GO) list work); do \
	  for f in $$($(GO) test -list='^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "--- $$pkg $$f"; \
	    before=$$(git status --porcelain --untracked-files=all | grep -c testdata/fuzz); \
	    if ! $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg; then \
	      after=$$(git status --porcelain --untracked-files=all | grep -c testdata/fuzz); \
	      if [ "$$after" != "$$before" ]; then failed="$$failed $$pkg.$$f"; \
	      else echo "(no crasher written: the fuzzing engine's end-of-time 'context deadline exceeded', not a finding)"; fi; \
	    fi; \
	  done; \
	done; \
	if [ -n "$$failed" ]; then echo "failed:$$failed"; exit 1; fi

## build: the binaries, static
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/ ./cmd/...

## e2e: the example service in the real Docker engine (HEALTHCHECK, drain, compose, Swarm,
## the watchdog restarting it)
e2e:
	$(GO) test -tags e2e -count=1 -v -timeout 20m ./e2e/...

## fidelity: every failure injected for real into the example service in the
## real Docker engine, timed; writes docs/fidelity.md from the measurements
fidelity:
	VITALS_FIDELITY=1 $(GO) test -tags e2e -count=1 -v -timeout 20m -run '^TestFidelity$$' ./e2e/...
