#!/usr/bin/env bash
# image-test.sh — `make image-test`: unpack the OCI layout `make image`
# wrote and run the image from its root filesystem, as a container runtime
# would run it under docs/deploy.md's settings:
#   - as the image's user (10001), never root;
#   - in its own user, PID, IPC, UTS and network namespaces, with the image
#     root mounted read-only (readOnlyRootFilesystem), a tmpfs on /tmp and
#     a fresh /proc (what procMount: Unmasked gives a pod in its own user
#     namespace);
#   - no capabilities.
# It checks `hintfleet version` and that `print(1+1)` runs through the
# Python plugin's bubblewrap sandbox, nested inside, and prints 2.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/image}
VERSION=${VERSION:-dev}
GO=${GO:-go}
[ -d "$OUT/oci" ] || { echo "image-test.sh: no $OUT/oci; run make image first" >&2; exit 1; }

# The root lives where uid 10001 can reach it (a clone under /root cannot).
R=$(mktemp -d /tmp/hintfleet-image-test.XXXXXX)
trap 'rm -rf "$R"' EXIT
chmod 755 "$R"
$GO run ./internal/oci/ocitool unpack -layout "$OUT/oci" -ref "hintfleet:$VERSION" -out "$R/root" > "$OUT/config.json"
grep -q '"User":"10001:10001"' "$OUT/config.json" || { echo "image-test.sh: image user is not 10001: $(cat "$OUT/config.json")" >&2; exit 1; }

# container runs argv inside the unpacked root as the image's user.
container() {
	local as=(setpriv --reuid=10001 --regid=10001 --clear-groups --)
	[ "$(id -u)" = 0 ] || as=()
	"${as[@]}" bwrap --unshare-user --uid 10001 --gid 10001 \
		--unshare-pid --unshare-ipc --unshare-uts --unshare-net --unshare-cgroup-try \
		--ro-bind "$R/root" / --proc /proc --dev /dev --tmpfs /tmp \
		--chdir /var/lib/hintfleet --clearenv \
		--setenv PATH /usr/sbin:/usr/bin:/sbin:/bin --setenv HOME /var/lib/hintfleet \
		--die-with-parent --cap-drop ALL -- "$@"
}

fail=0
out=$(container /usr/bin/hintfleet version 2>&1) || true
echo "\$ hintfleet version"
echo "$out"
case "$out" in "hintfleet $VERSION "*) ;; *) echo "image-test: FAIL: version" >&2; fail=1 ;; esac

out=$(container /usr/bin/hintfleet plugins exec python --code 'print(1+1)' 2>&1) || true
echo "\$ hintfleet plugins exec python --code 'print(1+1)'"
echo "$out"
if ! printf '%s\n' "$out" | grep -qx '2'; then
	echo "image-test: FAIL: sandboxed print(1+1) did not print 2" >&2
	fail=1
fi
[ "$fail" = 0 ] && echo "image-test: ok"
exit "$fail"
