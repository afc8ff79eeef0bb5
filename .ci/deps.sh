#!/bin/sh
# Installs the Debian 12 packages Arkitect needs to build, run its examples and its tests.
# Safe to run again: it installs only what is missing.
set -eu

packages="
meson ninja-build pkg-config gcc gettext
libglib2.0-dev libglib2.0-bin libjson-glib-dev libsqlite3-dev sqlite3
python3 python3-jsonschema binutils make
libsoup-3.0-dev prometheus
curl wrk
dbus-daemon dbus-bin dbus-session-bus-common
"

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
