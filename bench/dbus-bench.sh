#!/bin/sh
# The D-Bus interface's cost: method latency and signals per large run, against a daemon on a
# private session bus (memory store, so the store's commit time is not measured here).
# Usage: bench/dbus-bench.sh [BUILD_DIR] [CALLS] [TASKS]   (default build, 2000, 10000)
set -eu
build="${1:-build}"
calls="${2:-2000}"
tasks="${3:-10000}"
ARK_PLUGIN_DIR=$(for d in "$build"/plugins/*/; do printf '%s:' "${d%/}"; done)
export ARK_PLUGIN_DIR
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '[daemon]\nstore = memory\n[frontend-http]\nlisten = 127.0.0.1:0\n' >"$tmp/arkitect.conf"
dbus-run-session -- sh -c '
	"$1/core/arkitectd" --config "$2/arkitect.conf" --state-dir "$2/state" --bus session \
		>"$2/daemon.log" 2>&1 &
	daemon=$!
	gdbus wait --session --timeout 20 org.arkitect.Arkitect1
	"$1/bench/dbus-bench" "$3" "$4"
	kill -TERM $daemon
	wait $daemon
	grep "D-Bus interface stopped" "$2/daemon.log"
' sh "$build" "$tmp" "$calls" "$tasks"
