#!/usr/bin/env bash
# bench/http-bench.sh: the HTTP API of arkitectd under load (see bench/README.md).
#
# Starts arkitectd from a release build on a fresh state directory and measures, with wrk and
# 64 connections:
#   1. GET /api/v1/runs/{id}: requests/s and latency percentiles
#   2. POST /api/v1/runs of a 100-task workflow: submissions/s and latency percentiles (the
#      workflow's root sleeps, so the engine records runs rather than executing 100 tasks each)
#   3. events/s delivered to 100 SSE subscribers while runs of 100 noop tasks are submitted
#      (measured before 2)
# It measures; it does not gate: exit status 0 unless a step itself fails.
#
# Environment knobs:
#   BENCH_BUILD_DIR    build dir (default <src>/build-bench, created with buildtype=release)
#   BENCH_DURATION     seconds per measurement (default 10)
#   BENCH_CONNS        wrk connections (default 64)
#   BENCH_SUBSCRIBERS  SSE subscribers (default 100)
#   BENCH_DURABILITY   [daemon] durability: full (default), normal or off
#   BENCH_THREADS      [frontend-http] threads: auto (default), or 0 to 64
set -u
set -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(dirname "$HERE")
BUILD=${BENCH_BUILD_DIR:-$SRC/build-bench}
DURATION=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNS:-64}
SUBS=${BENCH_SUBSCRIBERS:-100}
DURABILITY=${BENCH_DURABILITY:-full}
THREADS=${BENCH_THREADS:-auto}

die() { echo "http-bench: $*" >&2; exit 3; }
log() { echo "http-bench: $*" >&2; }

command -v wrk >/dev/null || die "wrk is missing (apt-get install -y wrk)"
command -v curl >/dev/null || die "curl is missing"

if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$SRC" -Dbuildtype=release -Dtests=false >/dev/null ||
		die "meson setup failed"
fi
ninja -C "$BUILD" >/dev/null || die "build failed"
[ -f "$BUILD/plugins/frontend-http/ark-frontend-http.so" ] || die "built without libsoup"

TMP=$(mktemp -d)
DAEMON=""
cleanup() {
	if [ -n "$DAEMON" ]; then
		kill -TERM "$DAEMON" 2>/dev/null
		wait "$DAEMON" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

export ARK_PLUGIN_DIR=$(ls -d "$BUILD"/plugins/*/ | tr '\n' ':' | sed 's/:$//')
cat >"$TMP/arkitect.conf" <<CONF
[daemon]
durability=$DURABILITY
drain-timeout=1s
[executor-thread]
threads=2
[frontend-http]
listen=127.0.0.1:0
max-event-streams=1024
threads=$THREADS
CONF
"$BUILD/core/arkitectd" --config "$TMP/arkitect.conf" --state-dir "$TMP/state" \
	>"$TMP/daemon.log" 2>&1 &
DAEMON=$!
for _ in $(seq 100); do
	[ -s "$TMP/state/http.url" ] && break
	sleep 0.1
done
[ -s "$TMP/state/http.url" ] || { cat "$TMP/daemon.log" >&2; die "the daemon did not start"; }
URL=$(cat "$TMP/state/http.url")
TOKEN=$(cat "$TMP/state/api-token")
PORT=${URL##*:}
AUTH="Authorization: Bearer $TOKEN"

# a 100-task workflow whose root sleeps an hour: submissions are recorded, not executed
python3 - "$TMP" <<'PY'
import json, sys
tmp = sys.argv[1]
def wf(name, root):
    tasks = [dict(id="t0", executor="thread", **root)]
    tasks += [dict(id=f"t{i}", executor="thread", function="noop", needs=["t0"]) for i in range(1, 100)]
    return json.dumps({"name": name, "tasks": tasks})
open(f"{tmp}/sleepy.json", "w").write(wf("sleepy", {"function": "sleep", "args": "1h"}))
open(f"{tmp}/noop.json", "w").write(wf("noop", {"function": "noop"}))
PY
cat >"$TMP/post.lua" <<LUA
local f = io.open("$TMP/" .. os.getenv("BENCH_WORKFLOW") .. ".json", "r")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA

log "$(nproc) CPUs; load: $(uptime | sed 's/.*load average: //')"
log "daemon at $URL, durability $DURABILITY, $(grep -o '[0-9]* server threads' "$TMP/daemon.log")"

RUN=$(curl -sf -H "$AUTH" -H "Content-Type: application/json" --data-binary @"$TMP/noop.json" \
	"$URL/api/v1/runs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') ||
	die "submitting failed"
sleep 1

echo "== GET /api/v1/runs/{id}, $CONNS connections, ${DURATION}s"
wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -H "$AUTH" "$URL/api/v1/runs/$RUN" |
	grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors"

# events first: the sleeping runs of the submission test would hold the thread executor
echo "== events to $SUBS SSE subscribers while 100-task noop runs are submitted (4 connections)"
"$BUILD/bench/http-sse-bench" "$PORT" "$TOKEN" "$SUBS" "$DURATION" &
SSE=$!
sleep 0.5
BENCH_WORKFLOW=noop wrk -t1 -c4 -d"$((DURATION - 1))s" -s "$TMP/post.lua" "$URL/api/v1/runs" |
	grep -E "Requests/sec" | sed 's/^/  submissions meanwhile: /'
wait "$SSE" || log "the SSE client saw a gap"
echo "== POST /api/v1/runs (100 tasks), $CONNS connections, ${DURATION}s"
BENCH_WORKFLOW=sleepy wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s "$TMP/post.lua" \
	"$URL/api/v1/runs" | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors"
curl -sf -H "$AUTH" "$URL/api/v1/status" |
	python3 -c 'import json,sys; s=json.load(sys.stdin); print("open runs after the submissions:", s["open_runs"])'

grep -E "CRITICAL|WARNING" "$TMP/daemon.log" | head -5 >&2
exit 0
