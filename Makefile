# Gatehouse. `make run` serves the demo; `make test` is what CI runs.
GO        ?= go
BIN       := bin/gatehouse
DEV_BIN   := bin/gatehouse-dev
# Every package but Go files that npm installs under node_modules.
PKGS      := $(shell $(GO) list ./... | grep -v /node_modules/)

.PHONY: run build test vet fmt-check bench bench-e2e clean interop interop-deps fuzz

# The demo: the dev IdP and Gatehouse on examples/dev (cmd/gatehouse-dev).
run: build
	./$(DEV_BIN)

# The production binary (cmd/gatehouse, which links no OpenID provider)
# and the demo's.
build:
	$(GO) build -o $(BIN) ./cmd/gatehouse
	$(GO) build -o $(DEV_BIN) ./cmd/gatehouse-dev

# gofmt, go vet, then every test with the race detector, through
# internal/cmd/testsummary: failures in full, the ok/FAIL line of each
# package, then "tests: N passed, N failed, N skipped" and what was skipped
# and why ("skipped: none" when nothing was). GATEHOUSE_REQUIRE (e.g.
# postgres,chromium,node; .ci/run sets it) turns a skip for a missing
# dependency into a failure (internal/testenv).
test: fmt-check vet
	@GO=$(GO) $(GO) run ./internal/cmd/testsummary -race -count=1 $(PKGS)

# Every native Go fuzz target of the module in turn, FUZZTIME each
# (scripts/fuzz.sh discovers them with go test -list '^Fuzz').
FUZZTIME ?= 10m
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Speed and memory, as a table: ns/op, B/op and allocs/op per benchmark.
bench:
	@$(GO) test -run '^$$' -bench . -benchmem -count=1 ./identity/ ./identity/sqlstore/ ./server/ ./server/oauth/ ./resolvers/ ./resolvers/wasm/ ./resolvers/catalog/ ./wasm-sdk/go/authplug/ ./test/e2e/ \
		| tee bench.out | scripts/benchtable.sh

# Gatehouse as operators see it (internal/cmd/benche2e): bin/gatehouse serve
# on SQLite, the dev IdP in a process of its own, and a load generator that
# signs in once and drives /refresh, the JWKS and /v1/userinfo at
# concurrency 1, 4 and 16. Prints req/s, p50/p99, each process's CPU per
# request (from /proc) and Gatehouse's RSS as a table. BENCH_DURATION=2s
# shortens each cell (default 10s); BENCH_E2E_FLAGS="-cpuprofile cpu.pprof"
# also profiles Gatehouse during /refresh at c=4 and prints the top ten.
bench-e2e: build
	$(GO) build -o bin/benche2e ./internal/cmd/benche2e
	GO=$(GO) ./bin/benche2e $(BENCH_E2E_FLAGS)

# Real clients, pinned by test/interop/package-lock.json and installed once
# (npm ci, cache in test/interop/.npm-cache): a Backstage backend
# (backend-defaults + the catalog plugin on SQLite in memory), the MCP
# TypeScript SDK (an MCP client and server) and the Backstage CLI's auth
# module; then the tests that run Gatehouse against them (Backstage*, MCP*),
# with GATEHOUSE_REQUIRE=node so that none of them skips.
INTEROP := test/interop

$(INTEROP)/node_modules/.gatehouse-installed: $(INTEROP)/package.json $(INTEROP)/package-lock.json
	cd $(INTEROP) && npm ci --no-audit --no-fund --cache .npm-cache
	touch $@

interop-deps: $(INTEROP)/node_modules/.gatehouse-installed

interop: interop-deps
	GATEHOUSE_REQUIRE=node $(GO) test -race -count=1 -run 'Backstage|MCP' ./resolvers/catalog/ ./test/e2e/

clean:
	rm -rf bin bench.out

# WebAssembly guests (resolvers/wasm, wasm-sdk/ABI.md). `make examples`
# builds every example module into examples/wasm/build/; the tests build
# their own copies. The AssemblyScript compiler comes from npm (as-sdk).
WASM_OUT := examples/wasm/build
ASC      := wasm-sdk/assemblyscript/node_modules/.bin/asc
.PHONY: examples as-sdk

examples: as-sdk
	@mkdir -p $(WASM_OUT)
	for d in username-resolver normalize-email template; do \
		GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $(WASM_OUT)/$$d.wasm ./examples/wasm/$$d || exit 1; \
	done
	$(ASC) examples/wasm/catalog-groups-as/index.ts -O3 --runtime incremental --use abort= -o $(WASM_OUT)/catalog-groups.wasm
	@ls -l $(WASM_OUT)

as-sdk: $(ASC)
$(ASC): wasm-sdk/assemblyscript/package.json
	cd wasm-sdk/assemblyscript && npm install --no-audit --no-fund
	@touch $(ASC)

# Operations (README "Operating Gatehouse"). test-browser drives the
# demo (bin/gatehouse-dev) in headless Debian Chromium with playwright-core;
# screenshots and the server log land in test/browser/artifacts/.
# docker-steps runs the Dockerfile's steps without Docker and proves the
# image works (scripts/docker-steps.sh).
.PHONY: test-browser docker-steps
test-browser: build
	cd test/browser && npm ci --no-audit --no-fund
	cd test/browser && npm test

docker-steps:
	scripts/docker-steps.sh

# The WAT test fixtures' .wasm are committed beside their .wat so the tests
# need no wabt; after editing a .wat, regenerate them (Debian's wabt) and
# commit both. TestWATFixturesMatch checks they agree.
.PHONY: wasm-fixtures
wasm-fixtures:
	for f in resolvers/wasm/testdata/wat/*.wat; do wat2wasm $$f -o $${f%.wat}.wasm || exit 1; done
