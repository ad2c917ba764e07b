# demo-lib.sh — what the demo scripts share; sourced, not run. JSON is read
# with python3 (which the sandboxed tools need anyway), so the demo needs no
# jq or curl.

# die MSG: the script's name, MSG, exit 1.
die() { echo "$(basename "$0" .sh): $*" >&2; exit 1; }

# need_build: bin/hintfleet and its plugins exist.
need_build() {
	[ -x "$BIN" ] || die "$BIN not found: run 'make build' first"
	[ -f "$(dirname "$BIN")/plugins/SHA256SUMS" ] || die "no plugins beside $BIN: run 'make build' first"
	command -v python3 >/dev/null || die "python3 not found"
}

# poll WHAT LOG CMD...: runs CMD every 0.1 s until it succeeds, for at most
# $WAIT_S seconds (default 60), failing early, with LOG, when process $WATCH
# has exited.
poll() {
	local what=$1 log=$2
	shift 2
	local deadline=$((SECONDS + ${WAIT_S:-60}))
	until "$@" >/dev/null 2>&1; do
		kill -0 "$WATCH" 2>/dev/null || { cat "$log" >&2; die "$what: process exited"; }
		[ $SECONDS -lt $deadline ] || { cat "$log" >&2; die "$what: not ready within ${WAIT_S:-60}s"; }
		sleep 0.1
	done
}

# start_sim LOG ARGS...: starts the simulated engine in the background
# (pid in $WATCH, appended to pids) and sets $engine to its URL once it
# listens.
start_sim() {
	local log=$1
	shift
	"$BIN" sim-engine --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
	WATCH=$!
	pids+=("$WATCH")
	has_url() { grep -q '^listening on ' "$log"; }
	poll "sim-engine" "$log" has_url
	engine=$(sed -n 's/^listening on //p' "$log")
}

# stop_all: SIGTERM to every started process (up drains its workers and
# stops its servers cleanly), then wait for them.
pids=()
stop_all() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}

# jsonl PYEXPR FILE...: evaluates PYEXPR with `rows`, the JSON objects of
# the JSONL FILEs, and prints the result.
jsonl() {
	python3 - "$@" <<'PY'
import json, sys
expr, files = sys.argv[1], sys.argv[2:]
rows = [json.loads(l) for f in files for l in open(f) if l.strip()]
print(eval(expr, {"rows": rows}))
PY
}

# json_field FILE KEY: one field of a JSON file.
json_field() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# http_json_true URL KEY: succeeds when URL returns JSON whose KEY is true.
http_json_true() {
	python3 -c 'import json, sys, urllib.request
sys.exit(0 if json.load(urllib.request.urlopen(sys.argv[1], timeout=2)).get(sys.argv[2]) is True else 1)' "$1" "$2"
}

# indent: the input, indented for the story.
indent() { sed 's/^/   /'; }
