#!/usr/bin/env bash
# mcp-deps.sh (run by `make mcp-deps`, from the repository root) installs
# what the MCP bridge's tests run: Node.js 20 or later and
# @modelcontextprotocol/server-everything, pinned with every dependency by
# package-lock.json beside this script.
#
# CI is a fresh Debian machine, as root, that may have no Node.js at all or
# only Debian's nodejs 18 and npm 9, while one of server-everything's
# dependencies needs Node 20. So, reaching nothing but Debian's mirror and the
# npm registry:
#   - node or npm missing, as root with apt-get: Debian's nodejs and npm;
#   - node older than 20: the official Node binary the npm registry publishes
#     as node-linux-<arch>@$want (npm pack, checked against the
#     SHA-512 pinned here), unpacked under $MCP_NODE_DIR.
# It writes the absolute path of the node to use into $MCP_NPM_DIR/node, which
# plugins/mcpbridge/mcptest reads. When none of that works it writes the
# reason into $MCP_NPM_DIR/skip instead and exits 0: the tests then skip and
# print the reason. It never fails the build for that.
set -uo pipefail

npm_dir=${MCP_NPM_DIR:-out/mcp-npm}
node_dir=${MCP_NODE_DIR:-out/mcp-node}
src=$(dirname "$0")
# want is the Node fetched where the one found is older than 20; sha512 pins
# node-linux-<arch>-$want.tgz (the registry's dist.integrity, in hex).
want=20.20.2
declare -A sha512=(
	[x64]=3de1d033cc007661ed640d66068732819c6ce4b8945adb097b3413901774898f7cecaa46ac3d4edad544c9dbcc662b9771e45a9f1b7bae34e70c407038fba3a1
	[arm64]=2c25c99cd4c58b21ae601c36819488e4e04531b92300fb7cb2a0ff34aad6a04d90983812b9b4ea16783a19a349f4427c1e9c413067165a96db72ce15a3e0a71a
)

say() { echo "mcp-deps: $*"; }

mkdir -p "$npm_dir"
rm -f "$npm_dir/skip" "$npm_dir/node"

skip() {
	say "$*; the MCP bridge tests will SKIP"
	printf '%s\n' "$*" >"$npm_dir/skip"
	exit 0
}

# locate sets node and npm from NODE and NPM, else from PATH.
locate() {
	node=${NODE:-$(command -v node || command -v nodejs || true)}
	npm=${NPM:-$(command -v npm || true)}
}

# major prints the major version node $1 reports, nothing if it does not run.
major() {
	local v
	v=$("$1" --version 2>/dev/null) || return 0
	v=${v#v}
	echo "${v%%.*}"
}

locate
if [ -z "$node" ] || [ -z "$npm" ]; then
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		skip "node or npm not found (node='$node' npm='$npm'), and not root with apt-get to install Debian's nodejs and npm"
	fi
	say "node or npm not found: installing Debian's nodejs and npm with apt-get"
	# One at a time and --no-remove: where a newer nodejs (NodeSource's)
	# already brings npm, Debian's npm would conflict with it.
	# apt needs its helpers (gpgv, dpkg) and installs into /usr/bin.
	export DEBIAN_FRONTEND=noninteractive PATH=$PATH:/usr/sbin:/usr/bin:/sbin:/bin
	apt-get update -qq || say "apt-get update failed"
	[ -n "$node" ] || apt-get install -y -qq --no-install-recommends --no-remove nodejs || say "apt-get install nodejs failed"
	locate
	[ -n "$npm" ] || apt-get install -y -qq --no-install-recommends --no-remove npm || say "apt-get install npm failed"
	locate
	[ -n "$npm" ] || skip "npm not found and apt-get could not install Debian's npm"
fi

have=""
[ -z "$node" ] || have=$(major "$node")
if [ -z "$have" ] || [ "$have" -lt 20 ]; then
	case $(uname -m) in
	x86_64) arch=x64 ;;
	aarch64) arch=arm64 ;;
	*) skip "node '$node' is older than 20 (${have:-does not run}) and the registry has no pinned Node for $(uname -m)" ;;
	esac
	new=$node_dir/node-linux-$arch-$want/bin/node
	say "node '$node' is ${have:+v$have, }older than 20: using node-linux-$arch@$want from the npm registry"
	if [ "$(major "$new")" != 20 ]; then
		tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcp-node.XXXXXX")
		trap 'rm -rf "$tmp"' EXIT
		tgz=$tmp/node-linux-$arch-$want.tgz
		# npm pack only downloads: no install scripts run.
		(cd "$tmp" && "$npm" pack --loglevel=error "node-linux-$arch@$want" >/dev/null) ||
			skip "npm pack node-linux-$arch@$want failed (npm registry unreachable?)"
		echo "${sha512[$arch]}  $tgz" | sha512sum -c --quiet - ||
			skip "node-linux-$arch-$want.tgz does not match its pinned SHA-512"
		rm -rf "${new%/bin/node}" && mkdir -p "${new%/bin/node}" &&
			tar -xzf "$tgz" -C "${new%/bin/node}" --strip-components=1 package/bin/node ||
			skip "unpacking node-linux-$arch-$want.tgz failed"
	fi
	[ "$(major "$new")" = 20 ] || skip "the fetched $new does not run"
	node=$(cd "$(dirname "$new")" && pwd)/node
fi
node=$(command -v "$node")
case $node in /*) ;; *) node=$PWD/$node ;; esac
say "using node $("$node" --version) ($node), npm $("$npm" --version 2>/dev/null) ($npm)"

# npm ci runs on npm's own node, not the one chosen: Debian's npm finds its
# modules in /usr/share/nodejs only through Debian's node. No package in the
# lock has an install script, so the node that installs does not matter.
# installed.lock is the lock of the last install that succeeded.
if ! cmp -s "$src/package-lock.json" "$npm_dir/installed.lock" || [ ! -d "$npm_dir/node_modules" ]; then
	rm -f "$npm_dir/installed.lock"
	cp "$src/package.json" "$src/package-lock.json" "$npm_dir/" &&
		(cd "$npm_dir" && "$npm" ci --no-audit --no-fund --loglevel=error) &&
		cp "$src/package-lock.json" "$npm_dir/installed.lock" ||
		skip "npm ci of $src/package-lock.json failed (npm registry unreachable?)"
fi
echo "$node" >"$npm_dir/node"
