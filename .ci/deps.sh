#!/bin/sh
# Installs the Debian 12 packages Arkitect needs to build, run its examples and its tests.
# Safe to run again: it installs only what is missing.
set -eu

packages="
meson ninja-build pkg-config gcc gettext
libglib2.0-dev libglib2.0-bin libjson-glib-dev libsqlite3-dev sqlite3
python3 python3-jsonschema binutils make
libsoup-3.0-dev prometheus
curl jq wrk
dbus-daemon dbus-bin dbus-session-bus-common
"

# Node.js and npm run the MCP tests' clients. A machine may already have them from elsewhere
# (NodeSource's nodejs bundles npm and conflicts with Debian's npm package): only a machine
# without an npm command gets Debian's.
if ! command -v npm >/dev/null 2>&1; then
	packages="$packages nodejs npm"
fi

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	echo "arkitect: installing:$missing"
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		sudo="sudo"
	fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
fi

# the MCP tests' Node packages (the conformance suite, the TypeScript SDK client and the Node 22
# they need), pinned by tests/mcp/package-lock.json, into tests/mcp/node_modules (not tracked)
mcp="$(dirname "$0")/../tests/mcp"
if ! cmp -s "$mcp/package-lock.json" "$mcp/node_modules/.arkitect-lock.json" 2>/dev/null; then
	echo "arkitect: installing the MCP test packages (npm ci in tests/mcp)"
	(cd "$mcp" && npm ci --no-audit --no-fund --loglevel=error &&
		cp package-lock.json node_modules/.arkitect-lock.json)
fi
