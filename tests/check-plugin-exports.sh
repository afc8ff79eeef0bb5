#!/bin/sh
# every plugin exports exactly one symbol, ark_plugin_query: anything else would leak into the
# process's symbol space or become accidental ABI
set -eu
status=0
count=0
IFS=:
for dir in $1; do
	for so in "$dir"/ark-*.so; do
		[ -e "$so" ] || continue
		count=$((count + 1))
		syms=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort | tr '\n' ' ')
		if [ "$syms" != "ark_plugin_query " ]; then
			echo "not ok: $so exports: $syms"
			status=1
		else
			echo "ok: $so"
		fi
	done
done
if [ "$count" -eq 0 ]; then
	echo "no plugins found in $1"
	exit 1
fi
exit $status
