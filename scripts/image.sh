#!/usr/bin/env bash
# image.sh — `make image`: assemble the hintfleet image as an OCI layout in
# out/image/oci (image name hintfleet:dev) with no container daemon and no
# registry: the same image the Dockerfile describes.
#
#   1. build the binary and the Go tool plugins here (cgo on, for NVML),
#      with SHA256SUMS beside the plugins;
#   2. make a minimal Debian root with debootstrap (minbase + bubblewrap,
#      python3, numpy, sympy, CA certificates), cached in out/image/base
#      until the suite or package list changes;
#   3. copy it, add the user hintfleet (uid 10001), the binary and the
#      plugins, drop apt's lists, docs and man pages;
#   4. write the OCI layout with go-containerregistry (internal/oci).
#
# Needs root (debootstrap chroots) and Debian's mirror; the first run
# downloads about 60 MB. Push or load the result with
#   skopeo copy oci:out/image/oci:hintfleet:dev docker://REGISTRY/hintfleet:TAG
#   podman load -i … / crane push out/image/oci …
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/image}
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
PKGS=${PKGS:-bubblewrap,python3,python3-numpy,python3-sympy,ca-certificates}
VERSION=${VERSION:-dev}
GO=${GO:-go}

if [ "$(id -u)" != 0 ]; then
	echo "image.sh: debootstrap needs root" >&2
	exit 1
fi
if ! command -v debootstrap >/dev/null; then
	apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi
mkdir -p "$OUT"

# 1. The binary and plugins, linked against this machine's glibc: build on
# Debian $SUITE (or older) so the image's glibc is new enough.
stage="$OUT/stage"
rm -rf "$stage"
mkdir -p "$stage/usr/bin" "$stage/usr/lib/hintfleet/plugins"
CGO_ENABLED=1 $GO build -ldflags "-s -w -X main.version=$VERSION" -o "$stage/usr/bin/hintfleet" ./cmd/hintfleet
CGO_ENABLED=1 $GO build -ldflags "-s -w" -o "$stage/usr/lib/hintfleet/plugins/" ./plugins/cmd/...
(cd "$stage/usr/lib/hintfleet/plugins" && sha256sum -- * > SHA256SUMS)

# 2. The Debian base, reused while suite and packages are the same.
base="$OUT/base"
stamp="$SUITE $PKGS"
if [ ! -f "$base.stamp" ] || [ "$(cat "$base.stamp")" != "$stamp" ]; then
	rm -rf "$base" "$base.stamp"
	echo "image.sh: debootstrap $SUITE (minbase + $PKGS)"
	debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$base" "$MIRROR" > "$OUT/debootstrap.log" 2>&1 ||
		{ tail -20 "$OUT/debootstrap.log" >&2; exit 1; }
	chroot "$base" useradd --system --uid 10001 --user-group --home-dir /var/lib/hintfleet \
		--create-home --shell /usr/sbin/nologin hintfleet
	echo "$stamp" > "$base.stamp"
fi

# 3. The image's root: the base, trimmed, plus hintfleet.
rootfs="$OUT/rootfs"
rm -rf "$rootfs"
cp -a "$base" "$rootfs"
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
	"$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
	"$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/root/.bash_history
find "$rootfs/dev" -mindepth 1 -delete # the runtime provides /dev
cp -a "$stage/." "$rootfs/"
chown -R 0:0 "$rootfs/usr/bin/hintfleet" "$rootfs/usr/lib/hintfleet"

# 4. The OCI layout.
rm -rf "$OUT/oci"
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)} \
	$GO run ./internal/oci/ocitool write -rootfs "$rootfs" -out "$OUT/oci" -ref "hintfleet:$VERSION" \
	-user 10001:10001 -entrypoint /usr/bin/hintfleet -workdir /var/lib/hintfleet \
	-labels "org.opencontainers.image.title=hintfleet,org.opencontainers.image.version=$VERSION"
du -sh "$OUT/oci" | sed 's/^/image.sh: layout size /'
