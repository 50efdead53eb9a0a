# Lead's build, run and check targets. `make test` is what CI runs
# (.ci/run calls it); `make run` serves the examples locally.

GO    ?= go
GOFMT ?= $(shell $(GO) env GOROOT)/bin/gofmt
LEAD  := bin/lead

.PHONY: build run test test-vscode bench lint vet gofmt clean

build:
	$(GO) build -o $(LEAD) ./cmd/lead

# Serves the example workflows on 127.0.0.1:7420 with a Badger store in
# ./.lead-data, reloading on save.
run: build
	$(LEAD) run --data ./.lead-data examples

# Everything CI checks: vet, formatting, unit and integration tests with
# the race detector, the example workflows (checked, formatted, and their
# own test blocks run), and the VS Code extension's tests.
test: vet gofmt build test-vscode
	$(GO) test -race ./...
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
