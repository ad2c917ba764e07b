# syntax=docker/dockerfile:1
# The hintfleet image: one binary (coordinator, worker, CLI) with the tool
# plugins and what the Python sandbox needs. `docker build -t hintfleet .`
# where a daemon is at hand; `make image` assembles the same image as an
# OCI layout with no daemon and no registry (scripts/image.sh), and
# `make image-test` runs it.

# Build: cgo on, so the binary reads GPUs through NVML (libnvidia-ml.so.1
# is dlopened at start; the NVIDIA container toolkit injects it on GPU
# nodes). Debian bookworm here and below: the binary needs the glibc it was
# linked against.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/usr/bin/hintfleet ./cmd/hintfleet \
 && mkdir -p /out/usr/lib/hintfleet/plugins \
 && CGO_ENABLED=1 go build -trimpath -ldflags "-s -w" -o /out/usr/lib/hintfleet/plugins/ ./plugins/cmd/... \
 && cd /out/usr/lib/hintfleet/plugins && sha256sum -- * > SHA256SUMS

# Runtime: a minimal Debian with the sandbox (bubblewrap) and the Python
# the model's code runs in (numpy, sympy). No compiler, no shell tools
# beyond Debian's required set, and a non-root user.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap python3 python3-numpy python3-sympy ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc/* /usr/share/man/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/hintfleet --create-home --shell /usr/sbin/nologin hintfleet
COPY --from=build /out/ /
USER 10001:10001
WORKDIR /var/lib/hintfleet
ENTRYPOINT ["/usr/bin/hintfleet"]
CMD ["--help"]
