# hintfleet — build, test, benchmark and demo targets.
# `make test` is what CI runs (.ci/run); it installs what the tests need first.

GO        ?= go
STATICCHECK_VERSION ?= v0.8.2
PKG       ?= ./...
BIN       := bin
# DEMO_PKGS is what `make demo` and `make pipeline` need: the bubblewrap
# sandbox and Debian's python3 with numpy and sympy for the code the model
# writes, and grpcio, protobuf and cryptography for the calc plugin (written
# in Python), which `make build` installs beside the Go ones and which
# infer starts with every other plugin.
DEMO_PKGS := bubblewrap python3-numpy python3-sympy python3-grpcio python3-protobuf python3-cryptography
# TEST_PKGS adds what only the tests and the developer targets use: promtool
# (metrics tests), tmux (the top UI test), chromium (the HTML report test),
# jq (scripts/gpu-check.sh and the docs' examples), and Debian's nats-server
# (2.9) and etcd (3.4), the oldest servers supported, which
# chaos/TestDebianServers runs a job through (here the packages only install
# the binaries; on a host with systemd etcd's service would also start on
# 2379, which no test uses). `make proto` installs protoc itself
# (PROTO_PKGS): no test needs it, the generated code is shipped.
TEST_PKGS := $(DEMO_PKGS) prometheus tmux chromium jq nats-server etcd-server
# PROTO_PKGS is protoc and, from libprotobuf-dev, the well-known types'
# .proto files (google/protobuf/duration.proto) that Debian's
# protobuf-compiler package lacks: without them protoc fails with
# "google/protobuf/duration.proto: File not found".
PROTO_PKGS := protobuf-compiler libprotobuf-dev
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.0

# go-nvml's cgo code calls NVML functions NVIDIA marks deprecated; gcc's
# warnings about them (about 30, on every cold build) are not ours to fix
# and read like errors on a first run. Exported, this reaches every go
# build, vet, test and run below. Set CGO_CFLAGS yourself to override.
CGO_CFLAGS ?= -O2 -g -Wno-deprecated-declarations
export CGO_CFLAGS

.PHONY: all deps deps-demo mcp-deps apt-install build build-nocgo manifests image image-test plugins test vet staticcheck gotest bench demo pipeline proto fuzz chaos clean

all: build

# deps installs the system packages the tests use, deps-demo only those the
# demo needs, each when any is missing. CI runs as root.
deps:
	@$(MAKE) --no-print-directory apt-install PKGS="$(TEST_PKGS)"

deps-demo:
	@$(MAKE) --no-print-directory apt-install PKGS="$(DEMO_PKGS)"

# mcp-deps installs the MCP servers the bridge's tests run against
# (@modelcontextprotocol/server-everything, pinned with every dependency by
# plugins/mcpbridge/testdata/npm/package-lock.json) into $(MCP_NPM_DIR) with
# `npm ci` (again only when the lock file changed), and a Node.js 20+ to run
# them: PATH's (or NODE=...), else Debian's nodejs and npm installed with
# apt-get as root, and where that node is older than 20 (Debian bookworm's
# 18) the official binary the npm registry publishes as
# node-linux-<arch> (version and SHA-512 pinned in the script), unpacked
# into $(MCP_NODE_DIR). It prints the node it chose and records its path in
# $(MCP_NPM_DIR)/node for the tests (plugins/mcpbridge/mcptest). Where
# neither apt nor the npm registry works it says why and the tests skip.
MCP_NPM_DIR      := out/mcp-npm
MCP_NODE_DIR     := out/mcp-node
mcp-deps:
	@MCP_NPM_DIR=$(MCP_NPM_DIR) MCP_NODE_DIR=$(MCP_NODE_DIR) $(if $(NODE),NODE=$(NODE)) $(if $(NPM),NPM=$(NPM)) \
		bash plugins/mcpbridge/testdata/npm/mcp-deps.sh

apt-install:
	@missing=""; for p in $(PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
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

# build-nocgo checks that a CGO_ENABLED=0 build still compiles and that its
# GPU reader says it was built without cgo. The default (cgo) build reads
# real GPUs through NVML, dlopened lazily, and needs no driver to start.
build-nocgo:
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/hintfleet
	CGO_ENABLED=0 $(GO) test -count=1 ./gpu/

# manifests renders each overlay of manifests/ with kustomize to
# out/manifests/<overlay>.yaml (kubectl apply -f, or review). The test in
# cmd/hintfleet (part of gotest) renders them the same way and checks them
# against the binary's flags.
manifests:
	$(GO) run ./manifests/render -root manifests -out out/manifests

# image assembles the hintfleet image (the Dockerfile's, without a daemon
# or registry) as an OCI layout in out/image/oci: debootstrap makes the
# Debian root (cached in out/image/base), go-containerregistry writes the
# layout. Needs root and Debian's mirror; minutes on the first run, so it
# is not part of `make test`. image-test runs the image's `hintfleet
# version` and a sandboxed print(1+1) from its unpacked root as uid 10001.
image:
	./scripts/image.sh

image-test:
	@[ -d out/image/oci ] || $(MAKE) --no-print-directory image
	./scripts/image-test.sh

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) -tags chaos ./...

# gotest keeps the whole output in out/gotest.log and, on a failure, ends
# with the failing tests and the first data race reports in full.
gotest:
	GO="$(GO)" PKG="$(PKG)" ./scripts/gotest.sh

test: deps mcp-deps build-nocgo vet staticcheck gotest

# bench runs every benchmark and load harness; each prints `BENCH <name> <value> <unit>`.
bench: deps mcp-deps
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 10m $(PKG) | tee /dev/stderr | grep '^BENCH' || true

demo: deps-demo build
	./scripts/demo.sh

# pipeline runs plain → hinted → curate → export → RFT → report on the sim.
pipeline: deps-demo build
	./scripts/pipeline.sh

# chaos runs the long real-process failure tests (kill -9, partitions, restarts)
# verbosely into a temporary file, and shows each test's verdict and the BENCH
# lines (max_task_unowned_s, and each run's longest unowned task); on
# failure the output's tail too.
chaos: deps build
	@out=$$(mktemp); HINTFLEET_CHAOS=1 $(GO) test -v -count=1 -timeout 30m -tags chaos ./chaos/... >$$out 2>&1; rc=$$?; \
		grep -E '^(BENCH|--- (PASS|FAIL)|FAIL|ok)|longest a task sat' $$out; [ $$rc -eq 0 ] || tail -200 $$out; rm -f $$out; exit $$rc

# scale runs the fleet harness (internal/scale): N simulated workers x 64
# sessions against a coordinator process and embedded NATS and etcd, for
# each N of SCALE_N, measuring SCALE_WINDOW of steady state; BENCH lines at
# the end. docs/scale.md has the figures and what the harness cannot show.
# SCALE_DRIVER=1 runs the driver instead of simulated workers: N registered
# workers and the task rate of N x 64 sessions, turned over by a paced loop
# (the coordinator's load without the fleet's cost to this machine).
SCALE_N      ?= 10,100,1000
SCALE_WINDOW ?= 60s
SCALE_DRIVER ?=
# SCALE_JOB_TASKS=100000 sizes the job at that many tasks and lets it finish
# before the keys it left in etcd are counted (scale_etcd_keys_after_job).
SCALE_JOB_TASKS ?=
scale:
	HINTFLEET_SCALE=1 HINTFLEET_SCALE_N=$(SCALE_N) HINTFLEET_SCALE_WINDOW=$(SCALE_WINDOW) HINTFLEET_SCALE_DRIVER=$(SCALE_DRIVER) \
		HINTFLEET_SCALE_JOB_TASKS=$(SCALE_JOB_TASKS) \
		$(GO) test -count=1 -timeout 60m -run '^TestScale$$' -v ./internal/scale/ | grep -E '^(\||#|BENCH|---|ok|FAIL)'

# proto regenerates the code of plugins/proto/tool.proto: Go for the host
# and Go plugins, Python for the Python SDK (plugins/pysdk). Commit both.
proto:
	@$(MAKE) --no-print-directory apt-install PKGS="$(PROTO_PKGS)"
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" protoc --go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative plugins/proto/tool.proto
	protoc --python_out=plugins/pysdk -Iplugins/proto plugins/proto/tool.proto

# fuzz runs each parser's fuzz target for FUZZTIME.
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzReader$$' -fuzztime $(FUZZTIME) ./trajectory/
	$(GO) test -run '^$$' -fuzz '^FuzzSSEReader$$' -fuzztime $(FUZZTIME) ./engine/
	$(GO) test -run '^$$' -fuzz '^FuzzTrigger$$' -fuzztime $(FUZZTIME) ./hint/
	$(GO) test -run '^$$' -fuzz '^FuzzFence$$' -fuzztime $(FUZZTIME) ./hint/
	$(GO) test -run '^$$' -fuzz '^FuzzGrade$$' -fuzztime $(FUZZTIME) ./curate/
	$(GO) test -run '^$$' -fuzz '^FuzzExtract$$' -fuzztime $(FUZZTIME) ./curate/
	$(GO) test -run '^$$' -fuzz '^FuzzToSympy$$' -fuzztime $(FUZZTIME) ./curate/
	$(GO) test -run '^$$' -fuzz '^FuzzFastDecode$$' -fuzztime $(FUZZTIME) ./engine/
	$(GO) test -run '^$$' -fuzz '^FuzzParseMetrics$$' -fuzztime $(FUZZTIME) ./engine/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeSpec$$' -fuzztime $(FUZZTIME) ./coordinator/
	$(GO) test -run '^$$' -fuzz '^FuzzReadFrame$$' -fuzztime $(FUZZTIME) ./plugins/python/
	$(GO) test -run '^$$' -fuzz '^FuzzLoadConfigFile$$' -fuzztime $(FUZZTIME) ./plugins/host/
	$(GO) test -run '^$$' -fuzz '^FuzzParseLibrary$$' -fuzztime $(FUZZTIME) ./hint/
	$(GO) test -run '^$$' -fuzz '^FuzzParseTemplate$$' -fuzztime $(FUZZTIME) ./hint/
	$(GO) test -run '^$$' -fuzz '^FuzzParseDeviceList$$' -fuzztime $(FUZZTIME) ./gpu/
	$(GO) test -run '^$$' -fuzz '^FuzzInvitation$$' -fuzztime $(FUZZTIME) ./engine/sim/
	$(GO) test -run '^$$' -fuzz '^FuzzParseConfig$$' -fuzztime $(FUZZTIME) ./plugins/mcpbridge/

clean:
	rm -rf $(BIN)
