#!/bin/sh
# meson install into a scratch root, then build examples/plugin-hello out of tree with nothing but
# the installed arkitect-1.pc and headers, and load it with the installed arkitect
set -eu
build="$1"
src="$2"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

meson install -C "$build" --destdir "$root" --quiet >/dev/null
pc=$(find "$root" -name arkitect-1.pc | head -n 1)
[ -n "$pc" ] || { echo "not ok: arkitect-1.pc was not installed"; exit 1; }
# the scratch root stands for /: point the installed .pc file's prefix into it
sed -i "s|^prefix=|prefix=$root|" "$pc"
export PKG_CONFIG_PATH="$(dirname "$pc")"
plugindir="$(pkg-config --variable=plugindir arkitect-1)"
case "$plugindir" in "$root"*) ;; *) plugindir="$root$plugindir" ;; esac
[ -f "$plugindir/ark-store-sqlite.so" ] || { echo "not ok: plugins not in $plugindir"; exit 1; }
libdir="$(pkg-config --variable=libdir arkitect-1)"
case "$libdir" in "$root"*) ;; *) libdir="$root$libdir" ;; esac
bindir=$(dirname "$(find "$root" -type f -name arkitect | head -n 1)")

for f in etc/arkitect/arkitect.conf lib/systemd/system/arkitectd.service lib/sysusers.d/arkitect.conf; do
	[ -n "$(find "$root" -path "*/$f" | head -n 1)" ] || { echo "not ok: $f was not installed"; exit 1; }
done
unit=$(find "$root" -path "*/lib/systemd/system/arkitectd.service" | head -n 1)
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
[ -x "$root$exec_start" ] || { echo "not ok: the unit starts $exec_start, which was not installed"; exit 1; }
echo "ok: the unit, its sysusers entry and the commented configuration are installed"
if [ -n "$(find "$root" -name ark-frontend-dbus.so | head -n 1)" ]; then
	for f in share/dbus-1/interfaces/org.arkitect.Arkitect1.xml \
		share/dbus-1/system.d/org.arkitect.Arkitect1.conf \
		share/dbus-1/system-services/org.arkitect.Arkitect1.service; do
		[ -n "$(find "$root" -path "*/$f" | head -n 1)" ] || { echo "not ok: $f was not installed"; exit 1; }
	done
	service=$(find "$root" -path "*/system-services/org.arkitect.Arkitect1.service" | head -n 1)
	grep -q '^SystemdService=arkitectd.service$' "$service" || { echo "not ok: $service does not name arkitectd.service"; exit 1; }
	echo "ok: the D-Bus interface file, system bus policy and activation file are installed"
fi

mkdir -p "$root/hello"
cc -shared -fPIC -fvisibility=hidden -Wl,-z,defs -o "$root/hello/ark-hello.so" \
	"$src/examples/plugin-hello/ark-hello.c" $(pkg-config --cflags --libs arkitect-1)
echo "ok: built the out-of-tree plugin with pkg-config arkitect-1"

export LD_LIBRARY_PATH="$libdir"
export ARK_PLUGIN_DIR="$plugindir:$root/hello"
out=$("$bindir/arkitect" plugins)
echo "$out" | grep -q "executor:hello" || { echo "not ok: hello not loaded:"; echo "$out"; exit 1; }
echo "ok: the installed arkitect loads it"
"$bindir/arkitect" run --ephemeral --quiet "$src/examples/plugin-hello/hello.json" >/dev/null
echo "ok: a workflow runs on the hello executor"
