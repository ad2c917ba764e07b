# hintfleet — build, test, benchmark and demo targets.
# `make test` is what CI runs (.ci/run); it installs what the tests need first.

GO        ?= go
STATICCHECK_VERSION ?= v0.8.2
PKG       ?= ./...
BIN       := bin
APT_PKGS  := bubblewrap python3-numpy python3-sympy python3-grpcio protobuf-compiler prometheus tmux chromium
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.0

.PHONY: all deps build plugins test vet staticcheck gotest bench demo proto fuzz chaos clean

all: build

# deps installs the system packages the tests use (sandbox, Python with numpy
# and sympy, protoc, promtool, tmux) when any is missing. CI runs as root.
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: plugins
	$(GO) build -o $(BIN)/hintfleet ./cmd/hintfleet

# plugins builds the tool plugins the host loads from $(BIN)/plugins, links
# the Python-written calculator beside them, and records every plugin's
# SHA-256 in SHA256SUMS, which the host checks before starting one.
plugins:
	@mkdir -p $(BIN)/plugins
	$(GO) build -o $(BIN)/plugins/ ./plugins/cmd/...
	ln -sf $(CURDIR)/plugins/calc-py/calc_plugin.py $(BIN)/plugins/calc
	cd $(BIN)/plugins && rm -f SHA256SUMS && sha256sum -- $$(ls | grep -v SHA256SUMS) > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS

vet:
	$(GO) vet ./...
	$(GO) vet -tags nvml ./...

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

gotest:
	$(GO) test -race -count=1 -timeout 20m $(PKG)

test: deps vet staticcheck gotest

# bench runs every benchmark and load harness; each prints `BENCH <name> <value> <unit>`.
bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 10m $(PKG) | tee /dev/stderr | grep '^BENCH' || true

demo: deps build
	./scripts/demo.sh

proto:
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" protoc --go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative plugins/proto/tool.proto

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzReader -fuzztime 30s ./trajectory/

clean:
	rm -rf $(BIN)
