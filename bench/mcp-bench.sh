#!/bin/sh
# MCP benchmarks: tools/call round trips of a read-only tool (get_status) over Streamable HTTP
# and over stdio (arkitect mcp embedding the engine, and bridged to the daemon), and how many
# sessions can each hold a GET event stream at once and all hear one notification.
#
# usage: sh bench/mcp-bench.sh [BUILD_DIR] [N_CALLS] [N_SESSIONS]   (defaults: build 5000 1000)
set -eu
build="$(realpath "${1:-build}")"
calls="${2:-5000}"
sessions="${3:-1000}"
ARK_PLUGIN_DIR=$(for d in "$build"/plugins/*/; do printf '%s:' "${d%/}"; done)
export ARK_PLUGIN_DIR
# one descriptor per stream on each side
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -H -n)"

dir=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
cat >"$dir/arkitect.conf" <<CONF
[daemon]
store=memory
[frontend-http]
listen=127.0.0.1:0
[frontend-mcp]
max-sessions=$((sessions + 100))
CONF
"$build/core/arkitectd" -c "$dir/arkitect.conf" -s "$dir/state" >"$dir/daemon.log" 2>&1 &
pid=$!
while [ ! -s "$dir/state/http.url" ]; do sleep 0.1; done
port=$(sed 's/.*://' "$dir/state/http.url")
token=$(cat "$dir/state/api-token")

echo "== $(nproc) CPUs, $calls calls, $sessions sessions"
"$build/bench/mcp-bench" http "$port" "$token" "$calls"
"$build/bench/mcp-bench" stdio "$calls" "$build/core/arkitect" mcp --ephemeral 2>/dev/null
printf 'bridged '
"$build/bench/mcp-bench" stdio "$calls" "$build/core/arkitect" mcp --state-dir "$dir/state" \
	2>/dev/null
"$build/bench/mcp-bench" sessions "$port" "$token" "$sessions"
