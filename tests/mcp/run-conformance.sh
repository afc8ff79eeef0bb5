#!/bin/sh
# The official MCP conformance suite (@modelcontextprotocol/conformance, pinned in package.json)
# against arkitectd's Streamable HTTP endpoint, with the test-only fixtures on. Every scenario
# of the active suite must pass; one that can not is listed in expected-failures.yml with the
# reason (the suite itself then fails if it starts passing).
#
# usage: run-conformance.sh ARKITECTD SOURCE_ROOT
set -eu
arkitectd="$1"
src="$2"
bin="$src/tests/mcp/node_modules/.bin"
if [ ! -x "$bin/conformance" ] || [ ! -x "$bin/node" ]; then
	echo "not ok: $bin/conformance is missing: run sh .ci/deps.sh (npm ci in tests/mcp)"
	exit 1
fi

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
# the suite's client sends no bearer token; Host and Origin are still checked
require-token=false
CONF
ARKITECT_MCP_TEST_FIXTURES=1 "$arkitectd" -c "$dir/arkitect.conf" -s "$dir/state" \
	>"$dir/daemon.log" 2>&1 &
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

# the suite runs on the Node 22 that package.json installs (Debian's is too old for it)
status=0
PATH="$bin:$PATH" HOME="$dir" "$bin/conformance" server --url "$url" \
	--expected-failures "$src/tests/mcp/expected-failures.yml" >"$dir/out.txt" 2>&1 || status=$?
sed -n '/=== SUMMARY ===/,$p' "$dir/out.txt"
if [ "$status" -ne 0 ] || ! grep -q "^Total: [0-9]* passed, 0 failed" "$dir/out.txt"; then
	echo "not ok: conformance (exit $status)"
	cat "$dir/out.txt"
	echo "--- daemon log"
	cat "$dir/daemon.log"
	exit 1
fi
if ! kill -0 "$pid" 2>/dev/null; then
	echo "not ok: arkitectd died during the suite"
	cat "$dir/daemon.log"
	exit 1
fi
echo "ok: conformance"
