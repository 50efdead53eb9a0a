# Lead's build, run and check targets. `make test` is what CI runs
# (.ci/run calls it); `make run` serves the examples locally.

GO    ?= go
GOFMT ?= $(shell $(GO) env GOROOT)/bin/gofmt
LEAD  := bin/lead

# Where `make run` listens and keeps its data: make run ADDR=127.0.0.1:8080 DATA=/tmp/lead
ADDR ?= 127.0.0.1:7420
DATA ?= ./.lead-data

.PHONY: build run test test-vscode bench lint vet gofmt clean

# The first build downloads and compiles the dependencies (a minute or
# two): -v names each package as it is compiled, so that it shows.
build:
	@test -x $(LEAD) || echo "building $(LEAD); the first build downloads and compiles the dependencies, which takes a minute or two"
	$(GO) build -v -o $(LEAD) ./cmd/lead

# Serves the example workflows on $(ADDR) with a Badger store in $(DATA),
# reloading on save.
run: build
	$(LEAD) run --addr $(ADDR) --data $(DATA) examples

# Everything CI checks: vet, formatting, unit and integration tests with
# the race detector (the integration tests a second time with the servers
# on PostgreSQL: LEAD_IT_STORE=postgres), the example workflows (checked, formatted, and their
# own test blocks run), and the VS Code extension's tests.
test: vet gofmt build test-vscode
	$(GO) test -race ./...
	LEAD_IT_STORE=postgres $(GO) test -race ./runtime/integration
	$(LEAD) check examples
	$(LEAD) fmt --check examples
	$(LEAD) test examples

# The VS Code extension: its grammar's snapshot tests over every example,
# its assertion tests, and the unit tests of its client. Needs Node.js and
# npm (.ci/run installs them when missing).
test-vscode:
	cd editors/vscode && npm ci --no-audit --no-fund && npm test

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

lint: vet gofmt

vet:
	$(GO) vet ./...

gofmt:
	@unformatted="$$($(GOFMT) -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "these files need gofmt -w:" >&2; echo "$$unformatted" >&2; exit 1; \
	fi

# Removes build outputs; never the data in ./.lead-data.
clean:
	rm -rf bin
	rm -f *.test *.prof
