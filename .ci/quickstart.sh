#!/bin/sh
# The two commands of the README:
#   sh .ci/quickstart.sh example   install what is missing, build, run examples/ci-pipeline.json
#   sh .ci/quickstart.sh test      install what is missing, build, run the whole test suite, then
#                                  again in an address/undefined-behaviour sanitizer build
set -eu

cd "$(dirname "$0")/.."
what="${1:-example}"

sh .ci/deps.sh

setup() {
	dir="$1"
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@"
	fi
	ninja -C "$dir"
}

case "$what" in
example)
	setup build
	echo
	echo "== arkitect run examples/ci-pipeline.json (state in ./build/state)"
	meson devenv -C build arkitect run --state-dir "$PWD/build/state" \
		"$PWD/examples/ci-pipeline.json"
	;;
test)
	setup build
	status=0
	meson test -C build --print-errorlogs --num-processes 2 || status=1
	# the sanitizer build: ASan + UBSan, leaks checked by LSan
	setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		meson test -C build-asan --print-errorlogs --num-processes 2 || status=1
	python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)
        res = r.get("result")
        if res == "OK":
            passed += 1
        elif res in ("SKIP", "EXPECTEDFAIL"):
            skipped += 1
        else:
            failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
	exit $status
	;;
*)
	echo "usage: sh .ci/quickstart.sh example|test" >&2
	exit 2
	;;
esac
