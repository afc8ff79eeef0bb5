#!/bin/sh
# The official TypeScript SDK client (@modelcontextprotocol/sdk, pinned in package.json) against
# arkitectd over Streamable HTTP (with its bearer token), and against arkitect mcp over stdio:
# bridged to that daemon, and embedding the engine on a state directory of its own; then an
# agent loop over HTTP (mcp-agents-e2e.mjs: a supervisor and an agent with its own token).
#
# usage: run-e2e.sh ARKITECTD ARKITECT SOURCE_ROOT
set -eu
arkitectd="$(realpath "$1")"
arkitect="$(realpath "$2")"
src="$3"
bin="$src/tests/mcp/node_modules/.bin"
if [ ! -x "$bin/node" ] || [ ! -d "$src/tests/mcp/node_modules/@modelcontextprotocol/sdk" ]; then
	echo "not ok: the TypeScript SDK is missing: run sh .ci/deps.sh (npm ci in tests/mcp)"
	exit 1
fi

dir=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

printf '[frontend-http]\nlisten=127.0.0.1:0\n' >"$dir/arkitect.conf"
"$arkitectd" -c "$dir/arkitect.conf" -s "$dir/state" >"$dir/daemon.log" 2>&1 &
pid=$!
i=0
while [ ! -s "$dir/state/http.url" ]; do
	i=$((i + 1))
	if [ "$i" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "not ok: arkitectd did not start"
		cat "$dir/daemon.log"
		exit 1
	fi
	sleep 0.1
done
url="$(cat "$dir/state/http.url")/mcp"
token="$(cat "$dir/state/api-token")"

status=0
cd "$src/tests/mcp"
"$bin/node" mcp-e2e.mjs --http "$url" "$token" || status=1
# an agent loop: a supervisor client and an agent client with the agent's own token
"$bin/node" mcp-agents-e2e.mjs "$url" "$token" || status=1
"$bin/node" mcp-e2e.mjs --stdio "$arkitect" mcp --state-dir "$dir/state" || status=1
"$bin/node" mcp-e2e.mjs --stdio "$arkitect" mcp --state-dir "$dir/embedded" || status=1
if ! kill -0 "$pid" 2>/dev/null; then
	echo "not ok: arkitectd died"
	status=1
fi
if [ "$status" -ne 0 ]; then
	echo "--- daemon log"
	tail -50 "$dir/daemon.log"
fi
exit $status
