#!/bin/sh
# The configuration documentation stays true: data/arkitect.conf is exactly what
# `arkitectd --print-config` says the core and the built plugins read, and docs/configuration.md
# documents every one of those keys.
set -eu
arkitectd="$1"
src="$2"
shift 2
out=$(mktemp)
expected=$(mktemp)
trap 'rm -f "$out" "$expected"' EXIT

"$arkitectd" --print-config >"$out"
# the sections of optional plugins this build left out (named by meson) are not expected
awk -v skip=" $* " '/^\[/ { drop = index(skip, " " substr($0, 2, length($0) - 2) " ") > 0 }
	!drop' "$src/data/arkitect.conf" >"$expected"
if ! diff -u "$expected" "$out"; then
	echo "not ok: data/arkitect.conf is stale; regenerate it with arkitectd --print-config"
	exit 1
fi
echo "ok: data/arkitect.conf lists every key"

missing=0
group=""
while IFS= read -r line; do
	case "$line" in
	"["*"]") group="$line" ;;
	"#"*=*)
		key=${line#\#}
		key=${key%%=*}
		if ! grep -q -- "^| \`$key\`" "$src/docs/configuration.md" ||
			! grep -q -F -- "$group" "$src/docs/configuration.md"; then
			echo "not ok: $group $key is not documented in docs/configuration.md"
			missing=1
		fi
		;;
	esac
done <"$out"
[ "$missing" -eq 0 ] || exit 1
echo "ok: docs/configuration.md documents every key"
