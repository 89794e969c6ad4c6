# Gatehouse. `make run` serves the demo; `make test` is what CI runs.
GO        ?= go
BIN       := bin/gatehouse
PKGS      := ./...

.PHONY: run build test vet fmt-check bench clean

run: build
	./$(BIN) dev

build:
	$(GO) build -o $(BIN) .

# gofmt, go vet, then every test with the race detector.
test: fmt-check vet
	$(GO) test -race -count=1 $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Speed and memory, as a table: ns/op, B/op and allocs/op per benchmark.
bench:
	@$(GO) test -run '^$$' -bench . -benchmem -count=1 ./identity/ ./server/ ./resolvers/ ./catalog/ . \
		| tee bench.out | scripts/benchtable.sh

clean:
	rm -rf bin bench.out
